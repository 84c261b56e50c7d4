import { Command } from 'ioredis';

/**
 * `XADD <key> * <field> <payload> <stampField> <stamp>` already in Redis's protocol (RESP), with the payload's bytes
 * left for the caller to fill in place: `payload` is a view of them inside `command`.
 */
export interface EncodedXadd {
  command: Buffer;
  payload: Buffer;
}

/**
 * Why: ioredis copies a command with a Buffer argument into a buffer of its own before it writes it (and a pipeline
 * copies its commands once more into one). For the rx entries of the aggregated data path, hundreds of KB a round,
 * that copy and its allocation were 5.7% of the switch's CPU in the aggregation benchmark's profile. Packing the
 * frames straight into the encoded command leaves only the pipeline's copy.
 */
export function encodeXadd(
  key: string,
  field: string,
  payloadBytes: number,
  stampField: string,
  stamp: string,
): EncodedXadd {
  const head = `*7\r\n$4\r\nxadd\r\n${bulk(key)}$1\r\n*\r\n${bulk(field)}$${payloadBytes}\r\n`;
  const tail = `\r\n${bulk(stampField)}${bulk(stamp)}`;
  const headBytes = Buffer.byteLength(head);
  const command = Buffer.allocUnsafe(headBytes + payloadBytes + Buffer.byteLength(tail));
  command.write(head, 0);
  command.write(tail, headBytes + payloadBytes);
  return { command, payload: command.subarray(headBytes, headBytes + payloadBytes) };
}

function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

/** A command whose protocol bytes were built by the caller (see encodeXadd): ioredis writes them as they are. */
export class EncodedCommand extends Command {
  constructor(
    name: string,
    private readonly encoded: Buffer,
  ) {
    super(name, []);
  }

  override toWritable(): Buffer {
    return this.encoded;
  }
}
