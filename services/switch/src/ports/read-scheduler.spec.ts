import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SwitchPort } from '../pipeline/switch-port';
import { ReadScheduler, type TenantUsage } from './read-scheduler';

const QUANTUM = 256;
const MAX_PER_PORT = 256;

/** A tenant's traffic for the simulation: its ports, what a frame of it costs, and how many frames each port offers. */
interface Load {
  ports: SwitchPort[];
  costPerFrame: number;
  /** Frames each port has waiting at the start of a round (Infinity: always backlogged). */
  offeredPerRound: number;
  /** Ports that never send (VMs that only receive). */
  silent?: SwitchPort[];
}

function portsOf(tenant: string, count: number, firstNo: number): SwitchPort[] {
  return Array.from({ length: count }, (_, i) => ({ no: firstNo + i, vm: `${tenant}-${i}`, tenant, vlan: firstNo }));
}

/**
 * Runs `rounds` rounds of the scheduler against tenants with the given loads, as the data path would: plan, read
 * what each port has up to its count, charge the work. Returns each tenant's total work and frames read.
 */
function simulate(
  loads: Record<string, Load>,
  rounds: number,
): Record<string, { work: number; frames: number; perRound: number[] }> {
  const scheduler = new ReadScheduler(QUANTUM, MAX_PER_PORT);
  const totals = Object.fromEntries(
    Object.keys(loads).map((t) => [t, { work: 0, frames: 0, perRound: [] as number[] }]),
  );
  const ports = Object.values(loads).flatMap((load) => load.ports);
  for (let round = 0; round < rounds; round++) {
    const usage = new Map<string, TenantUsage>();
    const plan = scheduler.plan(ports);
    assert.equal(plan.length, ports.length, 'every port is in every round (its tx bound is enforced there)');
    for (const [tenant, load] of Object.entries(loads)) {
      let frames = 0;
      let backlogged = false;
      for (const { port, count } of plan.filter((p) => p.port.tenant === tenant)) {
        const offered = load.silent?.includes(port) ? 0 : load.offeredPerRound;
        const read = Math.min(count, offered);
        scheduler.observe(port, offered === Infinity ? 8192 : offered);
        frames += read;
        backlogged ||= offered > read;
      }
      usage.set(tenant, { frames, cost: frames * load.costPerFrame, backlogged });
      totals[tenant].work += frames * load.costPerFrame;
      totals[tenant].frames += frames;
      totals[tenant].perRound.push(frames);
    }
    scheduler.charge(usage);
  }
  return totals;
}

