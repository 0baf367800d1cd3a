import { Controller, Get } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Serves the hand-written OpenAPI document from docs/ (two levels above both src/docs and dist/docs). */
@Controller('openapi.json')
export class OpenApiController {
  private readonly document = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'),
  ) as object;

  @Get()
  openapi(): object {
    return this.document;
  }
}
