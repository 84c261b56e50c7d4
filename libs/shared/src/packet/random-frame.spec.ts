import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame } from './build-frame';
import { mulberry32, RANDOM_PAYLOAD_MAX_BYTES, randomFrameSpec } from './random-frame';

describe('mulberry32', () => {
  it('replays the same sequence from the same seed, in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 1000; i += 1) {
      const value = a();
      assert.equal(value, b());
      assert.ok(value >= 0 && value < 1);
    }
    assert.notEqual(mulberry32(1)(), mulberry32(2)());
  });

  it('matches the reference Mulberry32 output, so recorded benchmark traffic stays reproducible', () => {
    const random = mulberry32(1);
    assert.deepEqual([random(), random(), random()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});

describe('randomFrameSpec', () => {
  it('covers UDP, TCP, other IPv4, other EtherTypes, tagged and untagged, and the payload range', () => {
    const random = mulberry32(7);
    const seen = new Set<string>();
    let shortest = Infinity;
    let longest = 0;
    for (let i = 0; i < 2000; i += 1) {
      const spec = randomFrameSpec(random);
      buildFrame(spec);
      seen.add(spec.udp ? 'udp' : spec.tcp ? 'tcp' : spec.ipv4 ? 'ipv4-other' : 'not-ipv4');
      seen.add(spec.vlanId === undefined ? 'untagged' : 'tagged');
      const length = spec.payload?.length ?? 0;
      shortest = Math.min(shortest, length);
      longest = Math.max(longest, length);
    }
    assert.deepEqual([...seen].sort(), ['ipv4-other', 'not-ipv4', 'tagged', 'tcp', 'udp', 'untagged']);
    assert.ok(shortest < 20, `shortest payload ${shortest}`);
    assert.ok(longest > RANDOM_PAYLOAD_MAX_BYTES - 20 && longest <= RANDOM_PAYLOAD_MAX_BYTES, `longest ${longest}`);
  });
});
