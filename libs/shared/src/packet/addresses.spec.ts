import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import { ipv4ToString, macToString, parseIpv4, parseMac } from './addresses';

describe('MAC addresses', () => {
  it('splits into 16 high and 32 low unsigned bits and back, lowercased', () => {
    assert.deepEqual(parseMac('FF:FF:FF:FF:FF:FF'), { hi: 0xffff, lo: 0xffffffff });
    assert.deepEqual(parseMac('01:23:45:67:89:ab'), { hi: 0x0123, lo: 0x456789ab });
    assert.equal(macToString(0x0123, 0x456789ab), '01:23:45:67:89:ab');
    assert.equal(macToString(0xffff, 0xffffffff), 'ff:ff:ff:ff:ff:ff');
    assert.equal(macToString(0, 0), '00:00:00:00:00:00');
  });

  for (const bad of [
    '',
    '01:23:45:67:89',
    '01:23:45:67:89:ab:cd',
    '01-23-45-67-89-ab',
    '0g:23:45:67:89:ab',
    '1:2:3:4:5:6',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseMac(bad),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.match(error.message, /^Invalid MAC address: ".*" is not a MAC address: expected six hex pairs/);
          return true;
        },
      );
    });
  }
});

describe('IPv4 addresses', () => {
  it('parses to an unsigned 32-bit number and back', () => {
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4('0.0.0.0'), 0);
    assert.equal(parseIpv4('10.1.2.3'), 0x0a010203);
    assert.equal(ipv4ToString(0xc0a800c7), '192.168.0.199');
    assert.equal(ipv4ToString(-1), '255.255.255.255');
  });

  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4/8']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseIpv4(bad),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.match(error.message, /^Invalid IPv4 address: ".*" is not an IPv4 address: expected a dotted quad/);
          return true;
        },
      );
    });
  }

  it('cuts a long input short in the message', () => {
    assert.throws(
      () => parseIpv4('9'.repeat(1000)),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.ok(error.message.length < 200);
        return true;
      },
    );
  });
});
