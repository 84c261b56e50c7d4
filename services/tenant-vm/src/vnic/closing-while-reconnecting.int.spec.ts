import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { suiteRedis } from '@tenantlab/lab';
import { disconnectNow, PORT_KEYS, vmAclRules, vmAclUser } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { newReceiverCounters, PortReceiver } from './port-receiver';

/**
 * A VM's connection after Redis restarted empty, on a real Redis: its old credentials no longer open the new store,
 * so ioredis retries forever, keeping the read that was in flight to send it again. Closing the connection then (the
 * VM registered again and rotates its credentials) must end that read. Left waiting, a VM's rx reader never read
 * again, and the store ledger's entry for its port was never read (the faults scenario, Docker mode).
 */
/** Resolves once `probe` holds, checking every 5 ms; fails after 10 s naming `what`. */
async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('closing a VM connection while it reconnects to a Redis that restarted empty', () => {
  const suite = suiteRedis();

  /** A VM's ACL user, an entry in its rx, and one ready connection as that user. */
  async function vmConnection(): Promise<{ vm: string; connection: Redis }> {
    const vm = `vm-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    await suite.admin.call('ACL', 'SETUSER', vmAclUser(vm), ...vmAclRules(vm, { password }, []));
    await suite.admin.xadd(PORT_KEYS.rx(vm), '*', 'seed', '1');
    // As a VM connects (vmCircuitConnections), retrying every second: time to act between two attempts.
    const connection = new Redis(suite.redis.anonymousUrl, {
      username: vmAclUser(vm),
      password,
      enableReadyCheck: false,
      retryStrategy: () => 1000,
    });
    // The new store's refusals are expected.
    connection.on('error', () => undefined);
    if (connection.status !== 'ready') await once(connection, 'ready');
    return { vm, connection };
  }

  /** Restarts Redis empty and resolves when `connection` has been refused by the new store and waits to retry. */
  async function refusedByTheNewStore(connection: Redis): Promise<void> {
    const refused = new Promise<void>((resolve) => {
      const onError = (error: Error): void => {
        if (!/WRONGPASS/.test(error.message)) return;
        connection.off('error', onError);
        connection.once('reconnecting', () => resolve());
      };
      connection.on('error', onError);
    });
    await suite.redis.restartEmpty();
    await refused;
    assert.equal(connection.status, 'reconnecting');
  }

  // A read left waiting never settles: the timeout turns that into a failure.
  it('rejects the read in flight when the store went and a command issued since', { timeout: 20_000 }, async () => {
    const { vm, connection } = await vmConnection();
    const reading = connection.xread('BLOCK', 0, 'STREAMS', PORT_KEYS.rx(vm), '$');
    await refusedByTheNewStore(connection);
    const since = connection.xlen(PORT_KEYS.rx(vm));
    disconnectNow(connection);
    await assert.rejects(reading, /Connection is closed/);
    await assert.rejects(since, /Connection is closed/);
    assert.equal(connection.status, 'end');
  });

  it("ends a VM's rx receiver closed while its connection retries", { timeout: 20_000 }, async () => {
    const { vm, connection } = await vmConnection();
    const counters = newReceiverCounters();
    const receiver = new PortReceiver(connection, vm, () => undefined, '0-0', counters);
    const running = receiver.run();
    await until(() => counters.malformed === 1, 'the receiver read the entry without a frame');
    // Stopped, Redis answers nothing: whatever the receiver does now, its next read is in flight when Redis dies.
    process.kill(suite.redis.pid, 'SIGSTOP');
    await refusedByTheNewStore(connection);
    receiver.close();
    await running;
    assert.equal(connection.status, 'end');
  });
});
