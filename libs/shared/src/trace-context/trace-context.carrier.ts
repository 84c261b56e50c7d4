import { Context, context, propagation, TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** Kafka message headers as kafkajs types them: values arrive as Buffers, may be sent as strings. */
export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

const kafkaHeaderSetter: TextMapSetter<KafkaHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const kafkaHeaderGetter: TextMapGetter<KafkaHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** Adds W3C `traceparent` (and `tracestate`, baggage) of the given or active context to Kafka headers. */
export function injectTraceIntoKafkaHeaders(
  headers: KafkaHeaders = {},
  from: Context = context.active(),
): KafkaHeaders {
  propagation.inject(from, headers, kafkaHeaderSetter);
  return headers;
}

/** The context a consumer should continue: the producer's trace when the headers carry one. */
export function extractTraceFromKafkaHeaders(
  headers: KafkaHeaders | undefined,
  base: Context = context.active(),
): Context {
  return headers ? propagation.extract(base, headers, kafkaHeaderGetter) : base;
}

/**
 * Redis stream entries are flat field/value lists. Trace context travels as ordinary fields so a reader can
 * continue the writer's trace; prefixed so they never clash with the entry's own fields.
 */
export const STREAM_TRACE_FIELD_PREFIX = 'otel.';

export type StreamFields = Record<string, string>;

const streamFieldSetter: TextMapSetter<StreamFields> = {
  set: (carrier, key, value) => {
    carrier[STREAM_TRACE_FIELD_PREFIX + key] = value;
  },
};

const streamFieldGetter: TextMapGetter<StreamFields> = {
  keys: (carrier) =>
    Object.keys(carrier)
      .filter((k) => k.startsWith(STREAM_TRACE_FIELD_PREFIX))
      .map((k) => k.slice(STREAM_TRACE_FIELD_PREFIX.length)),
  get: (carrier, key) => carrier[STREAM_TRACE_FIELD_PREFIX + key],
};

/** Adds the trace context fields to a stream entry's fields (mutates and returns them). */
export function injectTraceIntoStreamFields(fields: StreamFields = {}, from: Context = context.active()): StreamFields {
  propagation.inject(from, fields, streamFieldSetter);
  return fields;
}

/**
 * Accepts fields as an object or as the flat `[field, value, ...]` array that XRANGE/XREAD return.
 */
export function extractTraceFromStreamFields(
  fields: StreamFields | readonly string[],
  base: Context = context.active(),
): Context {
  return propagation.extract(base, Array.isArray(fields) ? fieldsFromFlatList(fields) : fields, streamFieldGetter);
}

export function fieldsFromFlatList(flat: readonly string[]): StreamFields {
  const fields: StreamFields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}
