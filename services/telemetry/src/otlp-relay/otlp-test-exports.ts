// Test helper: real OTLP protobuf trace exports, made by the OpenTelemetry SDK and serializer the services use.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { attributeKey, wireFields } from './otlp-wire';

/** An export of `spanNames`, one span each, from a resource with `attributes`. */
export async function otlpExport(attributes: Record<string, string>, spanNames: string[]): Promise<Buffer> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('otlp-relay-test');
  for (const name of spanNames) tracer.startSpan(name, { attributes: { 'test.attribute': name } }).end();
  await provider.forceFlush();
  const body = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
  await provider.shutdown();
  if (!body) throw new Error('the serializer made no export');
  return Buffer.from(body);
}

/** Each ResourceSpans' resource attributes whose value is a string; throws if a resource names a key twice. */
export function resourceAttributes(request: Buffer): Record<string, string>[] {
  const resources: Record<string, string>[] = [];
  for (const resourceSpans of wireFields(request)) {
    if (resourceSpans.field !== 1) continue;
    const attributes: Record<string, string> = {};
    for (const part of wireFields(resourceSpans.payload)) {
      if (part.field !== 1) continue;
      for (const keyValue of wireFields(part.payload)) {
        if (keyValue.field !== 1) continue;
        const key = attributeKey(keyValue.payload) ?? '';
        if (Object.hasOwn(attributes, key)) throw new Error(`the resource names ${key} twice`);
        for (const value of wireFields(keyValue.payload))
          if (value.field === 2)
            for (const anyValue of wireFields(value.payload))
              if (anyValue.field === 1) attributes[key] = anyValue.payload.toString('utf8');
      }
    }
    resources.push(attributes);
  }
  return resources;
}

/** The span names of an export (ResourceSpans.scope_spans.spans.name), in order. */
export function spanNames(request: Buffer): string[] {
  const names: string[] = [];
  for (const resourceSpans of wireFields(request))
    for (const scopeSpans of wireFields(resourceSpans.payload))
      if (scopeSpans.field === 2)
        for (const span of wireFields(scopeSpans.payload))
          if (span.field === 2)
            for (const field of wireFields(span.payload)) if (field.field === 5) names.push(field.payload.toString());
  return names;
}
