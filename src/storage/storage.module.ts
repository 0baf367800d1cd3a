import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ArchiveStore } from './archive.store';
import { createS3Client, S3 } from './s3.client';

@Module({
  providers: [{ provide: S3, inject: [AppConfig], useFactory: createS3Client }, ArchiveStore],
  exports: [ArchiveStore],
})
export class StorageModule {}
