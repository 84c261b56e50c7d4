import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { NodeSDK } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK. It must run before the app imports http, express, NestJS, ioredis or kafkajs, or
 * those modules are not patched: each service loads it from its own `instrumentation.ts` with `node --require`.
 *
 * Configured only through the standard `OTEL_*` variables (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, ...), as
 * the OpenTelemetry Demo does; the SDK reads them itself. The default propagators are W3C trace context and baggage.
 */
export function startTelemetry(defaultServiceName: string): void {
  if (sdk) return;
  sdk = new NodeSDK({
    // OTEL_* variables belong to the SDK, which reads them itself; this is the only one we look at, to fall back on.
    serviceName: process.env['OTEL_SERVICE_NAME'] ?? defaultServiceName,
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new HttpInstrumentation({
        // Health and readiness probes are polled every second by the lab runner and compose; tracing them buries
        // the traces people look for.
        ignoreIncomingRequestHook: (request) => request.url === '/health' || request.url === '/ready',
      }),
      new ExpressInstrumentation(),
      new NestInstrumentation(),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new KafkaJsInstrumentation(),
    ],
  });
  sdk.start();
}

/** Flushes buffered spans and stops the SDK; called last during graceful shutdown so shutdown spans are exported. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}
