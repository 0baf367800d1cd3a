import { Module } from '@nestjs/common';
import { ReportDownloadClient } from './report-download.client';
import { ReportsApiClient } from './reports-api.client';

@Module({
  providers: [ReportDownloadClient, ReportsApiClient],
  exports: [ReportDownloadClient, ReportsApiClient],
})
export class ConnectlyModule {}
