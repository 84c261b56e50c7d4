import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES } from './port-keys';
import { StreamOccupancy } from './stream-occupancy';

describe('StreamOccupancy', () => {
  it('counts the frames and bytes of the entries still in the stream: the newest as many as its length', () => {
    const occupancy = new StreamOccupancy();
    occupancy.written(10, 1000);
    occupancy.written(20, 2000);
    occupancy.written(30, 3000);
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES - 60, bytes: PORT_CAPACITY_BYTES - 6000 });
    occupancy.observe(2);
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES - 50, bytes: PORT_CAPACITY_BYTES - 5000 });
    occupancy.observe(0);
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES, bytes: PORT_CAPACITY_BYTES });
  });

  it('counts an entry it did not write as one frame and no bytes', () => {
    const occupancy = new StreamOccupancy();
    occupancy.written(5, 500);
    occupancy.observe(4);
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES - 8, bytes: PORT_CAPACITY_BYTES - 500 });
    assert.equal(occupancy.hasRoom(PORT_CAPACITY_FRAMES - 8, 0), true);
    assert.equal(occupancy.hasRoom(PORT_CAPACITY_FRAMES - 7, 0), false);
    assert.equal(occupancy.hasRoom(1, PORT_CAPACITY_BYTES - 499), false);
  });

  it('drops entries older than the stream says, even when its length would still hold them', () => {
    const occupancy = new StreamOccupancy();
    occupancy.written(1, 100, '1-0');
    occupancy.written(2, 200, '2-0');
    occupancy.written(3, 300, '3-0');
    occupancy.observe(5, (id) => id < '2-0');
    // '1-0' is gone; the two left are known, the other three entries in the stream are not.
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES - 8, bytes: PORT_CAPACITY_BYTES - 500 });
  });

  it('keeps its sums right across compaction of a long history', () => {
    const occupancy = new StreamOccupancy();
    for (let i = 0; i < 5000; i += 1) {
      occupancy.written(2, 10);
      occupancy.observe(3);
    }
    assert.deepEqual(occupancy.room(), { frames: PORT_CAPACITY_FRAMES - 6, bytes: PORT_CAPACITY_BYTES - 30 });
  });
});
