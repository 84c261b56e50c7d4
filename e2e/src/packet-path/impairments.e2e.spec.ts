import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labDataDir, type LabState, OPERATOR_ADMIN_TOKEN_SECRET, readLabSecret, type TestLab } from '@tenantlab/lab';
import { type ImpairmentSpec, type ImpairmentView, requestJson } from '@tenantlab/shared';
import { E2E_PROFILE, eventually, labAdminRequest, REPO_ROOT, startE2eLab, urlOf } from '../lab-process';

/** Frames per destination and measurement: the 10 000. */
const FRAMES = 10_000;
/** Frames per second from vm-a1, both destinations together. */
const RATE_PPS = 2_000;

interface Received {
  bySource: Record<string, { received: number; duplicates: number }>;
  latencyUs: { samples: number; p50: number | null; p99: number | null };
  rejected: Record<string, number>;
}

interface Dataplane {
  counters: { ports: Record<string, { drops: Record<string, number> }> };
  impairments: { releaseLeadMs: number };
}

/** One destination's part of a measurement. */
interface Arrivals {
  received: number;
  p50Us: number;
}

interface Run {
  sent: number;
  /** vm-a2, the impaired port, and vm-a3, the control. */
  impaired: Arrivals;
  control: Arrivals;
  impairedLoss: number;
}

/**
 * Port impairments on the real lab, measured as a user would: vm-a1's traffic workload sends 2 x 10 000 frames,
 * alternating between vm-a2 (whose port is impaired through the operator's admin API, the route scenario timelines
 * use) and vm-a3 (never impaired), and each receiver measures one-way latency and counts arrivals. The shift is
 * vm-a2's p50 against vm-a3's in the same run: the frames of both share their batches, the sender and the switch, so
 * the machine's load (this one is shared by several labs) moves both alike, where two runs one after the other can
 * differ by tens of milliseconds.
 */
