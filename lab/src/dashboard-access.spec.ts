import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withDashboardToken, withJaegerQueryPassword } from './dashboard-access';

describe("telemetry's dashboard credentials in a local lab's plan", () => {
  const plan: { name: string; kind: string; env: Record<string, string> }[] = [
    { name: 'operator', kind: 'service', env: { PORT: '3000' } },
    { name: 'telemetry', kind: 'service', env: { PORT: '3003' } },
    { name: 'telemetry', kind: 'vm', env: {} },
  ];

  it('gives the dashboard token and the Jaeger query password to telemetry, and to no other process', () => {
    const credentialed = withJaegerQueryPassword(withDashboardToken(plan, 'd'.repeat(64)), 'j'.repeat(64));
    assert.deepEqual(credentialed[1]?.env, {
      PORT: '3003',
      DASHBOARD_TOKEN: 'd'.repeat(64),
      JAEGER_QUERY_PASSWORD: 'j'.repeat(64),
    });
    assert.deepEqual(credentialed[0]?.env, { PORT: '3000' });
    assert.deepEqual(credentialed[2]?.env, {}, 'a VM named telemetry is not the service');
    assert.deepEqual(plan[1]?.env, { PORT: '3003' }, 'the plan itself is left as it was');
  });
});
