import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitProtocolError, CircuitResetError, CircuitTornDownError } from '@tenantlab/shared';
import { CircuitResets } from './circuit-resets';

describe('CircuitResets', () => {
  it('counts resets by code with the last reason, and nothing else', () => {
    const resets = new CircuitResets();
    const overCapacity = 'ring holds 64 unread entries, over its capacity of 16 (+ FIN and RST)';
    assert.equal(resets.record(new CircuitProtocolError('c-1', 'ring entry 1-0 carries too much')), true);
    assert.equal(resets.record(new CircuitProtocolError('c-2', overCapacity)), true);
    assert.equal(resets.record(new CircuitResetError('c-3', 'the peer gave up')), true);
    assert.equal(resets.record(new CircuitTornDownError('c-4', 'its ring no longer exists')), false);
    assert.equal(resets.record(new Error('closed')), false);
    const snapshot = resets.snapshot();
    assert.deepEqual(Object.keys(snapshot).sort(), ['CIRCUIT_PROTOCOL_VIOLATION', 'CIRCUIT_RESET']);
    assert.equal(snapshot.CIRCUIT_PROTOCOL_VIOLATION.count, 2);
    assert.match(snapshot.CIRCUIT_PROTOCOL_VIOLATION.lastReason, /circuit c-2 .* over its capacity of 16/);
    assert.equal(snapshot.CIRCUIT_RESET.count, 1);
  });
});
