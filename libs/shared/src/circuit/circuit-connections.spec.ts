import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { activeTraceFields } from './circuit-connections';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const inSpan = (spanId: string) =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED });

describe('activeTraceFields', () => {
  before(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(() => {
    propagation.disable();
    context.disable();
  });

  it("gives each send its own context's traceparent, sends from one context sharing one frozen array", () => {
    const first = inSpan('b7ad6b7169203331');
    const second = inSpan('00f067aa0ba902b7');
    const a1 = context.with(first, activeTraceFields);
    const a2 = context.with(first, activeTraceFields);
    const b = context.with(second, activeTraceFields);
    const none = context.with(ROOT_CONTEXT, activeTraceFields);
    const a3 = context.with(first, activeTraceFields);
    assert.deepEqual(a1, ['otel.traceparent', `00-${traceId}-b7ad6b7169203331-01`]);
    assert.equal(a2, a1, 'the same context: the same array, worked out once');
    assert.deepEqual(b, ['otel.traceparent', `00-${traceId}-00f067aa0ba902b7-01`]);
    assert.deepEqual(none, []);
    assert.deepEqual(a3, a1, 'back in the first context: its own traceparent again');
    assert.ok(Object.isFrozen(a1));
  });
});
