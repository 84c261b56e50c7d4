/**
 * The hash algorithms of `hash` ops (program.constants HASH_ALGORITHMS), table-driven, over `length` bytes of a
 * scratch buffer. Both return unsigned numbers.
 */

/** CRC-32/IEEE 802.3 (reflected, polynomial 0x04c11db7, init and xorout 0xffffffff): "123456789" gives 0xcbf43926. */
export function crc32(bytes: Uint8Array, length: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < length; i++) crc = CRC32_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * CRC-16/CCITT-FALSE (polynomial 0x1021, init 0xffff, not reflected, no xorout): "123456789" gives 0x29b1. The
 * CCITT polynomial as most switch ASICs and P4 targets offer it.
 */
export function crc16(bytes: Uint8Array, length: number): number {
  let crc = 0xffff;
  for (let i = 0; i < length; i++) crc = ((crc << 8) ^ CRC16_TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
  return crc;
}

const CRC32_TABLE = buildTable((n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

const CRC16_TABLE = buildTable((n) => {
  let c = n << 8;
  for (let k = 0; k < 8; k++) c = (c & 0x8000) !== 0 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  return c;
});

function buildTable(entry: (n: number) => number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) table[n] = entry(n);
  return table;
}
