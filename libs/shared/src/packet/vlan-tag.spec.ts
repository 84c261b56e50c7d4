import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import { buildFrame } from './build-frame';
import { FrameView } from './frame-view';
import { parseFrame } from './parse-frame';
import { withoutVlanTag, withVlanTag, writeVlanId } from './vlan-tag';

const untagged = buildFrame({
  dstMac: '02:00:00:00:00:02',
  srcMac: '02:00:00:00:00:01',
  ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
  udp: { srcPort: 1, dstPort: 2 },
  payload: Buffer.from('payload'),
});

function parsed(frame: Buffer): FrameView {
  const view = new FrameView();
  assert.equal(parseFrame(frame, view), undefined);
  return view;
}

describe('withVlanTag', () => {
  it('returns a new, tagged frame and leaves the original alone', () => {
    const copy = Buffer.from(untagged);
    const tagged = withVlanTag(untagged, 300, 6);
    assert.ok(untagged.equals(copy));
    assert.equal(tagged.length, untagged.length + 4);
    const view = parsed(tagged);
    assert.deepEqual([view.vlanId, view.vlanPcp, view.srcPort, view.payloadLength], [300, 6, 1, 7]);
  });

  it('refuses a VLAN id or PCP out of range, and a frame without an Ethernet header', () => {
    assert.throws(() => withVlanTag(untagged, 4096), ValidationError);
    assert.throws(() => withVlanTag(untagged, 1, 8), ValidationError);
    assert.throws(() => withVlanTag(Buffer.alloc(13), 1), /fewer than an Ethernet header/);
  });
});

describe('withoutVlanTag', () => {
  it('gives back the untagged bytes', () => {
    assert.ok(withoutVlanTag(withVlanTag(untagged, 300, 6)).equals(untagged));
  });

  it('copies an untagged frame unchanged', () => {
    const result = withoutVlanTag(untagged);
    assert.ok(result.equals(untagged));
    assert.notEqual(result, untagged);
  });
});

describe('writeVlanId', () => {
  it('re-tags in place and keeps the priority', () => {
    const tagged = withVlanTag(untagged, 300, 6);
    writeVlanId(tagged, 4094);
    const view = parsed(tagged);
    assert.deepEqual([view.vlanId, view.vlanPcp], [4094, 6]);
  });

  it('refuses an untagged frame and an id out of range', () => {
    assert.throws(() => writeVlanId(Buffer.from(untagged), 5), /no 802.1Q tag to rewrite/);
    assert.throws(() => writeVlanId(withVlanTag(untagged, 1), -1), /vlanId -1 is not an integer 0-4095/);
  });
});
