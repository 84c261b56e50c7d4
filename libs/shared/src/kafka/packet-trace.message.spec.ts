import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceTopicMessage } from './packet-trace.message';

const trace = {
  tenant: 'tenant-a',
  vlan: 10,
  inPort: 'vm-a1',
  outPorts: ['vm-a2'],
  verdict: 'forward',
  timestampUs: 1_790_000_000_000_000,
  length: 128,
  headers: { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', etherType: 2048 },
  firstBytes: Buffer.alloc(64, 7).toString('base64'),
  traceId: '0af7651916cd43dd8448eb211c80319c',
};
const mirrored = { tenant: 'tenant-a', mirrored: true, inPortNo: 3, length: 80, timestampUs: 5, firstBytes: 'AAAA' };
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('parseTraceTopicMessage', () => {
  it('takes what the switch publishes: sampled traces and mirrored frames', () => {
    assert.deepEqual(parseTraceTopicMessage(json(trace)), { ok: true, value: trace });
    assert.deepEqual(parseTraceTopicMessage(json(mirrored)), { ok: true, value: mirrored });
    const { firstBytes: _bytes, traceId: _id, ...bare } = trace;
    assert.equal(parseTraceTopicMessage(json({ ...bare, verdict: 'drop', dropReason: 'no-destination' })).ok, true);
    const malformed = { ...bare, verdict: 'drop', dropReason: 'malformed', malformedReason: 'ipv4-bad-checksum' };
    assert.deepEqual(parseTraceTopicMessage(json(malformed)), { ok: true, value: malformed });
    const egress = { ...trace, egressDrops: [{ outPort: 'vm-a3', reason: 'rx-full' }] };
    assert.deepEqual(parseTraceTopicMessage(json(egress)), { ok: true, value: egress });
  });

  it('names the first thing wrong with anything else', () => {
    const cases: [Buffer | null, RegExp][] = [
      [null, /tombstone/],
      [Buffer.from('not json'), /not valid JSON/],
      [json([trace]), /not a JSON object/],
      [Buffer.alloc(70_000, 32), /more than the 65536 allowed/],
      [json({ ...trace, tenant: 'Tenant A' }), /^tenant:/],
      [json({ ...trace, timestampUs: -1 }), /^timestampUs:/],
      [json({ ...trace, length: 70_000 }), /^length:/],
      [json({ ...trace, firstBytes: 'not base64!' }), /^firstBytes: expected base64/],
      [json({ ...trace, length: 10 }), /^firstBytes: more bytes than the frame/],
      [json({ ...trace, vlan: 5000 }), /^vlan:/],
      [json({ ...trace, outPorts: 'vm-a2' }), /^outPorts:/],
      [json({ ...trace, verdict: 'teleport' }), /^verdict:/],
      [json({ ...trace, headers: null }), /^headers:/],
      [json({ ...trace, traceId: 'xyz' }), /^traceId:/],
      [json({ ...trace, malformedReason: 7 }), /^malformedReason:/],
      [json({ ...trace, egressDrops: [{ outPort: 'vm-a3' }] }), /^egressDrops:/],
      [json({ ...mirrored, mirrored: 'yes' }), /^mirrored:/],
      [json({ ...mirrored, inPortNo: 1.5 }), /^inPortNo:/],
      [json({ ...mirrored, firstBytes: undefined }), /^firstBytes: a mirrored frame carries its bytes/],
    ];
    for (const [value, reason] of cases) {
      const parsed = parseTraceTopicMessage(value);
      assert.equal(parsed.ok, false, String(value));
      if (!parsed.ok) assert.match(parsed.reason, reason);
    }
  });
});
