import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { Request, Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { requestIdOf } from './logging';
import { withoutSecret } from './redact';

/** Nest's error body plus the request id, which is also the x-request-id header; 500s say nothing internal. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(HttpExceptionFilter.name) private readonly logger: PinoLogger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req);
    const status = exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    this.countWebhookRefusal(req, status);

    if (exception instanceof HttpException) {
      // Nest's 404 message repeats the path, which may hold the secret path token.
      const body = JSON.parse(
        withoutSecret(JSON.stringify(bodyOf(exception)), this.config.webhookAuth.pathToken),
      ) as object;
      res.status(status).json({ ...body, requestId });
      return;
    }

    this.logger.error({ requestId, err: exception }, 'Unhandled error while serving a request');
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({ statusCode: 500, message: 'Internal server error', requestId });
  }

  private countWebhookRefusal(req: Request, status: number): void {
    if (req.method !== 'POST' || !req.originalUrl.startsWith(this.config.http.webhookPath)) return;
    this.metrics.webhooks.inc({ outcome: status >= 500 ? 'unavailable' : 'rejected' });
  }
}

function bodyOf(exception: HttpException): object {
  const response = exception.getResponse();
  return typeof response === 'string' ? { statusCode: exception.getStatus(), message: response } : response;
}
