import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cpuGroupOf, isProcessAlive, labDataDir, LabState, type TestLab, VM_NICE } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
import { startE2eLab, E2E_PROFILE, eventually, LAB_CLI, labAdminRequest, REPO_ROOT, urlOf } from './lab-process';

interface VnicView {
  ipv4: string;
  sent: { frames: number; unknownOutcome: number };
  received: { frames: number };
  lostInStore: {
    ledgers: number;
    tx: number;
    rx: number;
    unknownOutcome: { tx: number; atSwitch: number; rx: number };
  };
}

interface StatusRow {
  name: string;
  pid: number;
  ready: boolean;
  restarts?: number;
}

/** The nice values of a process's threads (each thread has its own), from /proc/<pid>/task/<tid>/stat, distinct. */
function threadNices(pid: number): number[] {
  const nices = readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command's ')': state is field 3, nice field 19.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
  return [...new Set(nices)].sort((a, b) => a - b);
}

/** What happens to a running lab when its parts crash. Its own bring-up: the tests here kill things. */
describe('the lab supervises its components', () => {
  let lab: TestLab;
  let state: LabState;

  before(async () => {
    lab = await startE2eLab();
    state = lab.state;
  });

  after(async () => {
    await lab?.stop();
  });

  it('starts a killed service, VM and Jaeger again, counts it in `status`, and the rest runs on untouched', async () => {
    const victims = ['telemetry', 'vm-a2', 'jaeger'];
    const pidOf = (name: string): number => state.components.find((c) => c.name === name)?.pid ?? 0;
    const bystanders = state.components.filter((c) => !victims.includes(c.name));
    for (const name of victims) process.kill(pidOf(name), 'SIGKILL');

    const rows = await eventually('each killed component running again and ready', 120_000, async () => {
      const status = await labStatus();
      const restarted = victims.map((name) => status.find((row) => row.name === name));
      return restarted.every((row) => row?.ready && row.restarts === 1 && row.pid !== pidOf(row.name))
        ? status
        : undefined;
    });
    for (const component of bystanders) {
      const row = rows.find((r) => r.name === component.name);
      assert.equal(row?.pid, component.pid, `${component.name} kept its process`);
      assert.equal(row?.restarts ?? 0, 0, `${component.name} was not restarted`);
      assert.ok(isProcessAlive(component.pid), `${component.name} is alive`);
    }
    assert.ok(isProcessAlive(lab.runner!.pid), 'the lab runner goes on');
    // Tenant VMs run below the shared services, every thread of theirs, a restarted VM's too (vm-priority.ts), and
    // so does the OTLP relay, which works only for them.
    for (const row of rows) {
      const kind = state.components.find((c) => c.name === row.name)?.kind;
      const nice = kind === 'vm' || kind === 'relay' ? VM_NICE : 0;
      assert.deepEqual(threadNices(row.pid), [nice], `${row.name}'s threads' nice values`);
    }

    // And each in its tenant's CPU group (tenant-cpu-groups.ts), so a tenant's CPU weight is not its VM count.
    const vms = await labAdminRequest<{ vms: { id: string; tenant: string; alive: boolean }[] }>(
      'GET',
      `${urlOf(state, 'operator')}/vms`,
    );
    for (const row of rows.filter((r) => state.components.find((c) => c.name === r.name)?.kind === 'vm')) {
      const tenant = vms.body.vms.find((vm) => vm.id === row.name)?.tenant;
      assert.equal(cpuGroupOf(row.pid), `/tenantlab-${E2E_PROFILE}/${tenant}`, `${row.name}'s CPU group`);
    }

    // The restarted VM registered again and carries a circuit's traffic.
    assert.equal(vms.body.vms.find((vm) => vm.id === 'vm-a2')?.alive, true);
    const restartedA2 = rows.find((row) => row.name === 'vm-a2')!;
    assert.equal(
      (await requestJson('POST', `${urlOf(state, 'vm-a2')}/workloads/echo`, { service: 'echo' })).status,
      201,
    );
    const sent = await requestJson<{ verified: boolean; problem?: string }>(
      'POST',
      `${urlOf(state, 'vm-a1')}/workloads/send`,
      { target: 'vm-a2/echo', mode: 'datagram', count: 50, size: 256 },
      60_000,
    );
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.verified, true, sent.body.problem);
    assert.ok(isProcessAlive(restartedA2.pid));

    // The crashed run's log is kept above the new one's.
    const log = readFileSync(join(labDataDir(REPO_ROOT, E2E_PROFILE), 'logs', 'telemetry.log'), 'utf8');
    assert.ok(log.split('listening on').length - 1 >= 2, 'telemetry.log holds both runs');
    assert.match(lab.runner!.output.join(''), /telemetry was killed by SIGKILL; starting it again in/);
  });
  it('converges by itself after Redis restarts empty: VMs register and listen again, circuits and frames flow', async () => {
    const redisPid = state.components.find((c) => c.name === 'redis')?.pid ?? 0;
    const operator = urlOf(state, 'operator');
    const vmNames = state.components.filter((c) => c.kind === 'vm').map((c) => c.name);
    process.kill(redisPid, 'SIGKILL');

    await eventually('every VM registered and alive again in an empty Redis', 30_000, async () => {
      const { status, body } = await labAdminRequest<{ vms: { id: string; alive: boolean }[] }>(
        'GET',
        `${operator}/vms`,
      );
      return status === 200 && vmNames.every((vm) => body.vms.some((v) => v.id === vm && v.alive)) ? true : undefined;
    });
    // vm-a2 listened on echo before Redis lost its listeners: it announces it again without being asked.
    const echoed = await eventually('a verified echo to vm-a2 over a new circuit', 30_000, async () => {
      const sent = await requestJson<{ verified: boolean }>(
        'POST',
        `${urlOf(state, 'vm-a1')}/workloads/send`,
        { target: 'vm-a2/echo', mode: 'datagram', count: 20, size: 64 },
        20_000,
      );
      return sent.status === 201 && sent.body.verified ? sent.body : undefined;
    });
    assert.equal(echoed.verified, true);
    const a2 = urlOf(state, 'vm-a2');
    assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
    const frames = await eventually('frames from vm-a1 through the switch to vm-a2 again', 30_000, async () => {
      await requestJson('POST', `${urlOf(state, 'vm-a1')}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count: 10,
        size: 128,
      });
      const { body } = await requestJson<{ total: number }>('GET', `${a2}/traffic/received`);
      return body.total > 0 ? body.total : undefined;
    });
    assert.ok(frames > 0);
    // The operator and the switch say `degraded` until their next look finds every VM back (each looks on its own
    // clock, a second or so apart), so readiness is waited for; the degraded reasons are in the message if it never is.
    let last: StatusRow[] = [];
    await eventually('every component ready again', 30_000, async () =>
      (last = await labStatus()).every((row) => row.ready) ? true : undefined,
    ).catch((error: unknown) => assert.fail(`${String(error)}; last status: ${JSON.stringify(last)}`));
    assert.equal(last.find((row) => row.name === 'redis')?.restarts, 1);
  });
  it('accounts for every frame of a flow across a Redis SIGKILL: received once, or counted by a drop or the ledger', async (t) => {
    const a1 = urlOf(state, 'vm-a1');
    const a2 = urlOf(state, 'vm-a2');
    const vnic = async (url: string): Promise<VnicView> => (await requestJson<VnicView>('GET', `${url}/vnic`)).body;
    const drops = async (): Promise<number> => {
      const { body } = await labAdminRequest<{
        counters: { ports: Record<string, { drops: Record<string, number> }> };
      }>('GET', `${urlOf(state, 'switch')}/dataplane`);
      return Object.values(body.counters.ports['vm-a1']?.drops ?? {}).reduce((sum, n) => sum + n, 0);
    };
    // Everything counted from here on: deltas, since the tests before sent frames and restarted Redis too.
    const [a1Before, a2Before, dropsBefore] = await Promise.all([vnic(a1), vnic(a2), drops()]);
    assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
    const fromA1 = async (): Promise<{ received: number; duplicates: number }> => {
      const { body } = await requestJson<{ bySource: Record<string, { received: number; duplicates: number }> }>(
        'GET',
        `${a2}/traffic/received`,
      );
      return body.bySource[a1Before.ipv4] ?? { received: 0, duplicates: 0 };
    };

    // Unicast, as fast as the vNIC takes it, and far more frames than get through before the kill: Redis dies with
    // the flow running, so frames wait in tx and rx and a round trip is in flight. The run is cut short when its
    // store goes away (a send error ends it). Redis's pid is looked up first: the kill must follow the condition.
    const count = 500_000;
    const redisPid = (await labStatus()).find((row) => row.name === 'redis')?.pid ?? 0;
    let flowEnded = false;
    const generating = requestJson<{ sent?: number }>(
      'POST',
      `${a1}/traffic/generate`,
      { to: ['vm-a2'], protocol: 'udp', count, size: 128 },
      60_000,
    )
      .catch(() => undefined)
      .finally(() => (flowEnded = true));
    await eventually('frames from vm-a1 arriving at vm-a2', 30_000, async () =>
      (await fromA1()).received >= 2_000 || flowEnded ? true : undefined,
    );
    assert.equal(flowEnded, false, 'the flow was still running when Redis was killed');
    process.kill(redisPid, 'SIGKILL');
    const generated = await generating;
    assert.ok(
      generated?.status !== 201 || (generated.body.sent ?? 0) < count,
      `the kill cut the flow short: ${JSON.stringify(generated?.body)}`,
    );

    const balance = async () => {
      const [a1Now, a2Now, dropsNow, got] = await Promise.all([vnic(a1), vnic(a2), drops(), fromA1()]);
      const delta = (now: VnicView, before: VnicView, pick: (v: VnicView) => number): number =>
        pick(now) - pick(before);
      const sent = {
        confirmed: delta(a1Now, a1Before, (v) => v.sent.frames),
        unknownOutcome: delta(a1Now, a1Before, (v) => v.sent.unknownOutcome),
      };
      const lost = {
        switchDrops: dropsNow - dropsBefore,
        tx: delta(a1Now, a1Before, (v) => v.lostInStore.tx),
        unknownTx: delta(a1Now, a1Before, (v) => v.lostInStore.unknownOutcome.tx),
        atSwitch: delta(a1Now, a1Before, (v) => v.lostInStore.unknownOutcome.atSwitch),
        rx: delta(a2Now, a2Before, (v) => v.lostInStore.rx),
        unknownRx: delta(a2Now, a2Before, (v) => v.lostInStore.unknownOutcome.rx),
      };
      const ledgers = [
        delta(a1Now, a1Before, (v) => v.lostInStore.ledgers),
        delta(a2Now, a2Before, (v) => v.lostInStore.ledgers),
      ];
      return {
        sent: sent.confirmed + sent.unknownOutcome,
        received: got.received,
        duplicates: got.duplicates,
        counted: Object.values(lost).reduce((sum, n) => sum + n, 0),
        ledgers,
        sentBy: sent,
        lost,
        // What vm-a2's vNIC read from rx (from vm-a1 alone here): the ledger compares it with what the switch wrote.
        readByA2Vnic: delta(a2Now, a2Before, (v) => v.received.frames),
      };
    };
    // Converged: both vNICs read the switch's ledger entry for the store that was lost, and nothing is unaccounted.
    const settled = await eventually('every frame of the flow received or counted', 30_000, async () => {
      const b = await balance();
      return b.ledgers.every((n) => n >= 1) && b.received + b.counted >= b.sent ? b : undefined;
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await balance())}`);
    });
    t.diagnostic(`balance: ${JSON.stringify(settled)}`);
    assert.ok(settled.sent > 500, `vm-a1 sent frames before the fault: ${JSON.stringify(settled)}`);
    assert.equal(settled.duplicates, 0, 'no frame received twice');
    assert.equal(settled.received + settled.counted, settled.sent, JSON.stringify(settled));
  });
});

async function labStatus(): Promise<StatusRow[]> {
  const child = spawn(process.execPath, [LAB_CLI, 'status', '--json', '--profile', E2E_PROFILE], { cwd: REPO_ROOT });
  const out: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  await new Promise((done) => child.once('close', done));
  return (JSON.parse(out.join('')) as { components: StatusRow[] }).components;
}
