import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alternatingRounds, median, orderOfRound } from './bench-rounds';

describe('alternatingRounds', () => {
  it('runs every mode once per round, reversing the order every other round', async () => {
    const ran: string[] = [];
    const samples = await alternatingRounds(4, ['a', 'b', 'c'], (mode, round) => {
      ran.push(`${round}${mode}`);
      return Promise.resolve(round * 10 + mode.charCodeAt(0));
    });
    assert.deepEqual(ran, ['0a', '0b', '0c', '1c', '1b', '1a', '2a', '2b', '2c', '3c', '3b', '3a']);
    assert.deepEqual(samples, { a: [97, 107, 117, 127], b: [98, 108, 118, 128], c: [99, 109, 119, 129] });
  });

  it('gives each mode the first place as often as the last over an even number of rounds', () => {
    const firsts = [0, 1, 2, 3].map((round) => orderOfRound(['x', 'y'], round)[0]);
    assert.deepEqual(firsts, ['x', 'y', 'x', 'y']);
  });
});

describe('median', () => {
  it('is the middle sample, or the mean of the two middle ones', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 10]), 3.5);
    assert.throws(() => median([]), RangeError);
  });
});
