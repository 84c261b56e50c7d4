import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { type LabState, newStats, type PlannedWorkload, type TestLab, WORKLOAD_DRIVERS } from '@tenantlab/lab';
import { readPcap, requestJson } from '@tenantlab/shared';
import { eventually, labAdminRequest, REPO_ROOT, startE2eLab, urlOf } from '../lab-process';

const SAMPLE = 'pcaps/udp-a2-to-a1.pcap';

interface Received {
  total: number;
  rejected: Record<string, number>;
}

interface Dataplane {
  counters: { ports: Record<string, { drops: Record<string, number> }> };
}

/**
 * The replay workload on the real lab: the lab runner's replay driver sends the sample capture (256 frames recorded
 * from vm-a2 to vm-a1, so each carries vm-a2's source MAC) from vm-a1 to vm-a2. Every frame must reach vm-a2: had the
 * VM kept the recorded source MAC, the switch would have dropped every frame as spoofed-source; had it kept the
 * recorded destination (vm-a1), none would be for vm-a2.
 */
describe('replaying a pcap from one VM to another, on the lab', () => {
  let lab: TestLab;
  let state: LabState;

  before(async () => {
    lab = await startE2eLab();
    state = lab.state;
  });

  after(async () => {
    await lab?.stop();
  });

  const received = async (vm: string): Promise<Received> =>
    (await requestJson<Received>('GET', `${urlOf(state, vm)}/traffic/received`)).body;
  const sentBy = async (vm: string): Promise<number> =>
    (await requestJson<{ sent: { frames: number } }>('GET', `${urlOf(state, vm)}/vnic`)).body.sent.frames;
  /** vm-a1's frames dropped for their source MAC: not its own (spoofed-source), or one learned on its port. */
  const sourceDrops = async (): Promise<number> => {
    const { body } = await labAdminRequest<Dataplane>('GET', `${urlOf(state, 'switch')}/dataplane`);
    const drops = body.counters.ports['vm-a1']?.drops;
    return (drops?.['spoofed-source'] ?? 0) + (drops?.['same-port'] ?? 0);
  };

  it('vm-a2 receives exactly the frames sent, from vm-a1 whatever source MAC the capture holds', async () => {
    const capture = readPcap(readFileSync(join(REPO_ROOT, 'scenarios', SAMPLE)), SAMPLE);
    assert.equal(capture.records.length, 256);
    assert.equal((await requestJson('DELETE', `${urlOf(state, 'vm-a2')}/traffic/received`)).status, 204);
    const sentBefore = await sentBy('vm-a1');
    const dropsBefore = await sourceDrops();

    const planned: PlannedWorkload & { workload: { kind: 'replay' } } = {
      index: 0,
      workload: { kind: 'replay', from: 'vm-a1', to: 'vm-a2', pcap: SAMPLE, speed: 4 },
      startMs: 0,
      stopMs: 60_000,
      onPhases: [],
      seed: 1,
    };
    const origin = performance.now();
    const context = {
      state,
      pcaps: new Map([[SAMPLE, capture]]),
      now: () => performance.now() - origin,
      signal: new AbortController().signal,
    } as unknown as Parameters<typeof WORKLOAD_DRIVERS.replay>[1];
    const stats = newStats(planned);
    await WORKLOAD_DRIVERS.replay(planned, context, stats);
    assert.equal(stats.errors, 0, stats.lastError);
    assert.equal(stats.units, 256, 'the VM answered 256 frames sent');
    assert.equal((await sentBy('vm-a1')) - sentBefore, 256, "vm-a1's vNIC wrote 256 frames to tx");

    const arrived = await eventually('vm-a2 has the 256 replayed frames', 20_000, async () => {
      const now = await received('vm-a2');
      return now.total >= 256 ? now : undefined;
    });
    assert.equal(arrived.total, 256, 'no more, no fewer');
    // Not TLAB frames (the capture's payload), but every one addressed to vm-a2: none `not-for-this-vm`.
    assert.deepEqual(arrived.rejected, { 'not-tlab': 256 });
    assert.equal(
      (await sourceDrops()) - dropsBefore,
      0,
      'no frame dropped for its source MAC (spoofed-source, same-port)',
    );
  });

  it('refuses a frame under 14 bytes with a 400 naming it, on the real VM', async () => {
    const answer = await requestJson<{ error: { code: string; details: string[] } }>(
      'POST',
      `${urlOf(state, 'vm-a1')}/traffic/replay`,
      {
        frames: [
          { atUs: 0, data: Buffer.alloc(60).toString('base64') },
          { atUs: 0, data: 'AAAA' },
        ],
      },
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'VALIDATION_FAILED');
    assert.match(answer.body.error.details.join('; '), /^frames\[1\]: 3 bytes is under an Ethernet header/);
  });
});
