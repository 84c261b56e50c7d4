import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameView } from '@tenantlab/shared';
import { FlowCache } from './flow-cache';
import type { SwitchPort } from './switch-port';

const PORT: SwitchPort = { no: 1, vm: 'vm-1', tenant: 't', vlan: 10 };
const OTHER_PORT: SwitchPort = { no: 2, vm: 'vm-2', tenant: 't', vlan: 10 };

/** The parsed headers of a TCP frame; `n` varies the source port, so each n is its own flow. */
function flow(n: number): FrameView {
  const v = new FrameView();
  Object.assign(v, {
    dstMacHi: 0x0200,
    dstMacLo: 0x00000002,
    srcMacHi: 0x0200,
    srcMacLo: 0x00000001,
    etherType: 0x0800,
    ipv4: true,
    ipSrc: 0x0a000001,
    ipDst: 0x0a000002,
    ipProtocol: 6,
    srcPort: 1000 + n,
    dstPort: 80,
  });
  return v;
}

/** Looks the flow up and, on a miss, inserts `value` for it (what the pipeline does per frame). */
function decide(cache: FlowCache<string>, v: FrameView, generation: number, value: string, port = PORT): string {
  const cached = cache.lookup(port, v, generation);
  if (cached !== undefined) return cached;
  cache.insert(generation, value);
  return `miss:${value}`;
}

describe('FlowCache', () => {
  it('refuses fewer than four entries, and rounds capacity up to whole sets of four', () => {
    assert.throws(() => new FlowCache(3), /at least 4/);
    assert.throws(() => new FlowCache(4.5), /at least 4/);
    assert.equal(new FlowCache(4).snapshot().capacity, 4);
    assert.equal(new FlowCache(5).snapshot().capacity, 8);
    assert.equal(new FlowCache(16).snapshot().capacity, 16);
    assert.equal(new FlowCache(17).snapshot().capacity, 32);
  });

  it('serves a cached decision only to a frame whose every key field matches', () => {
    const cache = new FlowCache<string>(64);
    const base = flow(0);
    assert.equal(decide(cache, base, 0, 'base'), 'miss:base');
    assert.equal(decide(cache, flow(0), 0, 'again'), 'base', 'the same headers hit');
    const fields = [
      'dstMacHi',
      'dstMacLo',
      'srcMacHi',
      'srcMacLo',
      'etherType',
      'ipSrc',
      'ipDst',
      'ipProtocol',
      'srcPort',
      'dstPort',
    ] as const;
    for (const field of fields) {
      const v = flow(0);
      v[field] += 1;
      assert.equal(cache.lookup(PORT, v, 0), undefined, `a frame differing in ${field} is another flow`);
    }
    assert.equal(cache.lookup(OTHER_PORT, flow(0), 0), undefined, 'the same headers from another port');
    assert.deepEqual(cache.snapshot(), {
      hits: 1,
      misses: 1 + fields.length + 1,
      evictions: 0,
      invalidations: 0,
      flows: 1,
      capacity: 64,
    });
  });

  it('treats an entry from an older forwarding generation as stale: a miss, and the flow is decided again', () => {
    const cache = new FlowCache<string>(8);
    decide(cache, flow(0), 0, 'old');
    assert.equal(cache.lookup(PORT, flow(0), 1), undefined);
    assert.equal(cache.snapshot().flows, 0, 'the stale entry is released');
    cache.insert(1, 'new');
    assert.equal(cache.lookup(PORT, flow(0), 1), 'new');
    assert.deepEqual(cache.snapshot(), { hits: 1, misses: 2, evictions: 0, invalidations: 1, flows: 1, capacity: 8 });
  });

  it('when full, replaces the entries of a set in turn, oldest first, and counts each eviction', () => {
    const cache = new FlowCache<string>(4); // one set of four ways: every flow competes for it
    for (let n = 0; n < 4; n++) decide(cache, flow(n), 0, `f${n}`);
    for (let n = 0; n < 4; n++) assert.equal(cache.lookup(PORT, flow(n), 0), `f${n}`, `flow ${n} is cached`);
    assert.deepEqual(cache.snapshot(), { hits: 4, misses: 4, evictions: 0, invalidations: 0, flows: 4, capacity: 4 });

    decide(cache, flow(4), 0, 'f4');
    decide(cache, flow(5), 0, 'f5');
    const cached = [0, 1, 2, 3, 4, 5].map((n) => cache.lookup(PORT, flow(n), 0) ?? null);
    assert.deepEqual(cached, [null, null, 'f2', 'f3', 'f4', 'f5'], 'the two oldest made room');
    const stats = cache.snapshot();
    assert.equal(stats.evictions, 2);
    assert.equal(stats.flows, 4, 'never more flows than capacity');

    // Four more evictions take the set round once: the victim pointer wraps instead of running off the set.
    for (let n = 6; n < 10; n++) decide(cache, flow(n), 0, `f${n}`);
    const later = [2, 3, 4, 5, 6, 7, 8, 9].map((n) => cache.lookup(PORT, flow(n), 0) ?? null);
    assert.deepEqual(later, [null, null, null, null, 'f6', 'f7', 'f8', 'f9']);
    assert.equal(cache.snapshot().evictions, 6);
    assert.equal(cache.snapshot().flows, 4);
  });

  it('fills a free way before evicting, so distinct flows up to capacity all stay cached', () => {
    const cache = new FlowCache<string>(256);
    for (let n = 0; n < 64; n++) decide(cache, flow(n), 0, `f${n}`);
    const hits = Array.from({ length: 64 }, (_, n) => cache.lookup(PORT, flow(n), 0)).filter((v) => v !== undefined);
    // 64 flows in 64 sets of four: a good hash spreads them; evicting while a way is free would lose many.
    assert.ok(hits.length >= 60, `${hits.length} of 64 flows still cached`);
    assert.equal(cache.snapshot().flows + cache.snapshot().evictions, 64);
  });
});
