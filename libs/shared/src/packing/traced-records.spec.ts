import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packableTraceparent, packTracedRecords, tracedRecordBytes, writeTracedRecord } from './traced-records';

describe('traced records', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('writes length, traceparent length, traceparent and body, with a 16- or 32-bit length', () => {
    const body = Buffer.from('abc');
    const short = packTracedRecords(2, [{ body, traceparent }, { body: Buffer.alloc(0) }]);
    assert.equal(short.length, tracedRecordBytes(2, 3, traceparent) + tracedRecordBytes(2, 0));
    assert.equal(short.readUInt16BE(0), 3);
    assert.equal(short[2], traceparent.length);
    assert.equal(short.subarray(3, 3 + traceparent.length).toString('latin1'), traceparent);
    assert.equal(short.subarray(3 + traceparent.length, 6 + traceparent.length).toString(), 'abc');
    assert.deepEqual([...short.subarray(6 + traceparent.length)], [0, 0, 0], 'an empty body without a trace');
    const long = packTracedRecords(4, [{ body, traceparent }]);
    assert.equal(long.readUInt32BE(0), 3);
    assert.equal(long[4], traceparent.length);
    assert.equal(long.length, 5 + traceparent.length + 3);
  });

  it('leaves out a traceparent a record cannot carry: too long, or not printable ASCII', () => {
    assert.equal(packableTraceparent('x'.repeat(256)), '');
    assert.equal(packableTraceparent('00-é'), '');
    assert.equal(packableTraceparent('has space'), '');
    assert.equal(packableTraceparent(undefined), '');
    assert.equal(packableTraceparent('x'.repeat(255)), 'x'.repeat(255));
    const packed = packTracedRecords(2, [{ body: Buffer.from('z'), traceparent: 'x'.repeat(300) }]);
    assert.deepEqual([...packed], [0, 1, 0, 'z'.charCodeAt(0)]);
  });

  it('writes one record at an offset and returns where the next starts, as packTracedRecords lays it out', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const records = [{ body: Buffer.from('first'), traceparent }, { body: Buffer.from([0, 255]) }];
    const payload = Buffer.alloc(tracedRecordBytes(4, 5, traceparent) + tracedRecordBytes(4, 2));
    const middle = writeTracedRecord(payload, 0, 4, records[0].body, traceparent);
    assert.equal(middle, tracedRecordBytes(4, 5, traceparent));
    assert.equal(writeTracedRecord(payload, middle, 4, records[1].body, ''), payload.length);
    assert.deepEqual(payload, packTracedRecords(4, records));
  });
});
