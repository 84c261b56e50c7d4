import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'ioredis';
import {
  MAX_FRAMES_PER_ENTRY,
  packPortFrames,
  PORT_CAPACITY_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  portEntryContent,
} from '@tenantlab/shared';
import { type AdmissionSink, CpuWaitQueues } from '../dataplane/cpu-wait-queues';
import type { SwitchPipeline } from '../pipeline/switch-pipeline';
import type { SwitchPort } from '../pipeline/switch-port';
import type { Delivery, PortEntry } from './port-io';
import { RxOccupancy } from './rx-occupancy';
import { packRxEntries } from './rx-packing';
import { decodeTxEntry } from './tx-entry';

const PORT: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function decode(fields: (string | Buffer)[], id = '1-0'): PortEntry[] {
  const out: PortEntry[] = [];
  decodeTxEntry(
    PORT,
    id,
    fields.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)),
    Date.now() * 1000,
    out,
  );
  return out;
}

describe('tx entries with several frames, as the switch reads them (issue 11)', () => {
  it('splits a packed entry into its frames, in order, each with its traceparent, sharing one entry', () => {
    const packed = packPortFrames([{ frame: Buffer.from('a'), traceparent: TRACEPARENT }, { frame: Buffer.from('b') }]);
    const frames = decode([PORT_ENTRY_FIELDS.frames, packed]);
    assert.deepEqual(
      frames.map((f) => [f.frame.toString(), f.trace, f.id]),
      [
        ['a', ['otel.traceparent', TRACEPARENT], '1-0'],
        ['b', [], '1-0'],
      ],
    );
    assert.equal(frames[0].entry, frames[1].entry);
    assert.equal(frames[0].entry.frames, 2);
  });

  it('keeps a single-frame entry as before: its frame and its otel fields', () => {
    const [frame, ...rest] = decode([
      PORT_ENTRY_FIELDS.frame,
      'x',
      'otel.traceparent',
      TRACEPARENT,
      'otel.tracestate',
      'k=v',
    ]);
    assert.equal(rest.length, 0);
    assert.equal(frame.frame.toString(), 'x');
    assert.deepEqual(frame.trace, ['otel.traceparent', TRACEPARENT, 'otel.tracestate', 'k=v']);
  });

  it('turns what a hostile entry holds past a cut-short record into one refused frame, and refuses too many whole', () => {
    const cut = Buffer.concat([packPortFrames([{ frame: Buffer.from('ok') }]), Buffer.from([0xff, 0xff, 0])]);
    const frames = decode([PORT_ENTRY_FIELDS.frames, cut]);
    assert.deepEqual(
      frames.map((f) => [f.frame.length, f.refused?.reason]),
      [
        [2, undefined],
        [3, 'entry-malformed'],
      ],
    );
    assert.equal(frames[0].entry.frames, 2);
    const many = packPortFrames(Array.from({ length: MAX_FRAMES_PER_ENTRY + 5 }, () => ({ frame: Buffer.from('x') })));
    const refused = decode([PORT_ENTRY_FIELDS.frames, many]);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].refused?.reason, 'entry-over-frames');
    // Counted as MAX_FRAMES_PER_ENTRY + 1, however many more it holds: as the tx-read script counts it over the bound.
    assert.equal(refused[0].refused?.frames, MAX_FRAMES_PER_ENTRY + 1);
    assert.equal(refused[0].entry.frames, MAX_FRAMES_PER_ENTRY + 1, 'the ledger counts it so');
  });
});

