import { Type } from 'class-transformer';
import {
  IsDefined,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

const ID_MAX = 256;

export class RunResultDto {
  @IsUrl({ protocols: ['https'], require_protocol: true, require_tld: false }, { message: 'url must be an https URL' })
  @MaxLength(8192)
  url!: string;

  @IsISO8601({ strict: true }, { message: 'expires_at must be an ISO 8601 date-time' })
  expires_at!: string;

  @IsISO8601({ strict: true }, { message: 'created_at must be an ISO 8601 date-time' })
  created_at!: string;
}

export class LastRunDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  id!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  status!: string;

  @ValidateIf((run: LastRunDto) => run.status === 'completed' || run.result !== undefined)
  @IsDefined({ message: 'result is required when status is completed' })
  @IsObject()
  @ValidateNested()
  @Type(() => RunResultDto)
  result?: RunResultDto;
}

export class ReportDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  id!: string;

  @IsString()
  @MaxLength(4096)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(ID_MAX)
  type?: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => LastRunDto)
  last_run!: LastRunDto;
}

/** The body Connectly POSTs when a report run changes state. Field order varies; `type` may be missing. */
export class ConnectlyWebhookDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  topic!: string;

  @IsISO8601({ strict: true }, { message: 'timestamp must be an ISO 8601 date-time' })
  timestamp!: string;

  @ValidateIf((webhook: ConnectlyWebhookDto) => webhook.topic === 'report')
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ReportDto)
  report!: ReportDto;
}

/** A webhook this service archives: a completed run of a report, with its download link. */
export interface CompletedRunWebhook {
  topic: 'report';
  timestamp: string;
  report: {
    id: string;
    name: string;
    type?: string;
    last_run: { id: string; status: 'completed'; result: RunResultDto };
  };
}
