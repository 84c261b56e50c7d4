import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeLoopbackPort } from '@tenantlab/lab';
import { DomainError } from '@tenantlab/shared';
import { TelemetryClient } from './telemetry.client';

describe('TelemetryClient', () => {
  it('answers DEPENDENCY_UNAVAILABLE, retriable, for each read, when telemetry does not answer', async () => {
    const client = new TelemetryClient({
      SERVICE_TOKEN: 'f'.repeat(64),
      TELEMETRY_URL: `http://127.0.0.1:${await freeLoopbackPort()}`,
    });
    for (const read of [
      () => client.traces('tenant-a', {}),
      () => client.events('tenant-a', {}),
      () => client.pcap('tenant-a'),
    ]) {
      const error = await read().then(
        () => assert.fail('a read from a telemetry that does not answer succeeded'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(error.retriable, true);
      assert.match(error.message, /telemetry/);
    }
  });
});
