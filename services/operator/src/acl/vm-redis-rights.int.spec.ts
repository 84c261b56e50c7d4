import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestRedis } from '@tenantlab/lab';
import {
  CIRCUIT_KEYS,
  CircuitDatagramSocket,
  type CircuitDescriptor,
  CONTROL_FIELDS,
  nextStreamId,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  SWITCH_CONSUMER_GROUP,
  VM_KEYS,
  vmAclUser,
  vmCircuitConnections,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { connectAsVm, type OperatorApi, redisError, type TestVm, uniqueId } from '../testing/operator-harness';
import { startTwoTenants, type TwoTenants } from '../testing/two-tenants';

/** A command a VM might try on one key, as [name, the command's arguments]. */
type Attempt = [name: string, args: (string | number)[]];

/** What no VM may do to any key, its own included: delete, retype, rename, expire, inspect or re-group it. */
function destructive(key: string): Attempt[] {
  return [
    ['DEL', ['DEL', key]],
    ['UNLINK', ['UNLINK', key]],
    ['SET', ['SET', key, 'x']],
    ['HSET', ['HSET', key, 'f', 'x']],
    ['LPUSH', ['LPUSH', key, 'x']],
    ['RENAME', ['RENAME', key, `${key}:moved`]],
    ['RENAMENX', ['RENAMENX', key, `${key}:moved`]],
    ['COPY', ['COPY', key, `${key}:copy`]],
    ['EXPIRE', ['EXPIRE', key, 1]],
    ['PEXPIRE', ['PEXPIRE', key, 1]],
    ['PERSIST', ['PERSIST', key]],
    ['RESTORE', ['RESTORE', key, 0, 'x', 'REPLACE']],
    ['DUMP', ['DUMP', key]],
    ['TYPE', ['TYPE', key]],
    ['OBJECT ENCODING', ['OBJECT', 'ENCODING', key]],
    ['MEMORY USAGE', ['MEMORY', 'USAGE', key]],
    ['XDEL', ['XDEL', key, '0-1']],
    ['XSETID', ['XSETID', key, '99999999999999-0']],
    ['XGROUP CREATE', ['XGROUP', 'CREATE', key, 'mine', '$', 'MKSTREAM']],
    ['XGROUP DESTROY', ['XGROUP', 'DESTROY', key, SWITCH_CONSUMER_GROUP]],
    ['XGROUP SETID', ['XGROUP', 'SETID', key, SWITCH_CONSUMER_GROUP, '$']],
    ['XGROUP CREATECONSUMER', ['XGROUP', 'CREATECONSUMER', key, SWITCH_CONSUMER_GROUP, 'me']],
    ['XREADGROUP', ['XREADGROUP', 'GROUP', SWITCH_CONSUMER_GROUP, 'me', 'STREAMS', key, '>']],
    ['XACK', ['XACK', key, SWITCH_CONSUMER_GROUP, '0-1']],
    ['XCLAIM', ['XCLAIM', key, SWITCH_CONSUMER_GROUP, 'me', 0, '0-1']],
    ['XAUTOCLAIM', ['XAUTOCLAIM', key, SWITCH_CONSUMER_GROUP, 'me', 0, '0']],
    ['XINFO STREAM', ['XINFO', 'STREAM', key]],
    ['XRANGE', ['XRANGE', key, '-', '+']],
  ];
}

const xadd = (key: string): Attempt => ['XADD', ['XADD', key, '*', PORT_ENTRY_FIELDS.frame, 'forged']];
const xtrim = (key: string): Attempt => ['XTRIM', ['XTRIM', key, 'MAXLEN', 0]];
const xread = (key: string): Attempt => ['XREAD', ['XREAD', 'STREAMS', key, '0']];
const xlen = (key: string): Attempt => ['XLEN', ['XLEN', key]];
const hget = (key: string): Attempt => ['HGET', ['HGET', key, CONTROL_FIELDS.mode]];
const exists = (key: string): Attempt => ['EXISTS', ['EXISTS', key]];

/** Commands on no key of the VM's, or on the whole server. */
const SERVER_WIDE: Attempt[] = [
  ['KEYS', ['KEYS', '*']],
  ['SCAN', ['SCAN', 0]],
  ['RANDOMKEY', ['RANDOMKEY']],
  ['DBSIZE', ['DBSIZE']],
  ['FLUSHALL', ['FLUSHALL']],
  ['FLUSHDB', ['FLUSHDB']],
  ['SWAPDB', ['SWAPDB', 0, 1]],
  ['SELECT', ['SELECT', 1]],
  ['EVAL', ['EVAL', "return redis.call('FLUSHALL')", 0]],
  ['EVAL_RO', ['EVAL_RO', 'return 1', 0]],
  ['SCRIPT LOAD', ['SCRIPT', 'LOAD', 'return 1']],
  ['FUNCTION LOAD', ['FUNCTION', 'LOAD', "#!lua name=x\nredis.register_function('x', function() return 1 end)"]],
  ['FUNCTION LIST', ['FUNCTION', 'LIST']],
  ['FCALL', ['FCALL', 'x', 0]],
  ['CONFIG GET', ['CONFIG', 'GET', '*']],
  ['CONFIG SET', ['CONFIG', 'SET', 'maxmemory', '0']],
  ['ACL SETUSER', ['ACL', 'SETUSER', 'me', 'on', 'allkeys', '+@all']],
  ['ACL LIST', ['ACL', 'LIST']],
  ['CLIENT LIST', ['CLIENT', 'LIST']],
  ['CLIENT KILL', ['CLIENT', 'KILL', 'TYPE', 'normal']],
  ['CLIENT NO-EVICT', ['CLIENT', 'NO-EVICT', 'on']],
  ['INFO', ['INFO']],
  ['MEMORY STATS', ['MEMORY', 'STATS']],
  ['SLOWLOG', ['SLOWLOG', 'GET']],
  ['SHUTDOWN', ['SHUTDOWN', 'NOSAVE']],
  ['SAVE', ['SAVE']],
  ['BGREWRITEAOF', ['BGREWRITEAOF']],
  ['REPLICAOF', ['REPLICAOF', '127.0.0.1', 1]],
  ['MIGRATE', ['MIGRATE', '127.0.0.1', 1, '', 0, 1000, 'KEYS', 'x']],
  ['PUBLISH', ['PUBLISH', 'c', 'x']],
  ['SUBSCRIBE', ['SUBSCRIBE', 'c']],
  ['MULTI', ['MULTI']],
  ['WAIT', ['WAIT', 0, 0]],
  ['SET new key', ['SET', 'port:{anything}:tx:extra', 'x']],
  ['XADD new key', ['XADD', 'port:{anything}:other', '*', 'f', 'x']],
];

/**
 * A tenant VM holding its real ACL credentials (from its registration) tries dangerous commands on its own keys, on
 * a tenant-mate's and on another tenant's: each is refused with NOPERM, and the protocol's own commands still work.
 */
describe("A VM's exact Redis rights, with its real ACL credentials", () => {
  let tenants: TwoTenants | undefined;
  let redis: TestRedis;
  let admin: Redis;
  let api: OperatorApi;
  let a1: TestVm;
  let a2: TestVm;
  let b1: TestVm;
  let own: CircuitDescriptor;
  let other: CircuitDescriptor;
  let vm: Redis;
  let track: TwoTenants['track'];

  before(
    async () => {
      tenants = await startTwoTenants({ a: 'echo', b: 'db' }, { mode: 'datagram' });
      ({ redis, admin, api, a1, a2, b1, ownCircuit: own, otherCircuit: other, track } = tenants);
      // Something in every key, so a refused command would have had something to destroy.
      for (const id of [a1.id, a2.id, b1.id]) {
        await admin.xadd(PORT_KEYS.tx(id), '*', PORT_ENTRY_FIELDS.frame, 'out');
        await admin.xadd(PORT_KEYS.rx(id), '*', PORT_ENTRY_FIELDS.frame, 'in');
      }
      vm = track(connectAsVm(redis.anonymousUrl, a1));
      assert.equal(await vm.ping(), 'PONG');
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await tenants?.close();
  });

  /** Runs each attempt as the VM; returns those that were not refused with NOPERM. */
  async function notRefused(attempts: Attempt[]): Promise<string[]> {
    const allowed: string[] = [];
    for (const [name, [command, ...args]] of attempts) {
      const message = await redisError(vm.call(String(command), ...args)).catch(() => 'succeeded');
      if (!/NOPERM/.test(message)) allowed.push(`${name} ${String(args[0] ?? '')}: ${message}`);
    }
    return allowed;
  }

  it("creates the VM's tx, rx and inbox as streams at registration, with the switch's group on tx", async () => {
    const vmId = uniqueId('vm-fresh');
    await api.register(vmId, a1.tenant);
    for (const key of [PORT_KEYS.tx(vmId), PORT_KEYS.rx(vmId), VM_KEYS.inbox(vmId)]) {
      assert.equal(await admin.type(key), 'stream', key);
      assert.equal(await admin.xlen(key), 0, key);
    }
    const groups = (await admin.xinfo('GROUPS', PORT_KEYS.tx(vmId))) as unknown[][];
    assert.deepEqual(
      groups.map((group) => group[1]),
      [SWITCH_CONSUMER_GROUP],
    );
  });

  it('refuses every destructive command on its own keys, those it writes and those it reads', async () => {
    const writes = [PORT_KEYS.tx(a1.id), CIRCUIT_KEYS.ring(own.id, 'a2b')];
    const reads = [PORT_KEYS.rx(a1.id), VM_KEYS.inbox(a1.id), CIRCUIT_KEYS.ring(own.id, 'b2a')];
    const control = CIRCUIT_KEYS.control(own.id);
    const attempts: Attempt[] = [
      ...writes.flatMap((key) => [...destructive(key), xtrim(key), xread(key)]),
      ...reads.flatMap((key) => [...destructive(key), xadd(key)]),
      ...destructive(control),
      xadd(control),
    ];
    assert.deepEqual(await notRefused(attempts), []);
  });

  it("refuses everything on a tenant-mate's keys and on another tenant's", async () => {
    const keys = [
      ...[a2.id, b1.id].flatMap((id) => [PORT_KEYS.tx(id), PORT_KEYS.rx(id), VM_KEYS.inbox(id)]),
      CIRCUIT_KEYS.control(other.id),
      CIRCUIT_KEYS.ring(other.id, 'a2b'),
      CIRCUIT_KEYS.ring(other.id, 'b2a'),
    ];
    const attempts = keys.flatMap((key) => [
      ...destructive(key),
      xadd(key),
      xtrim(key),
      xread(key),
      xlen(key),
      hget(key),
      exists(key),
    ]);
    assert.deepEqual(await notRefused(attempts), []);
  });

  it('refuses server-wide commands, and DEBUG by its ACL too', async () => {
    assert.deepEqual(await notRefused(SERVER_WIDE), []);
    // DEBUG is refused for everyone while enable-debug-command is off, before the ACL is looked at; the ACL
    // refuses it as well, should that setting ever change.
    assert.match(await redisError(vm.call('DEBUG', 'SLEEP', '0')), /NOPERM|DEBUG command not allowed/);
    assert.match(
      String(await admin.call('ACL', 'DRYRUN', vmAclUser(a1.id), 'DEBUG', 'SLEEP', '0')),
      /no permissions to run the 'debug' command/,
    );
  });

  it('left every key as it was: streams, their entries, the switch group', async () => {
    for (const id of [a1.id, a2.id, b1.id]) {
      assert.equal(await admin.type(PORT_KEYS.tx(id)), 'stream');
      assert.equal(await admin.xlen(PORT_KEYS.tx(id)), 1);
      assert.equal(await admin.xlen(PORT_KEYS.rx(id)), 1);
      const groups = (await admin.xinfo('GROUPS', PORT_KEYS.tx(id))) as unknown[][];
      assert.equal(groups[0]?.[1], SWITCH_CONSUMER_GROUP);
    }
    assert.equal(await admin.hget(CIRCUIT_KEYS.control(other.id), CONTROL_FIELDS.vmA), b1.id);
  });

  it("still runs the protocol's own commands: vNIC send and receive, inbox, and a circuit both ways", async () => {
    const tx = PORT_KEYS.tx(a1.id);
    const rx = PORT_KEYS.rx(a1.id);
    const sent = await vm.xadd(tx, '*', PORT_ENTRY_FIELDS.frame, 'frame');
    assert.ok(sent);
    assert.equal(await vm.xlen(tx), 2);
    const received = (await vm.xread('COUNT', 10, 'STREAMS', rx, '0')) ?? [];
    const lastRx = received[0]?.[1].at(-1)?.[0] ?? '';
    assert.equal(await vm.xtrim(rx, 'MINID', nextStreamId(lastRx)), 1);
    const inbox = VM_KEYS.inbox(a1.id);
    assert.deepEqual((await vm.xread('STREAMS', inbox, '0')) ?? null, null);
    assert.equal(await vm.xtrim(inbox, 'MINID', '0-1'), 0);
    assert.equal(await vm.client('SETNAME', 'rights-test'), 'OK');

    const open = (descriptor: CircuitDescriptor, holder: TestVm): CircuitDatagramSocket => {
      const base = vmCircuitConnections(
        redis.anonymousUrl,
        { username: holder.credentials.redisUsername, password: holder.credentials.redisPassword },
        holder.id,
      );
      track(base.commands);
      return new CircuitDatagramSocket(descriptor, {
        commands: base.commands,
        openBlocking: () => track(base.openBlocking()),
      });
    };
    const side = open(own, a1);
    const peer = open({ ...own, side: 'b', local: own.peer, peer: own.local }, a2);
    const echoed = new Promise<Buffer>((resolve) => side.once('message', (data) => resolve(data)));
    peer.on('message', (data) => void peer.send(Buffer.concat([Buffer.from('echo '), data])));
    // Larger than one entry: fragments, and more than the ring's credit per batch would allow without acks.
    const big = Buffer.alloc(300 * 1024, 7);
    await side.send(big);
    const reply = await echoed;
    assert.equal(reply.length, big.length + 5);
    assert.equal(await vm.exists(CIRCUIT_KEYS.control(own.id)), 1);
    assert.equal(await vm.hget(CIRCUIT_KEYS.control(own.id), CONTROL_FIELDS.vmB), a2.id);
    side.destroy();
    peer.destroy();
  });

  it('deletes the keys of a deregistered VM, and its id starts empty when registered again', async () => {
    const leaving = await api.register(uniqueId('vm-leaving'), a1.tenant);
    const keys = [PORT_KEYS.tx(leaving.id), PORT_KEYS.rx(leaving.id), VM_KEYS.inbox(leaving.id)];
    const leaver = track(connectAsVm(redis.anonymousUrl, leaving));
    await leaver.xadd(keys[0], '*', PORT_ENTRY_FIELDS.frame, 'left behind');
    await admin.xadd(keys[1], '*', PORT_ENTRY_FIELDS.frame, 'undelivered');
    const gone = await api.call('DELETE', `/vms/${leaving.id}`, { token: leaving.credentials.token });
    assert.equal(gone.status, 204);
    assert.equal(await admin.exists(...keys), 0);
    await api.register(leaving.id, a1.tenant);
    for (const key of keys) assert.equal(await admin.xlen(key), 0, key);
  });
});