describe('a tx entry with more than one frame field (issue 10)', () => {
  it('is refused whole as one malformed frame, never split as either field would be', () => {
    const packed = packPortFrames([{ frame: Buffer.from('a') }, { frame: Buffer.from('b') }]);
    for (const fields of [
      [PORT_ENTRY_FIELDS.frames, packed, PORT_ENTRY_FIELDS.frames, packed],
      [PORT_ENTRY_FIELDS.frame, 'x', PORT_ENTRY_FIELDS.frames, packed],
      [PORT_ENTRY_FIELDS.frame, 'x', PORT_ENTRY_FIELDS.frame, 'y'],
    ]) {
      const frames = decode(fields);
      assert.equal(frames.length, 1);
      assert.equal(frames[0].refused?.reason, 'entry-malformed');
      assert.match(frames[0].refused?.detail ?? '', /2 frame fields/);
      assert.equal(frames[0].refused?.frames, 1);
      assert.equal(frames[0].entry.frames, 1);
    }
  });
});

/** The frames `queues` runs this round, in order. */
function admitted(queues: CpuWaitQueues, read: readonly PortEntry[], sink: Omit<AdmissionSink, 'run'>): PortEntry[] {
  const run: PortEntry[] = [];
  queues.admit(read, { ...sink, run: (frame) => run.push(frame) });
  return run;
}

describe('CPU admission of tx entries, whole (issue 11)', () => {
  /** A pipeline stand-in whose tenant is over budget from the `overAfter`-th mustWait call on. */
  function admission(overAfter: number): { queues: CpuWaitQueues; acked: string[]; dropped: string[] } {
    let calls = 0;
    const pipeline = { mustWait: () => ++calls > overAfter } as unknown as SwitchPipeline;
    const acked: string[] = [];
    const dropped: string[] = [];
    const queues = new CpuWaitQueues(pipeline, 8);
    return { queues, acked, dropped };
  }

  it('runs every frame of an admitted entry, acknowledges it once, and holds a later entry whole while over budget', () => {
    const { queues, acked, dropped } = admission(1);
    const sink = { acknowledge: (f: PortEntry) => acked.push(f.id), dropped: (f: PortEntry) => dropped.push(f.id) };
    const first = decode(
      [
        PORT_ENTRY_FIELDS.frames,
        packPortFrames([{ frame: Buffer.from('1') }, { frame: Buffer.from('2') }, { frame: Buffer.from('3') }]),
      ],
      '1-0',
    );
    const second = decode(
      [PORT_ENTRY_FIELDS.frames, packPortFrames([{ frame: Buffer.from('4') }, { frame: Buffer.from('5') }])],
      '2-0',
    );
    const run = admitted(queues, [...first, ...second], sink);
    assert.deepEqual(
      run.map((f) => f.frame.toString()),
      ['1', '2', '3'],
    );
    assert.deepEqual(acked, ['1-0'], 'the held entry is not acknowledged');
    assert.deepEqual(queues.snapshot(), { 'tenant-a': 2 });
    // Still over budget, and a 7-frame entry would take the queue past its bound of 8: dropped whole, acknowledged.
    const third = decode(
      [PORT_ENTRY_FIELDS.frames, packPortFrames(Array.from({ length: 7 }, () => ({ frame: Buffer.from('x') })))],
      '3-0',
    );
    assert.deepEqual(admitted(queues, third, sink), []);
    assert.deepEqual(dropped, Array(7).fill('3-0'));
    assert.deepEqual(acked, ['1-0', '3-0']);
    assert.deepEqual(queues.snapshot(), { 'tenant-a': 2 });
  });

  it('passes over a tenant still over budget at its queue head: a round does not look at its waiting frames again', () => {
    let checks = 0;
    let over = true;
    const pipeline = { mustWait: () => (checks++, over) } as unknown as SwitchPipeline;
    const queues = new CpuWaitQueues(pipeline, 64);
    const acked: string[] = [];
    const sink = { acknowledge: (f: PortEntry) => acked.push(f.id), dropped: () => assert.fail('nothing dropped') };
    const entries = Array.from({ length: 20 }, (_, i) =>
      decode(
        [PORT_ENTRY_FIELDS.frames, packPortFrames([{ frame: Buffer.from(`${i}a`) }, { frame: Buffer.from(`${i}b`) }])],
        `${i}-0`,
      ),
    ).flat();
    assert.deepEqual(admitted(queues, entries, sink), []);
    assert.deepEqual(queues.snapshot(), { 'tenant-a': 40 });
    checks = 0;
    for (let round = 0; round < 10; round++) assert.deepEqual(admitted(queues, [], sink), []);
    assert.equal(checks, 10, 'one look at the head per round, not one per waiting entry');
    over = false;
    const run = admitted(queues, [], sink).map((f) => f.frame.toString());
    assert.deepEqual(
      run,
      entries.map((f) => f.frame.toString()),
      'in order, once the tenant may run',
    );
    assert.equal(acked.length, 20);
    assert.deepEqual(queues.snapshot(), {});
  });
});

