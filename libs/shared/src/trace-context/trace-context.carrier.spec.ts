import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  extractTraceFromKafkaHeaders,
  extractTraceFromStreamFields,
  injectTraceIntoKafkaHeaders,
  injectTraceIntoStreamFields,
  STREAM_TRACE_FIELD_PREFIX,
} from './trace-context.carrier';

const spanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};
const producing = trace.setSpanContext(ROOT_CONTEXT, spanContext);

describe('trace context carriers', () => {
  before(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(() => {
    propagation.disable();
    context.disable();
  });

  it('writes a W3C traceparent into Kafka headers and reads it back from Buffers', () => {
    const headers = injectTraceIntoKafkaHeaders({ other: 'kept' }, producing);
    assert.equal(headers['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(headers['other'], 'kept');
    // kafkajs hands headers to consumers as Buffers.
    const received = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
    const extracted = trace.getSpanContext(extractTraceFromKafkaHeaders(received, ROOT_CONTEXT));
    assert.equal(extracted?.traceId, spanContext.traceId);
    assert.equal(extracted?.spanId, spanContext.spanId);
    assert.equal(extracted?.isRemote, true);
  });

  it('leaves the base context when Kafka headers carry no trace', () => {
    assert.equal(trace.getSpanContext(extractTraceFromKafkaHeaders({}, ROOT_CONTEXT)), undefined);
    assert.equal(trace.getSpanContext(extractTraceFromKafkaHeaders(undefined, ROOT_CONTEXT)), undefined);
  });

  it('rejects a malformed traceparent instead of inventing a parent', () => {
    const extracted = extractTraceFromKafkaHeaders({ traceparent: Buffer.from('00-zz-yy-01') }, ROOT_CONTEXT);
    assert.equal(trace.getSpanContext(extracted), undefined);
  });

  it('round-trips through Redis stream fields, as an object and as the flat XRANGE list', () => {
    const fields = injectTraceIntoStreamFields({ data: 'payload' }, producing);
    assert.equal(
      fields[`${STREAM_TRACE_FIELD_PREFIX}traceparent`],
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    assert.equal(fields['data'], 'payload');
    const flat = Object.entries(fields).flat();
    for (const carrier of [fields, flat]) {
      const extracted = trace.getSpanContext(extractTraceFromStreamFields(carrier, ROOT_CONTEXT));
      assert.equal(extracted?.traceId, spanContext.traceId);
    }
  });

  it('does not mistake an entry field named traceparent for trace context', () => {
    const extracted = extractTraceFromStreamFields(
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      ROOT_CONTEXT,
    );
    assert.equal(trace.getSpanContext(extracted), undefined);
  });

  it('injects the active context by default', () => {
    const fields = context.with(producing, () => injectTraceIntoStreamFields());
    assert.ok(fields[`${STREAM_TRACE_FIELD_PREFIX}traceparent`]?.includes(spanContext.traceId));
  });
});
