import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertJsonDepthWithin, JsonTooDeepError } from './json-depth';

const nested = (depth: number): Buffer => Buffer.from('['.repeat(depth) + ']'.repeat(depth));

describe('assertJsonDepthWithin', () => {
  it('admits a body nested exactly to the limit and refuses one level more, naming the limit', () => {
    assert.doesNotThrow(() => assertJsonDepthWithin(nested(8), 8));
    assert.throws(
      () => assertJsonDepthWithin(nested(9), 8),
      (error: unknown) =>
        error instanceof JsonTooDeepError && error.status === 400 && /deeper than 8 levels/.test(error.message),
    );
  });

  it('counts objects and arrays alike, and depth that closes again does not add up', () => {
    assert.throws(() => assertJsonDepthWithin(Buffer.from('{"a":{"b":[{"c":1}]}}'), 3), JsonTooDeepError);
    assert.doesNotThrow(() => assertJsonDepthWithin(Buffer.from('[[1],[2],[3],{"a":[4]}]'), 3));
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.doesNotThrow(() => assertJsonDepthWithin(Buffer.from(JSON.stringify({ a: '[[[[{{{{', b: 'x\\"[[[[' })), 1));
  });

  it('refuses a deep body small enough to pass any byte limit', () => {
    const body = nested(100_000);
    assert.ok(body.length < 256 * 1024);
    assert.throws(() => assertJsonDepthWithin(body), /deeper than 64 levels/);
  });
});
