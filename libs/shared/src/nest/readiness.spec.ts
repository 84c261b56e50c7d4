import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runReadinessChecks } from './readiness';

describe('runReadinessChecks', () => {
  it('is ready when every check passes and none is degraded', async () => {
    const report = await runReadinessChecks([{ name: 'redis', check: async () => 'ok', degraded: () => [] }]);
    assert.equal(report.status, 'ready');
    assert.equal(report.ready, true);
    assert.equal(report.reasons, undefined);
  });

  it('says degraded, with the reasons, when the dependencies answer but the service has not converged', async () => {
    const report = await runReadinessChecks([
      { name: 'redis', check: async () => undefined, degraded: () => ['ports not attached again yet: vm-a1'] },
      { name: 'kafka', check: async () => undefined },
    ]);
    assert.equal(report.status, 'degraded');
    assert.equal(report.ready, false);
    assert.deepEqual(report.reasons, ['ports not attached again yet: vm-a1']);
  });

  it('says not-ready when a dependency fails, whatever is degraded', async () => {
    const report = await runReadinessChecks([
      { name: 'redis', check: () => Promise.reject(new Error('down')), degraded: () => ['x'] },
    ]);
    assert.equal(report.status, 'not-ready');
    assert.deepEqual(report.checks, { redis: { ok: false, detail: 'down' } });
  });
});
