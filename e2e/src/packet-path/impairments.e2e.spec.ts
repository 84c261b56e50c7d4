import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labDataDir, type LabState, OPERATOR_ADMIN_TOKEN_SECRET, readLabSecret, type TestLab } from '@tenantlab/lab';
import { type ImpairmentSpec, type ImpairmentView, requestJson } from '@tenantlab/shared';
import { E2E_PROFILE, eventually, labAdminRequest, REPO_ROOT, startE2eLab, urlOf } from '../lab-process';

/** Frames per measurement: the 10 000. */
const FRAMES = 10_000;
/** Slow enough for this shared 2-core machine to carry without queueing, so latency is the path's, not a backlog's. */
const RATE_PPS = 2_000;

interface Received {
  bySource: Record<string, { received: number; duplicates: number }>;
  latencyUs: { samples: number; p50: number | null; p99: number | null };
}

interface Dataplane {
  counters: {
    ports: Record<string, { drops: Record<string, number> }>;
    tenants: Record<string, { drops: Record<string, number> }>;
  };
}

interface Run {
  sent: number;
  received: number;
  p50Us: number;
  impairedLoss: number;
}

/**
 * Port impairments on the real lab, measured the way a user would: vm-a1 sends 10 000 frames to vm-a2 with the traffic
 * workload, vm-a2's receiver measures one-way latency and counts arrivals, and the impairment is set on vm-a2's port
 * through the operator's admin API (the route scenario timelines use).
 */
describe("a VM's port impaired by the switch, measured on the lab", () => {
  let lab: TestLab;
  let state: LabState;
  let a1: string;
  let a2: string;
  let a1Ipv4: string;
  let baseline: Run;

  const operatorAdmin = (): { authorization: string } => ({
    authorization: `Bearer ${readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), OPERATOR_ADMIN_TOKEN_SECRET) ?? ''}`,
  });
  const impair = async (spec: ImpairmentSpec | undefined): Promise<void> => {
    const url = `${urlOf(state, 'operator')}/vms/vm-a2/impairment`;
    const { status, body } = await requestJson<ImpairmentView>(
      spec ? 'PUT' : 'DELETE',
      url,
      spec,
      10_000,
      operatorAdmin(),
    );
    assert.equal(status, 200, JSON.stringify(body));
  };
  const impairedLoss = async (): Promise<number> => {
    const { body } = await labAdminRequest<Dataplane>('GET', `${urlOf(state, 'switch')}/dataplane`);
    return body.counters.ports['vm-a1']?.drops['impaired-loss'] ?? 0;
  };

  /** One measurement: FRAMES frames a1 -> a2 at RATE_PPS, waited for until each arrived or was counted lost. */
  const measure = async (): Promise<Run> => {
    assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
    const lossBefore = await impairedLoss();
    const generated = await requestJson<{ sent: number }>(
      'POST',
      `${a1}/traffic/generate`,
      { to: ['vm-a2'], protocol: 'udp', count: FRAMES, size: 128, ratePps: RATE_PPS, seed: 1 },
      60_000,
    );
    assert.equal(generated.status, 201, JSON.stringify(generated.body));
    const { sent } = generated.body;
    return eventually(`all ${sent} frames received or counted lost`, 30_000, async () => {
      const { body } = await requestJson<Received>('GET', `${a2}/traffic/received`);
      const received = body.bySource[a1Ipv4]?.received ?? 0;
      const lost = (await impairedLoss()) - lossBefore;
      if (received + lost < sent) return undefined;
      assert.equal(body.bySource[a1Ipv4]?.duplicates, 0, 'no frame twice');
      return { sent, received, p50Us: body.latencyUs.p50 ?? NaN, impairedLoss: lost };
    });
  };

  before(async () => {
    lab = await startE2eLab();
    state = lab.state;
    a1 = urlOf(state, 'vm-a1');
    a2 = urlOf(state, 'vm-a2');
    a1Ipv4 = (await requestJson<{ ipv4: string }>('GET', `${a1}/vnic`)).body.ipv4;
    // The switch learns vm-a2's MAC from a frame of its own, so the runs below are unicast from their first frame.
    await requestJson('POST', `${a2}/traffic/generate`, { to: ['vm-a1'], protocol: 'udp', count: 10, size: 128 });
    baseline = await measure();
    console.log(`# baseline: ${JSON.stringify(baseline)}`);
    assert.equal(baseline.received, baseline.sent, 'no loss without an impairment');
  });

  after(async () => {
    await lab?.stop();
  });

  it('shifts the p50 latency by 5 ms (within 10%) over 10 000 frames for a 5 ms delay', async (t) => {
    await impair({ delayMs: 5 });
    const delayed = await measure();
    const shiftUs = delayed.p50Us - baseline.p50Us;
    t.diagnostic(`delayed: ${JSON.stringify(delayed)}; p50 shift ${shiftUs} µs`);
    assert.equal(delayed.received, delayed.sent, 'a delay loses nothing');
    assert.ok(Math.abs(shiftUs - 5000) <= 500, `p50 shift ${shiftUs} µs, expected 5000 ± 500`);
  });

  it('loses 1% of 10 000 frames, within 3 standard deviations, each counted as impaired-loss', async (t) => {
    await impair({ lossRate: 0.01, seed: 12 });
    const lossy = await measure();
    const lost = lossy.sent - lossy.received;
    const p = 0.01;
    const sd = Math.sqrt(lossy.sent * p * (1 - p));
    t.diagnostic(`lossy: ${JSON.stringify(lossy)}; expected ${lossy.sent * p} ± ${(3 * sd).toFixed(1)}`);
    assert.ok(Math.abs(lost - lossy.sent * p) <= 3 * sd, `lost ${lost} of ${lossy.sent}`);
    assert.equal(lossy.impairedLoss, lost, 'every lost frame counted under impaired-loss at its sender');
    const { body } = await requestJson<ImpairmentView>(
      'GET',
      `${urlOf(state, 'operator')}/vms/vm-a2/impairment`,
      undefined,
      10_000,
      operatorAdmin(),
    );
    assert.deepEqual(body.impairment, { lossRate: 0.01, seed: 12 });
    assert.equal(body.counts.lost, lost);
  });

  it('restores the baseline once removed: nothing held, no loss, the p50 back near it', async (t) => {
    await impair(undefined);
    const restored = await measure();
    t.diagnostic(`restored: ${JSON.stringify(restored)}; baseline p50 ${baseline.p50Us} µs`);
    assert.equal(restored.received, restored.sent);
    assert.equal(restored.impairedLoss, 0);
    assert.ok(
      Math.abs(restored.p50Us - baseline.p50Us) <= 500,
      `p50 ${restored.p50Us} µs, baseline ${baseline.p50Us} µs`,
    );
    const { body } = await labAdminRequest<ImpairmentView>('GET', `${urlOf(state, 'switch')}/ports/vm-a2/impairment`);
    assert.equal(body.impairment, null);
  });
});
