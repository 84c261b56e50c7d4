import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reportedFieldValue } from '../program';
import { parseProgramEvent } from './program-event.message';

const good = {
  tenant: 'tenant-a',
  event: 'heavy_hitter',
  fields: { 'ipv4.src': 167772161, 'meta.wide': '340282366920938463463374607431768211455' },
  timestampUs: 1_790_000_000_000_000,
};
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('parseProgramEvent', () => {
  it('takes what the switch publishes, wide values as decimal strings', () => {
    assert.deepEqual(parseProgramEvent(json(good)), { ok: true, value: good });
  });

  it('takes address fields as the switch reports them: dotted quads, MACs with colons (and numbers, as older switches did)', () => {
    const dotted = { ...good, fields: { 'ipv4.src': '10.0.0.1', 'ipv4.dst': 167772162 } };
    assert.deepEqual(parseProgramEvent(json(dotted)), { ok: true, value: dotted });
    const parsed = parseProgramEvent(json({ ...good, fields: { 'ipv4.src': '10.0.0.256' } }));
    assert.equal(parsed.ok, false);
    const mac = { ...good, fields: { 'eth.src': '02:00:00:00:0a:0b' } };
    assert.deepEqual(parseProgramEvent(json(mac)), { ok: true, value: mac });
    assert.equal(parseProgramEvent(json({ ...good, fields: { 'eth.src': '02:00:00:00:0a' } })).ok, false);
  });

  it('the switch reports IPv4 addresses as dotted quads, MACs with colons, every other field as its number', () => {
    assert.equal(reportedFieldValue('ipv4.src', 167772161), '10.0.0.1');
    assert.equal(reportedFieldValue('ipv4.dst', 0xc0a80001), '192.168.0.1');
    assert.equal(reportedFieldValue('l4.sport', 10001), 10001);
    assert.equal(reportedFieldValue('eth.src', 0x020000000a0b), '02:00:00:00:0a:0b');
    assert.equal(reportedFieldValue('eth.dst', '2199023255552'), '02:00:00:00:00:00');
    assert.equal(
      reportedFieldValue('meta.c0', '340282366920938463463374607431768211455'),
      '340282366920938463463374607431768211455',
    );
  });

  it('names the first thing wrong with anything else', () => {
    const cases: [Buffer | null, RegExp][] = [
      [null, /tombstone/],
      [Buffer.from('{'), /not valid JSON/],
      [json({ ...good, tenant: 'A B' }), /^tenant:/],
      [json({ ...good, event: 'Heavy Hitter' }), /^event:/],
      [json({ ...good, timestampUs: 'now' }), /^timestampUs:/],
      [json({ ...good, fields: [1] }), /^fields: expected an object/],
      [json({ ...good, fields: { x: -1 } }), /^fields\.x:/],
      [json({ ...good, fields: { x: '12abc' } }), /^fields\.x:/],
    ];
    for (const [value, reason] of cases) {
      const parsed = parseProgramEvent(value);
      assert.equal(parsed.ok, false, String(value));
      if (!parsed.ok) assert.match(parsed.reason, reason);
    }
  });
});
