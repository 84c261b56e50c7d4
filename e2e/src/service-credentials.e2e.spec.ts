import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, startTestRedis, TEST_SERVICE_TOKENS, type TestRedis } from '@tenantlab/lab';
import { requestJson, serviceAuthHeaders } from '@tenantlab/shared';
import { ServiceProcess } from './service-process';

type ErrorReply = { error?: { code: string; message: string } };
type Method = 'GET' | 'PUT';

/** Per guarded service: calls a tenant could use against another tenant, and one read that answers 200. */
const GUARDED: Record<'switch' | 'allocator' | 'telemetry', { calls: [Method, string, unknown?][]; read: string }> = {
  switch: {
    calls: [
      ['GET', '/dataplane'],
      ['PUT', '/tenants/tenant-b/sampling', { rate: 1 }],
      ['PUT', '/tenants/tenant-b/cpu-weight', { weight: 100 }],
      ['GET', '/tenants/tenant-b/program'],
    ],
    read: '/dataplane',
  },
  allocator: {
    calls: [
      ['GET', '/memory'],
      ['GET', '/pipeline'],
      ['PUT', '/tenants/tenant-b/program', { vms: [], program: {} }],
    ],
    read: '/memory',
  },
  telemetry: {
    calls: [
      ['GET', '/components'],
      ['GET', '/traces'],
      ['GET', '/traces/tenant-b/pcap'],
      ['GET', '/events/tenant-b'],
    ],
    read: '/components',
  },
};

/**
 * The switch, the allocator and telemetry, each its own process as the lab runs it (with TEST_SERVICE_TOKENS as
 * their CALLER_TOKENS): every call but /health and /ready needs the token of an accepted caller (operator, admin).
 */
describe('service credentials: the switch, the allocator and telemetry refuse callers without one', () => {
  let redis: TestRedis;
  const started = new Map<string, ServiceProcess>();

  before(
    async () => {
      redis = await startTestRedis();
      // No broker: the APIs work without Kafka (the services are live, not ready), and nothing here needs it.
      const kafka = `127.0.0.1:${await freeLoopbackPort()}`;
      for (const service of Object.keys(GUARDED)) {
        const env: Record<string, string> = { KAFKA_BROKERS: kafka, REDIS_URL: redis.url };
        started.set(service, await (await ServiceProcess.create(service, service, env)).start(30_000, '/health'));
      }
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await Promise.all([...started.values()].map((s) => s.stop()));
    await redis?.stop();
  });

  for (const [service, { calls, read }] of Object.entries(GUARDED)) {
    it(`${service}: 401 without a credential and 403 with a wrong one, each naming the header`, async () => {
      const url = started.get(service)!.url;
      const wrongTokens = ['f'.repeat(64), TEST_SERVICE_TOKENS.switch, TEST_SERVICE_TOKENS.operator.slice(0, 63)];
      for (const [method, path, body] of calls) {
        const none = await requestJson<ErrorReply>(method, `${url}${path}`, body);
        assert.equal(none.status, 401, `${method} ${path}: ${JSON.stringify(none.body)}`);
        assert.equal(none.body.error?.code, 'UNAUTHENTICATED');
        assert.match(none.body.error?.message ?? '', /Authorization: Bearer <token>/);
        for (const token of wrongTokens) {
          const wrong = await requestJson<ErrorReply>(method, `${url}${path}`, body, 3000, serviceAuthHeaders(token));
          assert.equal(wrong.status, 403, `${method} ${path}: ${JSON.stringify(wrong.body)}`);
          assert.equal(wrong.body.error?.code, 'FORBIDDEN');
          assert.match(wrong.body.error?.message ?? '', /Authorization: Bearer <token>/);
        }
      }
    });

    it(`${service}: answers the operator's and the admin tools' tokens; /health and /ready stay open`, async () => {
      const url = started.get(service)!.url;
      for (const token of [TEST_SERVICE_TOKENS.operator, TEST_SERVICE_TOKENS.admin]) {
        const { status, body } = await requestJson('GET', `${url}${read}`, undefined, 3000, serviceAuthHeaders(token));
        assert.equal(status, 200, JSON.stringify(body));
      }
      assert.equal((await requestJson('GET', `${url}/health`)).status, 200);
      const ready = await requestJson('GET', `${url}/ready`);
      assert.equal(ready.status, 503, 'not ready without Kafka, and saying so without a credential');
      assert.doesNotMatch(JSON.stringify(ready.body), /tenant-/, 'readiness shows no tenant data');
    });
  }
});
