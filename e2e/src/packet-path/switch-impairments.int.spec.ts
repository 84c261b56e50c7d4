import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import { type ImpairmentView, PORT_KEYS, REDIS_KEYS } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { adminRequest, ServiceProcess } from '../service-process';
import { receivedSequences, sendFrames, sequencedFrame } from './port-traffic';

interface Dataplane {
  counters: { ports: Record<string, { drops: Record<string, number> }> };
  ports: { vm: string }[];
}

/**
 * A port impairment's held frames across what can happen to them: removal flushes them in order, and a switch killed
 * while holding them leaves their number in Redis for the next switch to count. A real Redis; Kafka absent.
 */
describe('port impairments in the switch process, on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let sw: ServiceProcess;
  let kafkaPort: number;

  const startSwitch = async (port?: number): Promise<ServiceProcess> => {
    const process = await ServiceProcess.create('switch', 'switch', {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      PORT_SCAN_INTERVAL_MS: '100',
      ...(port ? { PORT: String(port) } : {}),
    });
    if (port) Object.assign(process, { port });
    return process.start(30_000, '/health');
  };
  const dataplane = async (): Promise<Dataplane> => (await adminRequest<Dataplane>('GET', `${sw.url}/dataplane`)).body;
  const impairment = (method: 'PUT' | 'GET' | 'DELETE', body?: unknown) =>
    adminRequest<ImpairmentView & { flushed: number }>(method, `${sw.url}/ports/vm-a2/impairment`, body);
  const send = (seqs: number[]): Promise<void> =>
    sendFrames(
      admin,
      'vm-a1',
      seqs.map((seq) => sequencedFrame('vm-a1', 'vm-a2', seq)),
    );

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    kafkaPort = await freeLoopbackPort();
    await seedVmRegistry(admin, { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a' });
    sw = await startSwitch();
    await eventually('both ports attached', 10_000, async () =>
      (await dataplane()).ports.length === 2 ? true : undefined,
    );
  });

  after(async () => {
    await sw?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  it('holds frames for a port, then flushes them in order when the impairment is removed', async () => {
    assert.equal((await impairment('PUT', { delayMs: 10_000 })).status, 200);
    await send([1, 2, 3, 4, 5]);
    await eventually('five frames held', 10_000, async () =>
      (await impairment('GET')).body.held.frames === 5 ? true : undefined,
    );
    assert.deepEqual(await receivedSequences(admin, 'vm-a2'), [], 'nothing delivered while held');
    assert.equal(await admin.hget(REDIS_KEYS.impairmentHeld, 'vm-a1'), '5', 'the held count is in Redis');
    const removed = await impairment('DELETE');
    assert.deepEqual(removed.body, { vm: 'vm-a2', flushed: 5 });
    await send([6]);
    await eventually('all six at vm-a2', 10_000, async () =>
      (await receivedSequences(admin, 'vm-a2')).length === 6 ? true : undefined,
    );
    assert.deepEqual(await receivedSequences(admin, 'vm-a2'), [1, 2, 3, 4, 5, 6], 'in order, held ones first');
    await eventually('the held count gone from Redis', 5_000, async () =>
      (await admin.hexists(REDIS_KEYS.impairmentHeld, 'vm-a1')) === 0 ? true : undefined,
    );
  });

  it('counts frames a killed switch held as impaired-switch-restart at their sender, in the next switch', async () => {
    await admin.del(PORT_KEYS.rx('vm-a2'));
    assert.equal((await impairment('PUT', { delayMs: 10_000 })).status, 200);
    await send(Array.from({ length: 20 }, (_, i) => 100 + i));
    await eventually('twenty frames held', 10_000, async () =>
      (await impairment('GET')).body.held.frames === 20 ? true : undefined,
    );
    const port = sw.port;
    await sw.kill();
    sw = await startSwitch(port);
    const drops = await eventually('the next switch counting them', 15_000, async () => {
      const counted = (await dataplane()).counters.ports['vm-a1']?.drops['impaired-switch-restart'];
      return counted === undefined ? undefined : counted;
    });
    assert.equal(drops, 20);
    assert.equal(await admin.exists(REDIS_KEYS.impairmentHeld), 0, 'read and removed');
    assert.deepEqual(await receivedSequences(admin, 'vm-a2'), [], 'none delivered');
    assert.equal(await admin.xlen(PORT_KEYS.tx('vm-a1')), 0, 'none read again either');
  });
});
