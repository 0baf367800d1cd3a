import { Type } from 'class-transformer';
import {
  IsDefined,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
  ValidateBy,
  ValidateIf,
  buildMessage,
  ValidateNested,
} from 'class-validator';

const ID_MAX = 256;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Text that is valid Unicode: a lone surrogate would turn into U+FFFD on the way to a key and merge two ids. */
function IsWellFormedText(): PropertyDecorator {
  return ValidateBy({
    name: 'isWellFormedText',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && value.isWellFormed(),
      defaultMessage: buildMessage((prefix) => `${prefix}$property must be well-formed Unicode text`),
    },
  });
}

/** An RFC 3339 date-time that also parses: week and ordinal ISO forms are refused. */
function IsDateTime(): PropertyDecorator {
  return ValidateBy({
    name: 'isDateTime',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
      defaultMessage: buildMessage(
        (prefix) => `${prefix}$property must be an ISO 8601 date-time such as 2025-04-30T12:34:56Z`,
      ),
    },
  });
}

export class RunResultDto {
  @IsUrl(
    { protocols: ['https'], require_protocol: true, require_tld: false, validate_length: false },
    { message: 'url must be an https URL' },
  )
  @MaxLength(8192)
  url!: string;

  @IsDateTime()
  expires_at!: string;

  @IsDateTime()
  created_at!: string;
}

export class LastRunDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  @IsWellFormedText()
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
  @IsWellFormedText()
  id!: string;

  @IsString()
  @MaxLength(4096)
  @IsWellFormedText()
  name!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  @IsWellFormedText()
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

  @IsDateTime()
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
