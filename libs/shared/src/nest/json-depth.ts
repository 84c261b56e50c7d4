/**
 * How deep a request body's JSON may nest. The deepest legitimate body (a tenant program: a statement list, an
 * `if` nest, an expression tree) stays far below it; far deeper bodies fit in a few kilobytes and would make the
 * recursive walks behind validation (class-transformer, class-validator) overflow the stack, a 500 for all.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What the JSON body parser's `verify` throws: http-errors keeps `status` and `type`, so the filter answers 400. */
export class JsonTooDeepError extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';

  constructor(readonly limit: number) {
    super(`the request body nests JSON objects and arrays deeper than ${limit} levels, this service's limit`);
  }
}

/**
 * Throws JsonTooDeepError when `body` (raw JSON bytes) nests deeper than `limit`. One pass over the bytes, before
 * parsing, skipping string contents (a bracket inside a string is not nesting): linear in the body, never recursive.
 */
export function assertJsonDepthWithin(body: Buffer, limit: number = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) throw new JsonTooDeepError(limit);
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
}
