export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The first step of reading any value off a Kafka topic: present, at most `maxBytes`, JSON, an object. Topics are
 * shared and anyone may write garbage to them, so every consumer starts here and counts what is refused.
 */
export function parseJsonObject(value: Buffer | null, maxBytes: number): ParseResult<Record<string, unknown>> {
  if (value === null) return { ok: false, reason: 'message has no value (tombstone)' };
  if (value.length > maxBytes) {
    return { ok: false, reason: `message is ${value.length} bytes, more than the ${maxBytes} allowed` };
  }
  let data: unknown;
  try {
    data = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'message is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'message is not a JSON object' };
  }
  return { ok: true, value: data as Record<string, unknown> };
}
