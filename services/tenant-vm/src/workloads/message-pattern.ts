/**
 * The messages the sender writes: message `seq` is `size` bytes, its sequence number (uint32 BE) then bytes that
 * depend on both, so a reordered, duplicated, lost or corrupted message is caught by comparing bytes.
 */
export function patternMessage(seq: number, size: number): Buffer {
  const message = Buffer.allocUnsafe(size);
  message.writeUInt32BE(seq >>> 0, 0);
  for (let i = 4; i < size; i++) message[i] = (seq + i) & 0xff;
  return message;
}

/** Checks a byte stream against the concatenated pattern, chunk by chunk, without holding it all. */
export class PatternStreamVerifier {
  private offset = 0;
  private mismatchAt: number | undefined;

  constructor(
    private readonly count: number,
    private readonly size: number,
  ) {}

  update(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.mismatchAt === undefined; i++) {
      const position = this.offset + i;
      if (position >= this.count * this.size || chunk[i] !== expectedByte(position, this.size)) {
        this.mismatchAt = position;
      }
    }
    this.offset += chunk.length;
  }

  /** Undefined when exactly the expected bytes arrived; otherwise what went wrong. */
  problem(): string | undefined {
    if (this.mismatchAt !== undefined) return `byte ${this.mismatchAt} differs from what was sent`;
    const expected = this.count * this.size;
    if (this.offset !== expected) return `received ${this.offset} bytes, sent ${expected}`;
    return undefined;
  }
}

function expectedByte(position: number, size: number): number {
  const seq = Math.floor(position / size);
  const i = position % size;
  if (i < 4) return ((seq >>> 0) >>> (8 * (3 - i))) & 0xff;
  return (seq + i) & 0xff;
}
