import { type Context, ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import {
  extractTraceFromStreamFields,
  fieldsFromFlatList,
  FrameView,
  injectTraceIntoKafkaHeaders,
  type KafkaHeaders,
  parseFrame,
} from '@tenantlab/shared';
import type { DropReason, SwitchPort, Verdict } from '../pipeline/switch-port';
import { type MirroredFrame, type PacketTrace, packetTrace } from './packet-trace';

/** Where packet traces go: the switch's `switch.packet-traces` publisher, each record with its own headers. */
export interface PacketTracePublisher {
  publish(key: string, value: PacketTrace | MirroredFrame, headers?: KafkaHeaders): void;
}

/** A frame as the data path read it: its port, bytes and the `otel.*` fields of the write that sent it. */
export interface TracedEntry {
  port: SwitchPort;
  frame: Buffer;
  trace: readonly string[];
}

/**
 * The trace sink (one element of the data path, Click's way: seed 002): turns a sampled frame's fate into a
 * `switch.forward` span, a child of the send that carried the frame, and a record on `switch.packet-traces` whose
 * `traceparent` header is that span's context, so the record and its header name the packet's own trace (issue 11).
 * A frame is decided first (`decided`), then may be dropped at some destinations (`SampledFrame.droppedAt`); its
 * span and record are made once its fate is known (`SampledFrame.finish`).
 */
export class PacketTraceSink {
  /** For frames traced before the pipeline parsed them (dropped while waiting for CPU): the pipeline's is reused. */
  private readonly view = new FrameView();

  constructor(
    private readonly publisher: PacketTracePublisher,
    private readonly tracer: Tracer,
    private readonly snapBytes: number,
  ) {}

  /** A sampled frame the pipeline decided; `view` is the pipeline's parse of it, valid only during this call. */
  decided(entry: TracedEntry, view: FrameView, verdict: Verdict): SampledFrame {
    const fields = fieldsFromFlatList(entry.trace);
    const record = packetTrace(entry, view, verdict, this.snapBytes, fields['otel.traceparent']);
    // The parent is extracted onto the root context, not the active one: the read loop runs with tracing
    // suppressed, and a span started under that is never recorded.
    return new SampledFrame(this, record, extractTraceFromStreamFields(fields, ROOT_CONTEXT));
  }

  /** A sampled frame the data path dropped before the pipeline decided it (`cpu-budget`): traced all the same. */
  droppedUndecided(entry: TracedEntry, reason: DropReason): void {
    const rejected = parseFrame(entry.frame, this.view);
    const verdict: Verdict = rejected
      ? { kind: 'drop', reason: 'malformed', malformed: rejected }
      : { kind: 'drop', reason };
    this.decided(entry, this.view, verdict).finish();
  }

  /** @internal The span and the record of a frame whose fate is known. */
  emit(record: PacketTrace, parent: Context): void {
    const span = this.tracer.startSpan('switch.forward', { kind: SpanKind.INTERNAL }, parent);
    span.setAttributes({
      'tenantlab.tenant.id': record.tenant,
      'tenantlab.switch.in_port': record.inPort,
      'tenantlab.switch.verdict': record.verdict,
      ...(record.dropReason ? { 'tenantlab.switch.drop_reason': record.dropReason } : {}),
      ...(record.malformedReason ? { 'tenantlab.switch.malformed_reason': record.malformedReason } : {}),
      ...(record.egressDrops
        ? { 'tenantlab.switch.egress_drops': record.egressDrops.map((d) => `${d.outPort}:${d.reason}`) }
        : {}),
    });
    span.end();
    const spanContext = span.spanContext();
    const valid = trace.isSpanContextValid(spanContext);
    const headers = valid ? injectTraceIntoKafkaHeaders({}, trace.setSpan(ROOT_CONTEXT, span)) : {};
    const traceId = record.traceId ?? (valid ? spanContext.traceId : undefined);
    this.publisher.publish(record.tenant, traceId ? { ...record, traceId } : record, headers);
  }
}

/** A sampled frame between its decision and its delivery: destinations it is dropped at are added to its trace. */
export class SampledFrame {
  private readonly egressDrops: { outPort: string; reason: DropReason }[] = [];

  constructor(
    private readonly sink: PacketTraceSink,
    private readonly record: PacketTrace,
    private readonly parent: Context,
  ) {}

  /** The frame was decided for `port` but dropped there (`rx-full`, `port-quarantined`). */
  droppedAt(port: SwitchPort, reason: DropReason): void {
    this.egressDrops.push({ outPort: port.vm, reason });
  }

  /** Publishes the trace; a frame dropped at every destination it was decided for is a drop, for the first reason. */
  finish(): void {
    if (this.egressDrops.length === 0) {
      this.sink.emit(this.record, this.parent);
      return;
    }
    const dropped = new Set(this.egressDrops.map((d) => d.outPort));
    const outPorts = this.record.outPorts.filter((vm) => !dropped.has(vm));
    const record: PacketTrace = {
      ...this.record,
      outPorts,
      egressDrops: this.egressDrops,
      ...(outPorts.length === 0 ? { verdict: 'drop', dropReason: this.egressDrops[0].reason } : {}),
    };
    this.sink.emit(record, this.parent);
  }
}
