import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameView,
  IP_PROTOCOLS,
  ipv4ToString,
  macToString,
  parseFrame,
  ValidationError,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { SendAbortedError } from '../vnic/vnic.errors';
import { FlowSequences } from './flow-sequences';
import { type FrameSender, TrafficGenerator, type TrafficPlan } from './traffic-generator';
import { readTlabHeader, type TlabHeader } from './tlab-header';

interface SentFrame {
  dst: string;
  dstMac: string;
  srcMac: string;
  ipSrc: string;
  ipDst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  length: number;
  header: TlabHeader;
}

/** A vNIC stand-in that takes every frame at once and keeps them, decoded. */
function recordingSender(): { send: FrameSender; frames: SentFrame[]; batches: number[] } {
  const frames: SentFrame[] = [];
  const batches: number[] = [];
  const view = new FrameView();
  const byMac = new Map(['vm-b', 'vm-c', 'vm-d'].map((vm) => [vmMacAddress(vm), vm]));
  return {
    frames,
    batches,
    send: async (sent) => {
      batches.push(sent.length);
      for (const frame of sent) {
        assert.equal(parseFrame(frame, view), undefined, 'a valid frame');
        const header: TlabHeader = { source: 0, flow: 0, seq: 0, sentUs: 0 };
        assert.ok(readTlabHeader(frame, view.payloadOffset, view.payloadLength, header), 'a TLAB payload');
        const dstMac = macToString(view.dstMacHi, view.dstMacLo);
        frames.push({
          dst: byMac.get(dstMac) ?? '?',
          dstMac,
          srcMac: macToString(view.srcMacHi, view.srcMacLo),
          ipSrc: ipv4ToString(view.ipSrc),
          ipDst: ipv4ToString(view.ipDst),
          protocol: view.ipProtocol,
          srcPort: view.srcPort,
          dstPort: view.dstPort,
          length: frame.length,
          header,
        });
      }
    },
  };
}

const plan = (overrides: Partial<TrafficPlan> = {}): TrafficPlan => ({
  to: ['vm-b'],
  protocol: 'udp',
  count: 10,
  size: 64,
  batch: 32,
  flows: 1,
  seed: 1,
  ...overrides,
});

