import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  freeLoopbackPort,
  type ServiceProcess,
  startServiceProcess,
  startTestRedis,
  type TestRedis,
} from '@tenantlab/lab';
import { requestBytes, requestJson } from '@tenantlab/shared';
import {
  type ErrorReply,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  type TestVm,
  uniqueId,
} from '../testing/operator-harness';

describe("a tenant's telemetry through the operator, with the real telemetry service", () => {
  let redis: TestRedis;
  let telemetry: ServiceProcess | undefined;
  const operators: OperatorUnderTest[] = [];
  let api: OperatorApi;
  let a1: TestVm;
  let b1: TestVm;

  before(
    async () => {
      redis = await startTestRedis();
      // No broker: telemetry then holds no traces or events, and says so per tenant (404), which is what tells a
      // call that reached it from one it refused (403, a 503 from the operator) or one the operator refused (403).
      telemetry = await startServiceProcess('telemetry', {
        KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
        KAFKA_GROUP_ID: uniqueId('telemetry'),
      });
      const operator = await startOperator(redis.url, { TELEMETRY_URL: telemetry.url });
      operators.push(operator);
      api = new OperatorApi(operator.url);
      a1 = await api.register(uniqueId('vm-a1'), uniqueId('tenant-a'));
      b1 = await api.register(uniqueId('vm-b1'), uniqueId('tenant-b'));
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const operator of operators) await operator.close();
    await telemetry?.stop();
    await redis?.stop();
  });

  const read = (url: string, path: string, vm?: TestVm) =>
    requestJson<ErrorReply>('GET', `${url}${path}`, undefined, 5000, vm ? bearer(vm) : {});

  it("reads the caller's own tenant's traces, pcap and events from telemetry", async () => {
    for (const path of ['traces', 'traces/pcap', 'events?limit=5&event=heavy_hitter']) {
      const { status, body } = await read(api.url, `/tenants/${a1.tenant}/${path}`, a1);
      // Telemetry's own answer for a tenant it has seen nothing of, passed through: the call reached it.
      assert.equal(status, 404, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, 'NOT_FOUND');
      assert.match(body.error.message, new RegExp(a1.tenant));
    }
    const invalid = await read(api.url, `/tenants/${a1.tenant}/traces?limit=0`, a1);
    assert.equal(invalid.status, 400, "telemetry's validation passes through");
  });

  it("refuses another tenant's telemetry with 403, and a call without a VM token with 401", async () => {
    for (const path of ['traces', 'traces/pcap', 'events']) {
      const other = await read(api.url, `/tenants/${b1.tenant}/${path}`, a1);
      assert.equal(other.status, 403, `${path}: ${JSON.stringify(other.body)}`);
      assert.equal(other.body.error.code, 'FORBIDDEN');
      assert.match(other.body.error.message, new RegExp(`only that tenant's telemetry`));
      const anonymous = await read(api.url, `/tenants/${a1.tenant}/${path}`);
      assert.equal(anonymous.status, 401, path);
    }
    const pcap = await requestBytes(`${api.url}/tenants/${b1.tenant}/traces/pcap`, 5000, bearer(a1));
    assert.equal(pcap.status, 403);
    assert.match(String(pcap.headers['content-type']), /^application\/json/, 'an error, not a pcap file');
  });

  it('is refused by telemetry when the operator holds a token telemetry does not accept (503 to the tenant)', async () => {
    const impostor = await startOperator(redis.url, { TELEMETRY_URL: telemetry!.url, SERVICE_TOKEN: 'd'.repeat(64) });
    operators.push(impostor);
    const { status, body } = await read(impostor.url, `/tenants/${a1.tenant}/traces`, a1);
    assert.equal(status, 503, JSON.stringify(body));
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(body.error.message, /telemetry answered GET .* with HTTP 403 \(FORBIDDEN/);
  });

  it('is refused by telemetry when called directly, without or with a VM token', async () => {
    const direct = await read(telemetry!.url, `/traces/${a1.tenant}`);
    assert.equal(direct.status, 401);
    const withVmToken = await read(telemetry!.url, `/traces/${a1.tenant}`, a1);
    assert.equal(withVmToken.status, 403, 'a VM token is no service credential');
  });
});

function bearer(vm: TestVm): { authorization: string } {
  return { authorization: `Bearer ${vm.credentials.token}` };
}