describe('ReadScheduler: deficit round robin over tenants, then their ports', () => {
  it('gives two backlogged tenants equal work whatever their port counts and the fan-out of their frames', () => {
    // The storm: 16 VMs broadcasting (a frame read plus 15 copies), against one VM sending unicast (read plus 1).
    const totals = simulate(
      {
        storm: { ports: portsOf('storm', 16, 1), costPerFrame: 16, offeredPerRound: Infinity },
        victim: { ports: portsOf('victim', 1, 100), costPerFrame: 2, offeredPerRound: Infinity },
      },
      400,
    );
    const share = totals.victim.work / (totals.victim.work + totals.storm.work);
    assert.ok(share > 0.45 && share < 0.55, `the victim's share of the work was ${share.toFixed(3)}`);
  });

  it("keeps a tenant's share of the work the same when the other tenant has 2 or 16 ports", () => {
    const victimShare = (stormPorts: number): number => {
      const totals = simulate(
        {
          storm: { ports: portsOf('storm', stormPorts, 1), costPerFrame: 4, offeredPerRound: Infinity },
          victim: { ports: portsOf('victim', 2, 100), costPerFrame: 2, offeredPerRound: Infinity },
        },
        400,
      );
      return totals.victim.work / (totals.victim.work + totals.storm.work);
    };
    const ratio = victimShare(16) / victimShare(2);
    assert.ok(ratio > 0.9 && ratio < 1.1, `the victim's share with 16 storm ports over with 2: ${ratio.toFixed(3)}`);
  });

  it('serves all of a tenant that offers less than its share, every round, while another is backlogged', () => {
    const totals = simulate(
      {
        storm: { ports: portsOf('storm', 16, 1), costPerFrame: 16, offeredPerRound: Infinity },
        victim: { ports: portsOf('victim', 2, 100), costPerFrame: 2, offeredPerRound: 10 },
      },
      200,
    );
    // Round 1 spreads the victim's first credit over both ports; from then on it reads all 20 offered.
    assert.deepEqual(totals.victim.perRound.slice(1), new Array<number>(199).fill(20));
  });

  it("gives a tenant's share to its ports with frames waiting, one frame a round to a port that only receives", () => {
    // The isolation bench's victim: one VM sends, the other only receives. Split evenly, the sender would get 64
    // frames a round of the 128 its credit pays for (256 / 2 a frame), and fall behind once rounds are long.
    const victim = portsOf('victim', 2, 100);
    const totals = simulate(
      {
        storm: { ports: portsOf('storm', 16, 1), costPerFrame: 16, offeredPerRound: Infinity },
        victim: { ports: victim, silent: [victim[1]], costPerFrame: 2, offeredPerRound: 120 },
      },
      50,
    );
    // Round 1 knows nothing of the ports yet and splits evenly; from then on the sender reads all it offers.
    assert.deepEqual(totals.victim.perRound.slice(1), new Array<number>(49).fill(120));
  });

  it('gives a port that had nothing its share again from the round after it is found with frames', () => {
    const scheduler = new ReadScheduler(100, 1000);
    const [a, b] = portsOf('a', 2, 1);
    const countOf = (plan: { port: SwitchPort; count: number }[], port: SwitchPort): number =>
      plan.find((p) => p.port === port)?.count ?? -1;
    const charge = (frames: number): void =>
      scheduler.charge(new Map([['a', { frames, cost: frames, backlogged: true }]]));
    scheduler.plan([a, b]);
    scheduler.observe(a, 500);
    scheduler.observe(b, 0);
    charge(50);
    let plan = scheduler.plan([a, b]);
    assert.deepEqual([countOf(plan, a), countOf(plan, b)], [99, 1]);
    scheduler.observe(a, 500);
    scheduler.observe(b, 300);
    charge(100);
    plan = scheduler.plan([a, b]);
    assert.deepEqual([countOf(plan, a), countOf(plan, b)], [50, 50]);
  });

  it('splits a tenant evenly over its ports, the remainder rotating', () => {
    const totals = Object.fromEntries(portsOf('a', 3, 1).map((port) => [port.vm, 0] as [string, number])) as Record<
      string,
      number
    >;
    const scheduler = new ReadScheduler(10, 100);
    const ports = portsOf('a', 3, 1);
    for (let round = 0; round < 30; round++) {
      const plan = scheduler.plan(ports);
      for (const { port, count } of plan) totals[port.vm] += count;
      const frames = plan.reduce((sum, p) => sum + p.count, 0);
      scheduler.charge(new Map([['a', { frames, cost: frames, backlogged: true }]]));
    }
    assert.deepEqual(Object.values(totals), [100, 100, 100]);
  });

  it('banks no credit for an idle tenant: back from idle, it reads one quantum', () => {
    const scheduler = new ReadScheduler(QUANTUM, 10_000);
    const ports = portsOf('a', 1, 1);
    for (let round = 0; round < 50; round++) {
      scheduler.plan(ports);
      scheduler.charge(new Map([['a', { frames: 0, cost: 0, backlogged: false }]]));
    }
    assert.equal(scheduler.plan(ports)[0].count, QUANTUM);
  });

  it('reads nothing of a tenant in debt until it is repaid, and skips rounds when everyone is in debt', () => {
    const scheduler = new ReadScheduler(100, 1000);
    const a = portsOf('a', 1, 1);
    const b = portsOf('b', 1, 2);
    const count = (plan: { port: SwitchPort; count: number }[], tenant: string): number =>
      plan.find((p) => p.port.tenant === tenant)?.count ?? -1;
    let plan = scheduler.plan([...a, ...b]);
    // 100 frames of `a` turned out to cost 10 each (a broadcast): 900 in debt.
    scheduler.charge(
      new Map([
        ['a', { frames: 100, cost: 1000, backlogged: true }],
        ['b', { frames: 100, cost: 100, backlogged: true }],
      ]),
    );
    let roundsWithoutA = 0;
    for (;;) {
      plan = scheduler.plan([...a, ...b]);
      if (count(plan, 'a') > 0) break;
      roundsWithoutA += 1;
      scheduler.charge(new Map([['b', { frames: 100, cost: 100, backlogged: true }]]));
    }
    assert.equal(roundsWithoutA, 9);
    // Alone and in debt, `a` is read in the very next plan: the empty rounds are skipped.
    const alone = new ReadScheduler(100, 1000);
    alone.plan(a);
    alone.charge(new Map([['a', { frames: 100, cost: 5000, backlogged: true }]]));
    assert.ok(alone.plan(a)[0].count > 0);
  });

  it('gives a tenant with credit for one read only its port with frames waiting, round after round (issue 11)', () => {
    const scheduler = new ReadScheduler(1, MAX_PER_PORT);
    const [sending, receiving] = portsOf('packed', 2, 1);
    scheduler.observe(sending, 64);
    scheduler.observe(receiving, 0);
    for (let round = 0; round < 4; round++) {
      const plan = scheduler.plan([sending, receiving]);
      assert.deepEqual(
        plan.map(({ port, count }) => [port.vm, count]),
        [
          [sending.vm, 1],
          [receiving.vm, 0],
        ],
        `round ${round}`,
      );
      const usage: TenantUsage = { frames: 128, entries: 1, cost: 256, backlogged: true };
      scheduler.charge(new Map([['packed', usage]]));
    }
  });
});