describe("a VM's port impaired by the switch, measured on the lab", () => {
  let lab: TestLab;
  let state: LabState;
  let a1Ipv4: string;
  let baseline: Run;

  const operatorAdmin = (): { authorization: string } => ({
    authorization: `Bearer ${readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), OPERATOR_ADMIN_TOKEN_SECRET) ?? ''}`,
  });
  const impair = async (spec: ImpairmentSpec | undefined): Promise<void> => {
    const url = `${urlOf(state, 'operator')}/vms/vm-a2/impairment`;
    const answer = await requestJson<ImpairmentView>(spec ? 'PUT' : 'DELETE', url, spec, 10_000, operatorAdmin());
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };
  const dropsOfA1 = async (): Promise<Record<string, number>> => {
    const { body } = await labAdminRequest<Dataplane>('GET', `${urlOf(state, 'switch')}/dataplane`);
    return body.counters.ports['vm-a1']?.drops ?? {};
  };
  const impairedLoss = async (): Promise<number> => (await dropsOfA1())['impaired-loss'] ?? 0;
  const arrivals = async (vm: string): Promise<Arrivals & { duplicates: number }> => {
    const { body } = await requestJson<Received>('GET', `${urlOf(state, vm)}/traffic/received`);
    const from = body.bySource[a1Ipv4];
    return { received: from?.received ?? 0, duplicates: from?.duplicates ?? 0, p50Us: body.latencyUs.p50 ?? NaN };
  };

  const rejectedBy = async (vm: string): Promise<Record<string, number>> =>
    (await requestJson<Received>('GET', `${urlOf(state, vm)}/traffic/received`)).body.rejected;

  /** One measurement, waited for until every frame arrived or was counted lost. */
  const measure = async (): Promise<Run> => {
    for (const vm of ['vm-a2', 'vm-a3']) {
      assert.equal((await requestJson('DELETE', `${urlOf(state, vm)}/traffic/received`)).status, 204);
    }
    const lossBefore = await impairedLoss();
    const generated = await requestJson<{ sent: number }>(
      'POST',
      `${urlOf(state, 'vm-a1')}/traffic/generate`,
      { to: ['vm-a2', 'vm-a3'], protocol: 'udp', count: 2 * FRAMES, size: 128, ratePps: RATE_PPS, flows: 2 },
      120_000,
    );
    assert.equal(generated.status, 201, JSON.stringify(generated.body));
    const { sent } = generated.body;
    let seen = '';
    return eventually(`all ${sent} frames received or counted lost`, 30_000, async () => {
      const [impaired, control, lost] = await Promise.all([
        arrivals('vm-a2'),
        arrivals('vm-a3'),
        impairedLoss().then((n) => n - lossBefore),
      ]);
      // Shown when the wait times out: where frames went that neither arrived nor were lost to the impairment.
      const [drops, rejectedA2, rejectedA3] = await Promise.all([
        dropsOfA1(),
        rejectedBy('vm-a2'),
        rejectedBy('vm-a3'),
      ]);
      seen = JSON.stringify({
        sent,
        impaired,
        control,
        lost,
        drops,
        rejected: { 'vm-a2': rejectedA2, 'vm-a3': rejectedA3 },
      });
      if (impaired.received + control.received + lost < sent) return undefined;
      assert.equal(impaired.duplicates + control.duplicates, 0, 'no frame twice');
      return { sent, impaired, control, impairedLoss: lost };
    }).catch((error: Error) => {
      throw new Error(`${error.message}; last seen: ${seen}`);
    });
  };
  const shiftOf = (run: Run): number => run.impaired.p50Us - run.control.p50Us;

  before(async () => {
    lab = await startE2eLab({ labFile: 'e2e/labs/impairments.json' });
    state = lab.state;
    a1Ipv4 = (await requestJson<{ ipv4: string }>('GET', `${urlOf(state, 'vm-a1')}/vnic`)).body.ipv4;
    // Frames from vm-a2 and vm-a3 to vm-a1: once vm-a1 has them all, the switch has every port attached (and with it
    // each VM's address), so the runs below are unicast from their first frame.
    const learnedFrom: string[] = [];
    for (const vm of ['vm-a2', 'vm-a3']) {
      learnedFrom.push((await requestJson<{ ipv4: string }>('GET', `${urlOf(state, vm)}/vnic`)).body.ipv4);
      await requestJson('POST', `${urlOf(state, vm)}/traffic/generate`, {
        to: ['vm-a1'],
        protocol: 'udp',
        count: 10,
        size: 128,
      });
    }
    await eventually('vm-a1 has the learning frames of vm-a2 and vm-a3', 10_000, async () => {
      const { body } = await requestJson<Received>('GET', `${urlOf(state, 'vm-a1')}/traffic/received`);
      return learnedFrom.every((ip) => body.bySource[ip]?.received === 10) ? true : undefined;
    });
    baseline = await measure();
    console.log(`# baseline: ${JSON.stringify(baseline)}`);
    assert.equal(baseline.impaired.received, FRAMES, 'no loss without an impairment');
  });

  after(async () => {
    await lab?.stop();
  });

  it('shifts the p50 latency by 5 ms (within 10%) over 10 000 frames for a 5 ms delay', async (t) => {
    await impair({ delayMs: 5 });
    const delayed = await measure();
    const shiftUs = shiftOf(delayed);
    const { body } = await labAdminRequest<Dataplane>('GET', `${urlOf(state, 'switch')}/dataplane`);
    t.diagnostic(
      `delayed: ${JSON.stringify(delayed)}; p50 shift ${shiftUs} µs (baseline's ${shiftOf(baseline)} µs); ` +
        `the switch's release lead ${body.impairments.releaseLeadMs} ms`,
    );
    assert.equal(delayed.impaired.received, FRAMES, 'a delay loses nothing');
    assert.ok(Math.abs(shiftUs - 5000) <= 500, `p50 shift ${shiftUs} µs, expected 5000 ± 500`);
  });

  it('loses 1% of 10 000 frames, within 3 standard deviations, each counted as impaired-loss', async (t) => {
    await impair({ lossRate: 0.01, seed: 12 });
    const lossy = await measure();
    const lost = FRAMES - lossy.impaired.received;
    const p = 0.01;
    const sd = Math.sqrt(FRAMES * p * (1 - p));
    t.diagnostic(`lossy: ${JSON.stringify(lossy)}; expected ${FRAMES * p} ± ${(3 * sd).toFixed(1)}`);
    assert.ok(Math.abs(lost - FRAMES * p) <= 3 * sd, `lost ${lost} of ${FRAMES}`);
    assert.equal(lossy.control.received, FRAMES, 'the control port lost nothing');
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

  it('restores the baseline once removed: nothing held or lost, the p50 back with the control port', async (t) => {
    await impair(undefined);
    const restored = await measure();
    t.diagnostic(`restored: ${JSON.stringify(restored)}; baseline ${JSON.stringify(baseline)}`);
    assert.equal(restored.impaired.received, FRAMES);
    assert.equal(restored.impairedLoss, 0);
    assert.ok(Math.abs(shiftOf(restored)) <= 500, `p50 ${shiftOf(restored)} µs from the control port's`);
    const { body } = await labAdminRequest<ImpairmentView>('GET', `${urlOf(state, 'switch')}/ports/vm-a2/impairment`);
    assert.equal(body.impairment, null);
  });
});
