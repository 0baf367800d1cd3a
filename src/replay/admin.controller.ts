import { Controller, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard';
import { ReannounceQueryDto, RedriveQueryDto } from './replay-query.dto';
import { ReplayService } from './replay.service';

/** Operator endpoints, served only when ADMIN_TOKEN is set. Filters come as query parameters. */
@Controller('admin')
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(private readonly replay: ReplayService) {}

  @Post('reannounce')
  @HttpCode(HttpStatus.OK)
  reannounce(@Query() filter: ReannounceQueryDto): Promise<{ announced: number }> {
    return this.replay.reannounce(filter);
  }

  @Post('redrive')
  @HttpCode(HttpStatus.OK)
  redrive(@Query() filter: RedriveQueryDto): Promise<{ requeued: number }> {
    return this.replay.redrive(filter);
  }
}