describe('CPU admission decided entry by entry, after the frames before it ran (issue 11)', () => {
  it("holds an entry once the frames run before it have spent the tenant's budget, within one batch", () => {
    // Over budget once a frame has run: the run is charged between two admissions.
    let ran = 0;
    const pipeline = { mustWait: () => ran >= 2 } as unknown as SwitchPipeline;
    const queues = new CpuWaitQueues(pipeline, 64);
    const entries = ['1-0', '2-0', '3-0'].flatMap((id) =>
      decode(
        [PORT_ENTRY_FIELDS.frames, packPortFrames([{ frame: Buffer.from('a') }, { frame: Buffer.from('b') }])],
        id,
      ),
    );
    const run: string[] = [];
    queues.admit(entries, {
      acknowledge: () => undefined,
      dropped: () => undefined,
      run: (frame) => {
        run.push(frame.id);
        ran += 1;
      },
    });
    assert.deepEqual(run, ['1-0', '1-0'], 'the first entry ran whole; the others were decided after it and wait');
    assert.deepEqual(queues.snapshot(), { 'tenant-a': 4 });
  });
});

describe('CPU admission when running a frame throws (its batch is not committed)', () => {
  it('leaves the entry it was in pending in Redis, not waiting, and the entries after it waiting, in order', () => {
    const pipeline = { mustWait: () => false } as unknown as SwitchPipeline;
    const queues = new CpuWaitQueues(pipeline, 64);
    const entry = (id: string, texts: string[]): PortEntry[] =>
      decode([PORT_ENTRY_FIELDS.frames, packPortFrames(texts.map((t) => ({ frame: Buffer.from(t) })))], id);
    const entries = [...entry('1-0', ['a', 'b']), ...entry('2-0', ['c', 'd']), ...entry('3-0', ['e'])];
    const run: string[] = [];
    const sink = { acknowledge: () => undefined, dropped: () => assert.fail('nothing dropped') };
    assert.throws(
      () =>
        queues.admit(entries, {
          ...sink,
          run: (frame) => {
            if (frame.frame.toString() === 'c') throw new Error('the pipeline failed');
            run.push(frame.frame.toString());
          },
        }),
      /the pipeline failed/,
    );
    assert.deepEqual(run, ['a', 'b']);
    assert.deepEqual(queues.snapshot(), { 'tenant-a': 1 }, "2-0 is read again with its batch; 3-0's frame waits");
    assert.deepEqual(
      admitted(queues, [], sink).map((f) => f.frame.toString()),
      ['e'],
    );
  });
});

