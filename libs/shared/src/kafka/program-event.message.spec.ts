import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
