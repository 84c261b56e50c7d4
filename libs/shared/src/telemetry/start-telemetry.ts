import { context, diag, DiagConsoleLogger, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  diagLogLevelFromString,
  getBooleanFromEnv,
  getNumberFromEnv,
  getStringFromEnv,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

let provider: TracerProvider | undefined;

/**
 * Starts tracing. It must run before the app imports http, express, NestJS, ioredis or kafkajs, or those modules are
 * not patched: each service loads it from its own `instrumentation.ts` with `node --require`.
 *
 * Configured only through the standard `OTEL_*` variables (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED, OTEL_LOG_LEVEL, OTEL_RESOURCE_ATTRIBUTES, ...), as the
 * OpenTelemetry Demo does. Traces only: the lab exports no OpenTelemetry metrics or logs (each process serves
 * Prometheus `/metrics` and logs JSON lines), so this sets up what `NodeSDK` does for traces (W3C trace context and
 * baggage, AsyncLocalStorage context, the env, process and host resource detectors, a batch span processor) from
 * the trace packages alone. `@opentelemetry/sdk-node` also loads the metrics and logs SDKs and every exporter
 * (gRPC, Zipkin, Prometheus) whatever is configured: 12 MiB resident and 0.6 s of CPU more in every process,
 * which 128 tenant VMs pay 128 times.
 */
export function startTelemetry(defaultServiceName: string): void {
  if (provider || getBooleanFromEnv('OTEL_SDK_DISABLED')) return;
  const logLevel = getStringFromEnv('OTEL_LOG_LEVEL');
  if (logLevel) diag.setLogger(new DiagConsoleLogger(), { logLevel: diagLogLevelFromString(logLevel) });
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        // Health and readiness probes are polled every second by the lab runner and compose, and every VM heartbeats
        // every 2 s (128 VMs: about 450 spans a second between the VMs, the operator and Redis, with nothing in
        // them); tracing them buries the traces people look for, and costs every VM and the operator CPU.
        ignoreIncomingRequestHook: (request) => isPeriodicPath(request.url),
        ignoreOutgoingRequestHook: (request) => isPeriodicPath(request.path ?? undefined),
      }),
      new ExpressInstrumentation(),
      new NestInstrumentation(),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new KafkaJsInstrumentation(),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector] }))
    .merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: getStringFromEnv('OTEL_SERVICE_NAME') ?? defaultServiceName }),
    );
  provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        maxQueueSize: positiveFromEnv('OTEL_BSP_MAX_QUEUE_SIZE'),
        scheduledDelayMillis: positiveFromEnv('OTEL_BSP_SCHEDULE_DELAY'),
        exportTimeoutMillis: positiveFromEnv('OTEL_BSP_EXPORT_TIMEOUT'),
        maxExportBatchSize: positiveFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
}

const HEARTBEAT_PATH = /^\/vms\/[^/?]+\/heartbeat(\?|$)/;

/** The requests every process makes or answers on a timer: readiness and health probes, VM heartbeats. Untraced. */
export function isPeriodicPath(path: string | undefined): boolean {
  return path === '/health' || path === '/ready' || (path !== undefined && HEARTBEAT_PATH.test(path));
}

/** Flushes buffered spans and stops tracing; called last during graceful shutdown so shutdown spans are exported. */
export async function shutdownTelemetry(): Promise<void> {
  const running = provider;
  provider = undefined;
  await running?.shutdown();
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the specification names them; unset: parent-based always-on. */
export function samplerFromEnv(): Sampler | undefined {
  const name = getStringFromEnv('OTEL_TRACES_SAMPLER');
  const ratio = (): number => {
    const value = getNumberFromEnv('OTEL_TRACES_SAMPLER_ARG');
    return value !== undefined && value >= 0 && value <= 1 ? value : 1;
  };
  switch (name) {
    case undefined:
      return undefined;
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}", using the default`);
      return undefined;
  }
}

function positiveFromEnv(name: string): number | undefined {
  const value = getNumberFromEnv(name);
  return value !== undefined && value > 0 ? value : undefined;
}
