import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { FAILURE_REASONS } from '../common/ingest-errors';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class ReannounceQueryDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  reportId?: string;

  @IsOptional()
  @Matches(DAY, { message: 'from must be a day, YYYY-MM-DD' })
  from?: string;

  @IsOptional()
  @Matches(DAY, { message: 'to must be a day, YYYY-MM-DD' })
  to?: string;
}

export class RedriveQueryDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  reportId?: string;

  @IsOptional()
  @IsIn(FAILURE_REASONS)
  reason?: string;
}
