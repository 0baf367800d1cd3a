import { Module } from '@nestjs/common';
import { AdminController } from './admin.controller';
import { AdminTokenGuard } from './admin-token.guard';
import { ReplayModule } from './replay.module';

@Module({
  imports: [ReplayModule],
  controllers: [AdminController],
  providers: [AdminTokenGuard],
})
export class AdminModule {}