describe('rx entries the switch writes (issue 11)', () => {
  const delivery = (text: string, trace: string[] = []): Delivery => ({ port: PORT, frame: Buffer.from(text), trace });
  const xadd = { key: 'port:{vm-a2}:rx', sentAt: '1764900000000000' };

  it('writes a lone frame in the single-frame format and packs several, each with its traceparent', () => {
    const [single] = packRxEntries(
      [delivery('one', ['otel.traceparent', TRACEPARENT, 'otel.tracestate', 'k=v'])],
      xadd,
    );
    assert.deepEqual(single.fields.map(String), [
      'f',
      'one',
      'otel.traceparent',
      TRACEPARENT,
      'otel.tracestate',
      'k=v',
    ]);
    const many = Array.from({ length: MAX_FRAMES_PER_ENTRY + 1 }, (_, i) =>
      delivery(String(i), ['otel.traceparent', TRACEPARENT]),
    );
    const entries = packRxEntries(many, xadd);
    assert.equal(entries.length, 2, 'at most MAX_FRAMES_PER_ENTRY frames an entry');
    assert.equal(entries[0].deliveries.length, MAX_FRAMES_PER_ENTRY);
    const content = portEntryContent(entries[0].fields);
    assert.equal(content.frames.length, MAX_FRAMES_PER_ENTRY);
    assert.equal(content.frames[5].frame.toString(), '5');
    assert.equal(content.frames[5].traceparent, TRACEPARENT);
  });

  it('packs a packed entry straight into its encoded XADD, byte for byte what ioredis would write for it', () => {
    const many = Array.from({ length: 3 }, (_, i) => delivery(`frame ${i}`, ['otel.traceparent', TRACEPARENT]));
    const [packed] = packRxEntries(many, xadd);
    assert.ok(packed.command, 'a packed entry comes encoded');
    const payload = packed.fields[1] as Buffer;
    assert.equal(payload.buffer, packed.command.buffer, 'its payload is packed in place, inside the command');
    assert.deepEqual(
      portEntryContent(packed.fields).frames.map((f) => f.frame.toString()),
      ['frame 0', 'frame 1', 'frame 2'],
    );
    const asIoredisWritesIt = new Command('xadd', [xadd.key, '*', ...packed.fields, 't', xadd.sentAt]).toWritable({});
    assert.deepEqual(packed.command, asIoredisWritesIt);
    const [single] = packRxEntries([delivery('one')], xadd);
    assert.equal(single.command, undefined, 'a lone frame is written as before');
  });

  it("counts a destination's rx in frames, not entries, and frees room as its VM trims the oldest", () => {
    const occupancy = new RxOccupancy();
    const frames = Array.from({ length: PORT_CAPACITY_FRAMES / 2 }, () => ({ frame: Buffer.alloc(64) }));
    occupancy.written('vm-a2', '5-0', frames);
    occupancy.written('vm-a2', '6-0', frames);
    occupancy.observe('vm-a2', 2, '5-0');
    assert.equal(occupancy.hasRoom('vm-a2', 1, 64), false, 'two entries hold PORT_CAPACITY_FRAMES frames');
    occupancy.observe('vm-a2', 1, '6-0');
    assert.equal(occupancy.hasRoom('vm-a2', PORT_CAPACITY_FRAMES / 2, 64), true);
    assert.equal(occupancy.hasRoom('vm-a2', PORT_CAPACITY_FRAMES / 2 + 1, 64), false);
    // rx deleted and refilled by someone else: what the switch wrote is gone, the others count a frame each.
    occupancy.observe('vm-a2', PORT_CAPACITY_FRAMES - 1, '9-0');
    assert.equal(occupancy.hasRoom('vm-a2', 1, 64), true);
    assert.equal(occupancy.hasRoom('vm-a2', 2, 128), false);
    assert.equal(occupancy.hasRoom('vm-b1', 1, PORT_CAPACITY_BYTES + 1), false, 'and in bytes');
  });

  it('holds a destination to a smaller capacity when given one (its share of its tenant budget)', () => {
    const occupancy = new RxOccupancy();
    const share = { frames: 100, bytes: 1000 };
    occupancy.written(
      'vm-a2',
      '5-0',
      Array.from({ length: 90 }, () => ({ frame: Buffer.alloc(10) })),
    );
    occupancy.observe('vm-a2', 1, '5-0');
    assert.equal(occupancy.hasRoom('vm-a2', 10, 100, share), true);
    assert.equal(occupancy.hasRoom('vm-a2', 11, 100, share), false, 'in frames');
    assert.equal(occupancy.hasRoom('vm-a2', 1, 101, share), false, 'in bytes');
    assert.equal(occupancy.hasRoom('vm-a2', 11, 101), true, 'the port capacity when none is given');
  });
});
