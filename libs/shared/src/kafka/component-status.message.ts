import { parseJsonObject, type ParseResult } from './parse-message';

/** Components that publish status to Kafka. */
export const STATUS_COMPONENTS = ['switch', 'allocator'] as const;
export type StatusComponent = (typeof STATUS_COMPONENTS)[number];

export type ComponentState = 'running' | 'stopping';

/** Published on `components.status` every STATUS_INTERVAL_MS by each switch and allocator instance. */
export interface ComponentStatusMessage {
  component: StatusComponent;
  /** Unique per process, so a restarted component is told apart from the one before it. */
  instance: string;
  state: ComponentState;
  /** Increases by one per message of the same instance; gaps show lost messages. */
  seq: number;
  /** ISO-8601 time the message was produced. */
  sentAt: string;
  uptimeMs: number;
  details: Record<string, string | number | boolean>;
}

/** Messages larger than this are refused before parsing: a status message is a few hundred bytes. */
export const MAX_STATUS_MESSAGE_BYTES = 16 * 1024;

/**
 * Validates a message from the wire. Kafka topics are shared and anyone may write garbage to them, so consumers
 * parse every value with this and count what it refuses instead of crashing.
 */
export function parseComponentStatus(value: Buffer | null): ParseResult<ComponentStatusMessage> {
  const parsed = parseJsonObject(value, MAX_STATUS_MESSAGE_BYTES);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (!STATUS_COMPONENTS.includes(m['component'] as StatusComponent)) {
    return { ok: false, reason: `component: expected one of ${STATUS_COMPONENTS.join(', ')}` };
  }
  if (typeof m['instance'] !== 'string' || m['instance'].length === 0 || m['instance'].length > 200) {
    return { ok: false, reason: 'instance: expected a non-empty string of at most 200 characters' };
  }
  if (m['state'] !== 'running' && m['state'] !== 'stopping') {
    return { ok: false, reason: 'state: expected running or stopping' };
  }
  if (!Number.isSafeInteger(m['seq']) || (m['seq'] as number) < 0) {
    return { ok: false, reason: 'seq: expected a non-negative integer' };
  }
  if (typeof m['sentAt'] !== 'string' || Number.isNaN(Date.parse(m['sentAt']))) {
    return { ok: false, reason: 'sentAt: expected an ISO-8601 timestamp' };
  }
  if (typeof m['uptimeMs'] !== 'number' || !(m['uptimeMs'] >= 0)) {
    return { ok: false, reason: 'uptimeMs: expected a non-negative number' };
  }
  const details = m['details'];
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    return { ok: false, reason: 'details: expected an object' };
  }
  for (const [key, v] of Object.entries(details)) {
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      return { ok: false, reason: `details.${key}: expected a string, number or boolean` };
    }
  }
  return { ok: true, value: m as unknown as ComponentStatusMessage };
}