describe('TrafficGenerator', () => {
  it('sends real frames from this VM to each destination, one flow per source port, numbered per flow', async () => {
    const { send, frames, batches } = recordingSender();
    const generator = new TrafficGenerator('vm-a', new FlowSequences(), send, 60_000, () => 777);
    const report = await generator.run(plan({ to: ['vm-b', 'vm-c'], count: 100, size: 200, batch: 16, flows: 3 }));

    assert.equal(report.sent, 100);
    assert.deepEqual(report.perFlow, { '0': 34, '1': 33, '2': 33 });
    assert.equal(report.zipf, undefined);
    assert.equal(report.stopped, undefined);
    assert.deepEqual(batches, [16, 16, 16, 16, 16, 16, 4]);
    const source = vmIpv4Address('vm-a');
    for (const frame of frames) {
      const flow = frame.header.flow;
      assert.equal(frame.dst, ['vm-b', 'vm-c'][flow % 2], `flow ${flow} always goes to the same VM`);
      assert.equal(frame.srcMac, vmMacAddress('vm-a'));
      assert.equal(frame.ipSrc, source);
      assert.equal(frame.ipDst, vmIpv4Address(frame.dst));
      assert.equal(frame.protocol, IP_PROTOCOLS.udp);
      assert.equal(frame.srcPort, 10_000 + flow);
      assert.equal(frame.dstPort, 9);
      assert.equal(frame.length, 200);
      assert.equal(ipv4ToString(frame.header.source), source);
      assert.equal(frame.header.sentUs, 777);
    }
    for (const flow of [0, 1, 2]) {
      const seqs = frames.filter((f) => f.header.flow === flow).map((f) => f.header.seq);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i),
        `flow ${flow} numbered 0, 1, 2, ...`,
      );
    }
  });

  it('builds TCP frames of the smallest size that holds the headers', async () => {
    const { send, frames } = recordingSender();
    await new TrafficGenerator('vm-a', new FlowSequences(), send).run(plan({ protocol: 'tcp', size: 74, count: 3 }));
    assert.deepEqual(
      frames.map((f) => [f.protocol, f.length, f.header.seq]),
      [
        [IP_PROTOCOLS.tcp, 74, 0],
        [IP_PROTOCOLS.tcp, 74, 1],
        [IP_PROTOCOLS.tcp, 74, 2],
      ],
    );
  });

  it('continues each flow where the last run to that destination stopped', async () => {
    const { send, frames } = recordingSender();
    const generator = new TrafficGenerator('vm-a', new FlowSequences(), send);
    await generator.run(plan({ to: ['vm-b'], count: 5 }));
    await generator.run(plan({ to: ['vm-c'], count: 2 }));
    await generator.run(plan({ to: ['vm-b'], count: 3 }));
    assert.deepEqual(
      frames.map((f) => `${f.dst}:${f.header.seq}`),
      ['vm-b:0', 'vm-b:1', 'vm-b:2', 'vm-b:3', 'vm-b:4', 'vm-c:0', 'vm-c:1', 'vm-b:5', 'vm-b:6', 'vm-b:7'],
    );
  });

  it('picks flows with Zipf probabilities from the seed, and reports the expected and observed top share', async () => {
    const run = async (seed: number): Promise<Awaited<ReturnType<TrafficGenerator['run']>>> =>
      new TrafficGenerator('vm-a', new FlowSequences(), recordingSender().send).run(
        plan({ count: 20_000, flows: 200, zipf: 1.1, seed, batch: 512 }),
      );
    const report = await run(9);
    assert.ok(report.zipf);
    assert.equal(report.zipf.exponent, 1.1);
    assert.equal(report.zipf.seed, 9);
    assert.ok(
      Math.abs(report.zipf.observedTopShare - report.zipf.expectedTopShare) < 0.02,
      JSON.stringify(report.zipf),
    );
    const counts = Object.values(report.perFlow);
    assert.equal(counts.length, 100, 'the 100 busiest flows of 200');
    assert.deepEqual(Object.keys(report.perFlow).slice(0, 3), ['0', '1', '2']);
    assert.deepEqual((await run(9)).perFlow, report.perFlow, 'the same seed replays the same mix');
  });

  it('stops at the time limit while the vNIC cannot take frames, and hands unsent numbers back', async () => {
    let taken = 0;
    // Takes the first 40 frames, then holds every send until it is aborted, like a full tx stream.
    const stuck: FrameSender = (frames, { signal }) => {
      if (taken < 40) {
        taken += frames.length;
        return Promise.resolve();
      }
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new SendAbortedError(0, frames.length)), { once: true }),
      );
    };
    const sequences = new FlowSequences();
    const report = await new TrafficGenerator('vm-a', sequences, stuck, 50).run(plan({ count: 1000, batch: 20 }));
    assert.equal(report.sent, 40);
    assert.match(report.stopped ?? '', /time limit/);
    assert.deepEqual(report.perFlow, { '0': 40 });
    assert.equal(sequences.take('vm-b', 0), 40, 'the next frame of the flow follows the last one sent');
  });

  it('paces to ratePps', async () => {
    const report = await new TrafficGenerator('vm-a', new FlowSequences(), recordingSender().send).run(
      plan({ count: 60, batch: 10, ratePps: 500 }),
    );
    // 6 batches; the last may start 100 ms after the first.
    assert.ok(report.durationMs >= 95, `took ${report.durationMs} ms`);
  });

  it('refuses frames too small for the headers and runs over 1 GiB, naming each problem', async () => {
    const generator = new TrafficGenerator('vm-a', new FlowSequences(), recordingSender().send);
    await assert.rejects(
      generator.run(plan({ protocol: 'tcp', size: 64, count: 1_000_000 * 1100 })),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.details.length === 2 &&
        /^size: tcp frames need at least 74 bytes/.test(error.details[0]) &&
        /^count × size: .* more than one run may send/.test(error.details[1]),
    );
  });

  it('answers with the error of a send that throws at once, giving its sequence numbers back', async () => {
    const sequences = new FlowSequences();
    const unregistered: FrameSender = () => {
      throw new Error('this VM has no Redis credentials yet');
    };
    await assert.rejects(new TrafficGenerator('vm-a', sequences, unregistered).run(plan()), /no Redis credentials/);
    assert.equal(sequences.take('vm-b', 0), 0);
  });

  it('answers with the error of a send that failed, after the others settle', async () => {
    let calls = 0;
    const failing: FrameSender = async () => {
      calls += 1;
      if (calls === 2) throw new Error('NOPERM this user has no permissions to access the key');
    };
    await assert.rejects(
      new TrafficGenerator('vm-a', new FlowSequences(), failing).run(plan({ count: 1000, batch: 10 })),
      /NOPERM/,
    );
  });
});
