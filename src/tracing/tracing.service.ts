import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { serviceInfo } from '../common/service-info';
import { AppConfig } from '../config/app-config';

const propagator = new W3CTraceContextPropagator();

export interface TracedStep {
  span: Span;
  /** The W3C traceparent of this step, to carry on to the next one (the parent's, unchanged, when tracing is off). */
  traceparent: string;
}

/**
 * OpenTelemetry spans for the webhook and each run, exported over OTLP/HTTP only when an endpoint is configured;
 * otherwise every span is a no-op and trace context still flows from the webhook to the events. The provider is
 * this service's own, not the global one, and context is passed explicitly through the inbox record.
 */
@Injectable()
export class TracingService implements OnApplicationShutdown {
  private readonly provider?: TracerProvider;
  private readonly tracer: Tracer;

  constructor(config: AppConfig) {
    const endpoint = config.tracing.otlpEndpoint;
    if (endpoint !== undefined) this.provider = createProvider(endpoint, config.tracing.serviceName);
    this.tracer = this.provider?.getTracer('connectly-report-ingest') ?? trace.getTracer('connectly-report-ingest');
  }

  get enabled(): boolean {
    return this.provider !== undefined;
  }

  start(name: string, kind: SpanKind, parentTraceparent: string, attributes: Record<string, string>): TracedStep {
    const parent = propagator.extract(ROOT_CONTEXT, { traceparent: parentTraceparent }, defaultTextMapGetter);
    const span = this.tracer.startSpan(name, { kind, attributes }, parent);
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(parent, span), carrier, defaultTextMapSetter);

    return { span, traceparent: carrier.traceparent ?? parentTraceparent };
  }

  end(step: TracedStep, error?: unknown): void {
    if (error !== undefined) {
      const message = error instanceof Error ? error.message : 'failed';
      step.span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    step.span.end();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

function createProvider(endpoint: string, serviceName: string): TracerProvider {
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const { version, instance } = serviceInfo();

  return new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': serviceName,
      'service.version': version,
      'service.instance.id': instance,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
}
