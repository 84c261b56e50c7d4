import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestRedis } from '@tenantlab/lab';
import {
  CIRCUIT_KEYS,
  type CircuitDescriptor,
  CONTROL_FIELDS,
  nextStreamId,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  REDIS_KEYS,
  VM_KEYS,
  vmAclUser,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { connectAsVm, type OperatorApi, redisError, type TestVm } from '../testing/operator-harness';
import { startTwoTenants, type TwoTenants } from '../testing/two-tenants';

/**
 * Tenant A's VM turned hostile: it holds A's real Redis credentials (from its registration) and tries everything
 * against tenant B's circuit, inbox and vNIC port streams, the key space, the operator's records and the server
 * itself.
 */
describe("VM isolation in Redis, as an attacker holding tenant A's VM credentials", () => {
  let tenants: TwoTenants | undefined;
  let redis: TestRedis;
  let admin: Redis;
  let api: OperatorApi;
  let a1: TestVm;
  let a2: TestVm;
  let b1: TestVm;
  let ownCircuit: CircuitDescriptor;
  let victimCircuit: CircuitDescriptor;
  let attacker: Redis;
  let track: TwoTenants['track'];

  // B's keys: its circuit's control hash and rings, and the listening VM's inbox.
  const victimKeys = (): { ctl: string; ring: string; inbox: string } => ({
    ctl: CIRCUIT_KEYS.control(victimCircuit.id),
    ring: CIRCUIT_KEYS.ring(victimCircuit.id, 'a2b'),
    inbox: VM_KEYS.inbox(victimCircuit.peer.vm),
  });

  before(
    async () => {
      tenants = await startTwoTenants({ a: 'echo', b: 'db:5432' });
      ({ redis, admin, api, a1, a2, b1, ownCircuit, otherCircuit: victimCircuit, track } = tenants);
      // Something worth stealing: one entry in B's ring (its inbox already has the circuit.incoming notice).
      const victim = track(connectAsVm(redis.anonymousUrl, b1));
      await victim.xadd(victimKeys().ring, '*', 'data', 'tenant B secret');
      // B's port: a frame b1 sent (its tx) and one the switch delivered to it (its rx).
      await victim.xadd(PORT_KEYS.tx(b1.id), '*', PORT_ENTRY_FIELDS.frame, Buffer.from('tenant B frame out'));
      await admin.xadd(PORT_KEYS.rx(b1.id), '*', PORT_ENTRY_FIELDS.frame, Buffer.from('tenant B frame in'));
      attacker = track(connectAsVm(redis.anonymousUrl, a1));
      assert.equal(await attacker.ping(), 'PONG', "A's credentials work for A's own user");
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await tenants?.close();
  });

  async function assertNoPerm(what: string, command: Promise<unknown>): Promise<void> {
    const message = await redisError(command).catch((error: unknown) => {
      throw new Error(`${what} succeeded, but must be refused: ${String(error)}`);
    });
    assert.match(message, /NOPERM/, `${what}: ${message}`);
  }

  it("cannot read B's circuit keys or B's inbox", async () => {
    const { ctl, ring, inbox } = victimKeys();
    for (const key of [ring, inbox]) {
      await assertNoPerm(`XREAD ${key}`, attacker.xread('STREAMS', key, '0'));
      await assertNoPerm(`XRANGE ${key}`, attacker.xrange(key, '-', '+'));
      await assertNoPerm(`XLEN ${key}`, attacker.xlen(key));
    }
    await assertNoPerm('HGETALL ctl', attacker.hgetall(ctl));
    await assertNoPerm('HGET ctl', attacker.hget(ctl, CONTROL_FIELDS.mode));
    await assertNoPerm('EXISTS ctl', attacker.exists(ctl));
  });

  it("cannot write, trim or delete B's circuit keys or B's inbox, which stay intact", async () => {
    const { ctl, ring, inbox } = victimKeys();
    const inboxLength = await admin.xlen(inbox);
    for (const key of [ring, inbox]) {
      await assertNoPerm(`XADD ${key}`, attacker.xadd(key, '*', 'data', 'forged'));
      await assertNoPerm(`XTRIM ${key}`, attacker.xtrim(key, 'MAXLEN', 0));
      await assertNoPerm(`DEL ${key}`, attacker.del(key));
    }
    await assertNoPerm('HSET ctl', attacker.hset(ctl, CONTROL_FIELDS.vmB, a1.id));
    await assertNoPerm('DEL ctl', attacker.del(ctl));

    const entries = await admin.xrange(ring, '-', '+');
    assert.deepEqual(
      entries.map(([, fields]) => fields),
      [['data', 'tenant B secret']],
    );
    assert.equal(await admin.xlen(inbox), inboxLength);
    assert.equal(await admin.hget(ctl, CONTROL_FIELDS.vmB), victimCircuit.peer.vm);
  });

  it("cannot read, write, trim or delete B's port streams, which stay intact", async () => {
    const streams = { tx: PORT_KEYS.tx(b1.id), rx: PORT_KEYS.rx(b1.id) };
    for (const key of Object.values(streams)) {
      await assertNoPerm(`XREAD ${key}`, attacker.xread('STREAMS', key, '0'));
      await assertNoPerm(`XLEN ${key}`, attacker.xlen(key));
      // Injecting a frame into B's rx would bypass the switch and its VLANs; into B's tx, spoof B as a sender.
      await assertNoPerm(`XADD ${key}`, attacker.xadd(key, '*', PORT_ENTRY_FIELDS.frame, 'forged'));
      await assertNoPerm(`XTRIM ${key}`, attacker.xtrim(key, 'MAXLEN', 0));
      await assertNoPerm(`DEL ${key}`, attacker.del(key));
    }
    const frames = async (key: string): Promise<string[][]> =>
      (await admin.xrange(key, '-', '+')).map(([, fields]) => fields);
    assert.deepEqual(await frames(streams.tx), [[PORT_ENTRY_FIELDS.frame, 'tenant B frame out']]);
    assert.deepEqual(await frames(streams.rx), [[PORT_ENTRY_FIELDS.frame, 'tenant B frame in']]);
  });

  it('uses its own port streams: sends on its tx, reads and trims its rx', async () => {
    const tx = PORT_KEYS.tx(a1.id);
    const rx = PORT_KEYS.rx(a1.id);
    assert.ok(await attacker.xadd(tx, '*', PORT_ENTRY_FIELDS.frame, Buffer.from([0xde, 0xad])));
    assert.equal(await attacker.xlen(tx), 1);
    assert.deepEqual((await admin.xrangeBuffer(tx, '-', '+'))[0]?.[1][1], Buffer.from([0xde, 0xad]));
    const delivered = await admin.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, 'for a1');
    const read = (await attacker.xread('STREAMS', rx, '0')) ?? [];
    assert.deepEqual(read[0]?.[1], [[delivered, [PORT_ENTRY_FIELDS.frame, 'for a1']]]);
    assert.equal(await attacker.xtrim(rx, 'MINID', nextStreamId(delivered ?? '0-0')), 1);
    assert.equal(await admin.xlen(rx), 0);
  });

  it('cannot list keys', async () => {
    await assertNoPerm('KEYS', attacker.keys('*'));
    await assertNoPerm('SCAN', attacker.scan(0));
  });

  it("cannot read the operator's records or another VM's credentials hashes", async () => {
    await assertNoPerm('HGET registry record', attacker.hget(REDIS_KEYS.vm(b1.id), 'tokenHash'));
    await assertNoPerm('HGET own registry record', attacker.hget(REDIS_KEYS.vm(a1.id), 'aclPasswordHash'));
    await assertNoPerm('EXISTS circuit index', attacker.exists(REDIS_KEYS.circuitIndex));
  });

  it('cannot run admin commands', async () => {
    const keysBefore = await admin.dbsize();
    await assertNoPerm('FLUSHALL', attacker.flushall());
    await assertNoPerm('CONFIG GET', attacker.config('GET', '*'));
    await assertNoPerm('ACL LIST', attacker.call('ACL', 'LIST'));
    await assertNoPerm('ACL SETUSER', attacker.call('ACL', 'SETUSER', vmAclUser(a1.id), 'allkeys'));
    await assertNoPerm('SHUTDOWN', attacker.call('SHUTDOWN', 'NOSAVE'));
    // Redis refuses DEBUG for every user while enable-debug-command is off (the default), before it looks at the
    // ACL, so the reply is not NOPERM; ACL DRYRUN shows the ACL refuses it too, should that setting ever change.
    assert.match(await redisError(attacker.call('DEBUG', 'SLEEP', '0')), /NOPERM|DEBUG command not allowed/);
    assert.match(
      String(await admin.call('ACL', 'DRYRUN', vmAclUser(a1.id), 'DEBUG', 'SLEEP', '0')),
      /no permissions to run the 'debug' command/,
    );
    assert.equal(await admin.ping(), 'PONG', 'the server is still up');
    assert.equal(await admin.dbsize(), keysBefore, 'nothing was flushed');
  });

  it('uses its own circuit, and loses it when the circuit is torn down', async () => {
    const ctl = CIRCUIT_KEYS.control(ownCircuit.id);
    const outbound = CIRCUIT_KEYS.ring(ownCircuit.id, 'a2b');
    const peer = track(connectAsVm(redis.anonymousUrl, a2));
    await attacker.xadd(outbound, '*', 'data', 'hello a2');
    const read = (await peer.xread('STREAMS', outbound, '0')) ?? [];
    assert.deepEqual(read[0]?.[1][0]?.[1], ['data', 'hello a2']);
    assert.equal(await attacker.hget(ctl, CONTROL_FIELDS.vmB), a2.id);
    assert.equal((await attacker.xread('STREAMS', CIRCUIT_KEYS.ring(ownCircuit.id, 'b2a'), '0')) ?? null, null);

    const closed = await api.call('DELETE', `/circuits/${ownCircuit.id}`, { token: a1.credentials.token });
    assert.equal(closed.status, 204);
    // The same connection as before: revocation applies to open connections, not only to new ones.
    await assertNoPerm('XADD after teardown', attacker.xadd(outbound, '*', 'data', 'late'));
    await assertNoPerm('HGET after teardown', attacker.hget(ctl, CONTROL_FIELDS.vmB));
    await assertNoPerm('XREAD after teardown', peer.xread('STREAMS', outbound, '0'));
    assert.equal(
      await admin.exists(ctl, outbound, CIRCUIT_KEYS.ring(ownCircuit.id, 'b2a')),
      0,
      "the circuit's keys are gone",
    );
  });
});
