import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComponentStatusMessage } from '@tenantlab/shared';
import { ComponentsService } from './components.service';

function heartbeat(instance: string, seq: number): ComponentStatusMessage {
  return {
    component: 'switch',
    instance,
    state: 'running',
    seq,
    sentAt: new Date(0).toISOString(),
    uptimeMs: seq * 2000,
    details: {},
  };
}

describe('ComponentsService', () => {
  it('counts a heartbeat read again (telemetry re-reads the topic when it joins) once, and none as missing', () => {
    const components = new ComponentsService();
    for (const seq of [0, 1, 2]) components.record(heartbeat('sw-1', seq), undefined);
    for (const seq of [0, 1, 2, 3]) components.record(heartbeat('sw-1', seq), undefined);
    const [view] = components.snapshot().components;
    assert.deepEqual([view?.messages, view?.missing, view?.lastSeq], [4, 0, 3]);
  });

  it('counts the sequence numbers that never arrived as missing', () => {
    const components = new ComponentsService();
    for (const seq of [2, 3, 6]) components.record(heartbeat('sw-2', seq), undefined);
    const [view] = components.snapshot().components;
    assert.deepEqual([view?.messages, view?.missing, view?.lastSeq], [3, 4, 6]);
  });
});
