import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** An OTLP/HTTP protobuf trace export of one span, from a resource claiming `attributes` (made by the OTel SDK). */
export async function otlpExport(attributes: Record<string, string>, spanName: string): Promise<Buffer> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  provider.getTracer('e2e-test').startSpan(spanName).end();
  await provider.forceFlush();
  const body = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
  await provider.shutdown();
  if (!body) throw new Error('the serializer made no export');
  return Buffer.from(body);
}
