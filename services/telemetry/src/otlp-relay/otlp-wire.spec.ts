import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otlpExport, resourceAttributes, spanNames } from './otlp-test-exports';
import { MalformedOtlpError, pinResourceAttributes } from './otlp-wire';

const PINNED = { 'service.name': 'tenant-vm', 'service.instance.id': 'vm-a1', 'tenantlab.tenant.id': 'tenant-a' };

describe('pinResourceAttributes (OTLP protobuf trace export)', () => {
  it("replaces what the sender claims for the pinned attributes, keeps its others and every span's bytes", async () => {
    const forged = await otlpExport(
      { 'service.name': 'operator', 'tenantlab.tenant.id': 'tenant-b', 'host.name': 'anything' },
      ['first', 'second'],
    );
    const pinned = pinResourceAttributes(forged, PINNED);
    assert.deepEqual(resourceAttributes(pinned), [{ 'host.name': 'anything', ...PINNED }]);
    assert.deepEqual(spanNames(pinned), ['first', 'second']);
    // The spans (scope_spans) are copied whole: the export grows by the pinned attributes only.
    const span = forged.subarray(forged.indexOf('first') - 40, forged.indexOf('second') + 6);
    assert.ok(pinned.includes(span));
  });

  it('adds the pinned attributes to a resource that had none of them', async () => {
    const bare = await otlpExport({ 'host.name': 'h' }, ['only']);
    assert.equal(resourceAttributes(bare)[0]?.['service.instance.id'], undefined);
    assert.deepEqual(resourceAttributes(pinResourceAttributes(bare, PINNED)), [{ 'host.name': 'h', ...PINNED }]);
  });

  it('gives a resource to ResourceSpans that had none, and leaves an empty export empty', () => {
    // ResourceSpans { schema_url = "s" } only.
    const noResource = Buffer.from([0x0a, 0x03, 0x1a, 0x01, 0x73]);
    assert.deepEqual(resourceAttributes(pinResourceAttributes(noResource, PINNED)), [PINNED]);
    assert.equal(pinResourceAttributes(Buffer.alloc(0), PINNED).length, 0);
  });

  it('refuses a truncated or non-protobuf body', async () => {
    const whole = await otlpExport({ 'service.name': 'x' }, ['a']);
    assert.throws(() => pinResourceAttributes(whole.subarray(0, whole.length - 3), PINNED), MalformedOtlpError);
    assert.throws(() => pinResourceAttributes(Buffer.from('{"resourceSpans":[]}'), PINNED), MalformedOtlpError);
  });
});
