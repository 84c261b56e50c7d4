import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import {
  type Attributes,
  type Context,
  propagation,
  type Span,
  type SpanContext,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { buildFrame, type KafkaHeaders } from '@tenantlab/shared';
import { SwitchPipeline } from '../pipeline/switch-pipeline';
import type { SwitchPort } from '../pipeline/switch-port';
import type { MirroredFrame, PacketTrace } from './packet-trace';
import { PacketTraceSink, type SampledFrame } from './packet-trace.sink';

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
const A3: SwitchPort = { no: 3, vm: 'vm-a3', tenant: 'tenant-a', vlan: 10 };
const SENDER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const SENDER_SPAN = 'b7ad6b7169203331';
const SENDER_FIELDS = ['otel.traceparent', `00-${SENDER_TRACE}-${SENDER_SPAN}-01`];

interface RecordedSpan {
  name: string;
  parent: SpanContext | undefined;
  context: SpanContext;
  attributes: Attributes;
  ended: boolean;
}

/** A tracer that keeps what it was asked: a span's name, its parent (from the context given) and its attributes. */
function recordingTracer(spans: RecordedSpan[]): Tracer {
  const startSpan = (name: string, _options?: unknown, parentContext?: Context): Span => {
    const parent = parentContext && trace.getSpanContext(parentContext);
    const context: SpanContext = {
      traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: parent?.traceFlags ?? 1,
    };
    const recorded: RecordedSpan = { name, parent, context, attributes: {}, ended: false };
    spans.push(recorded);
    const span = {
      spanContext: () => context,
      setAttributes: (attributes: Attributes) => {
        Object.assign(recorded.attributes, attributes);
        return span;
      },
      end: () => void (recorded.ended = true),
    };
    return span as unknown as Span;
  };
  return { startSpan } as unknown as Tracer;
}

function udp(dstMac: string): Buffer {
  return buildFrame({
    srcMac: '02:00:00:00:00:a1',
    dstMac,
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort: 2000 },
    payload: Buffer.from('hello'),
  });
}

/** The frame with its IPv4 header checksum broken: the parser names that, not just "malformed". */
function badChecksum(): Buffer {
  const frame = udp('02:00:00:00:00:a2');
  frame[14 + 10] ^= 0xff;
  return frame;
}

describe('the packet trace sink', () => {
  let spans: RecordedSpan[];
  let published: { key: string; value: PacketTrace | MirroredFrame; headers?: KafkaHeaders }[];
  let sink: PacketTraceSink;
  let pipeline: SwitchPipeline;

  /** Runs `frame` from vm-a1 through a real pipeline, tracing it as the data path does. */
  const decide = (frame: Buffer, traceFields: string[] = SENDER_FIELDS): SampledFrame => {
    let sampled: SampledFrame | undefined;
    const entry = { port: A1, frame, trace: traceFields };
    pipeline.process(entry, (_, view, verdict) => (sampled = sink.decided(entry, view, verdict)));
    assert.ok(sampled, 'the pipeline called the observer');
    return sampled;
  };
  const only = <T>(items: T[]): T => {
    assert.equal(items.length, 1);
    return items[0];
  };
  const traceparentHeader = (headers: KafkaHeaders | undefined): string => String(headers?.['traceparent'] ?? '');

  beforeEach(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    spans = [];
    published = [];
    sink = new PacketTraceSink(
      { publish: (key, value, headers) => published.push({ key, value, headers }) },
      recordingTracer(spans),
      0,
    );
    // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
    pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    for (const port of [A1, A2, A3]) pipeline.attach(port);
  });

  it("names the parser's reason for a malformed frame, in the record and on its span", () => {
    decide(badChecksum()).finish();
    const { key, value } = only(published);
    assert.equal(key, 'tenant-a');
    assert.equal((value as PacketTrace).verdict, 'drop');
    assert.equal((value as PacketTrace).dropReason, 'malformed');
    assert.equal((value as PacketTrace).malformedReason, 'ipv4-bad-checksum');
    const span = only(spans);
    assert.equal(span.name, 'switch.forward');
    assert.equal(span.attributes['tenantlab.switch.drop_reason'], 'malformed');
    assert.equal(span.attributes['tenantlab.switch.malformed_reason'], 'ipv4-bad-checksum');
    assert.ok(span.ended);
  });

  it("puts the packet's own trace context in the record's traceparent header: the switch span, child of the sender's", () => {
    decide(Buffer.alloc(10)).finish();
    const { value, headers } = only(published);
    const span = only(spans);
    assert.equal(span.parent?.traceId, SENDER_TRACE);
    assert.equal(span.parent?.spanId, SENDER_SPAN);
    assert.equal((value as PacketTrace).traceId, SENDER_TRACE);
    assert.equal((value as PacketTrace).malformedReason, 'too-short');
    assert.equal(traceparentHeader(headers), `00-${SENDER_TRACE}-${span.context.spanId}-01`);
  });

  it('gives an untraced frame the switch span as its trace, in the body and the header alike', () => {
    decide(udp('ff:ff:ff:ff:ff:ff'), []).finish();
    const { value, headers } = only(published);
    const span = only(spans);
    assert.equal(span.parent, undefined);
    assert.equal((value as PacketTrace).traceId, span.context.traceId);
    assert.equal(traceparentHeader(headers), `00-${span.context.traceId}-${span.context.spanId}-01`);
  });

  it('names the destinations a forwarded frame was dropped at, and makes it a drop when it reached none', () => {
    const flooded = decide(udp('ff:ff:ff:ff:ff:ff'));
    flooded.droppedAt(A3, 'rx-full');
    flooded.finish();
    const partly = published[0].value as PacketTrace;
    assert.equal(partly.verdict, 'flood');
    assert.deepEqual(partly.outPorts, ['vm-a2']);
    assert.deepEqual(partly.egressDrops, [{ outPort: 'vm-a3', reason: 'rx-full' }]);
    assert.deepEqual(spans[0].attributes['tenantlab.switch.egress_drops'], ['vm-a3:rx-full']);

    const nowhere = decide(udp('ff:ff:ff:ff:ff:ff'));
    nowhere.droppedAt(A2, 'port-quarantined');
    nowhere.droppedAt(A3, 'rx-full');
    nowhere.finish();
    const dropped = published[1].value as PacketTrace;
    assert.equal(dropped.verdict, 'drop');
    assert.equal(dropped.dropReason, 'port-quarantined');
    assert.deepEqual(dropped.outPorts, []);
    assert.equal(spans[1].attributes['tenantlab.switch.drop_reason'], 'port-quarantined');
  });

  it('traces a frame dropped before it was decided (its tenant out of CPU) with that reason', () => {
    sink.droppedUndecided({ port: A1, frame: udp('02:00:00:00:00:a2'), trace: SENDER_FIELDS }, 'cpu-budget');
    const { value, headers } = only(published);
    assert.equal((value as PacketTrace).verdict, 'drop');
    assert.equal((value as PacketTrace).dropReason, 'cpu-budget');
    assert.equal((value as PacketTrace).headers.dstMac, '02:00:00:00:00:a2');
    assert.match(traceparentHeader(headers), new RegExp(`^00-${SENDER_TRACE}-`));
  });
});
