/**
 * Just enough of the protobuf wire format to pin the resource attributes of an OTLP trace export
 * (opentelemetry/proto/collector/trace/v1 ExportTraceServiceRequest): everything else passes through byte for byte,
 * so the relay needs no schema and never re-encodes spans.
 *
 *   ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
 *   ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
 *   Resource      { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; ... }
 *   KeyValue      { string key = 1; AnyValue value = 2; }   AnyValue { string string_value = 1; ... }
 */

export class MalformedOtlpError extends Error {}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

export interface WireField {
  field: number;
  wireType: number;
  /** The field's whole encoding (tag included), to copy it unchanged. */
  raw: Buffer;
  /** The payload of a length-delimited field; empty for the others. */
  payload: Buffer;
}

function readVarint(buffer: Buffer, start: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let at = start; at < buffer.length && at - start < 10; at++) {
    const byte = buffer[at] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, at + 1];
  }
  throw new MalformedOtlpError(`truncated varint at byte ${start}`);
}

/** The fields of one message, in order. Throws MalformedOtlpError on a truncated or unknown encoding. */
export function* wireFields(message: Buffer): Generator<WireField> {
  let at = 0;
  while (at < message.length) {
    const start = at;
    const [tag, afterTag] = readVarint(message, at);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw new MalformedOtlpError(`field number 0 at byte ${start}`);
    let payload: Buffer = Buffer.alloc(0);
    if (wireType === VARINT) at = readVarint(message, afterTag)[1];
    else if (wireType === I64) at = afterTag + 8;
    else if (wireType === I32) at = afterTag + 4;
    else if (wireType === LEN) {
      const [length, afterLength] = readVarint(message, afterTag);
      at = afterLength + length;
      payload = message.subarray(afterLength, at);
    } else throw new MalformedOtlpError(`unsupported wire type ${wireType} at byte ${start}`);
    if (at > message.length) throw new MalformedOtlpError(`field ${field} runs past the end of its message`);
    yield { field, wireType, raw: message.subarray(start, at), payload };
  }
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + LEN), varint(payload.length), payload]);
}

/** A KeyValue whose value is an AnyValue string. */
function stringAttribute(key: string, value: string): Buffer {
  return Buffer.concat([
    lengthDelimited(1, Buffer.from(key, 'utf8')),
    lengthDelimited(2, lengthDelimited(1, Buffer.from(value, 'utf8'))),
  ]);
}

/** A KeyValue's key (field 1), or undefined when it has none. */
export function attributeKey(keyValue: Buffer): string | undefined {
  for (const { field, wireType, payload } of wireFields(keyValue))
    if (field === 1 && wireType === LEN) return payload.toString('utf8');
  return undefined;
}

/** A Resource without the attributes named in `pinned`, then `pinned` as string attributes. */
function pinResource(resources: Buffer[], pinned: Record<string, string>): Buffer {
  const kept: Buffer[] = [];
  for (const resource of resources)
    for (const part of wireFields(resource)) {
      const key = part.field === 1 && part.wireType === LEN ? attributeKey(part.payload) : undefined;
      if (key === undefined || !Object.hasOwn(pinned, key)) kept.push(part.raw);
    }
  const added = Object.entries(pinned).map(([key, value]) => lengthDelimited(1, stringAttribute(key, value)));
  return Buffer.concat([...kept, ...added]);
}

/**
 * The export with every ResourceSpans' resource attributes named in `pinned` replaced by `pinned`'s values (added
 * where missing, a resource created where there was none): whatever the sender claimed for them is dropped.
 */
export function pinResourceAttributes(request: Buffer, pinned: Record<string, string>): Buffer {
  const out: Buffer[] = [];
  for (const part of wireFields(request)) {
    if (part.field !== 1 || part.wireType !== LEN) {
      out.push(part.raw);
      continue;
    }
    const resources: Buffer[] = [];
    const rest: Buffer[] = [];
    for (const inner of wireFields(part.payload)) {
      if (inner.field === 1 && inner.wireType === LEN) resources.push(inner.payload);
      else rest.push(inner.raw);
    }
    out.push(lengthDelimited(1, Buffer.concat([lengthDelimited(1, pinResource(resources, pinned)), ...rest])));
  }
  return Buffer.concat(out);
}
