const LEVEL_LABEL: Record<string, string> = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };

/** Width of the process-name column in the merged log; longer names are not cut, only unaligned. */
const NAME_WIDTH = 10;

/**
 * Formats one line of a process's output for the lab's merged log. Services write JSON lines; those become
 * `time name LEVEL [context] message trace=…`. Anything else (Kafka's and Redis's own logs, stack traces) is shown as
 * it came, after the process name.
 */
export function formatLogLine(processName: string, line: string): string {
  const name = processName.padEnd(NAME_WIDTH);
  if (!line.startsWith('{')) return `${clock(new Date())} ${name} ${line}`;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${clock(new Date())} ${name} ${line}`;
  }
  const time = typeof record['time'] === 'string' ? new Date(record['time']) : new Date();
  const level = LEVEL_LABEL[text(record['level'])] ?? text(record['level']).toUpperCase();
  const context = record['context'] ? `[${text(record['context'])}] ` : '';
  const trace = typeof record['trace_id'] === 'string' ? `  trace=${record['trace_id']}` : '';
  const stack = typeof record['stack'] === 'string' ? `\n${record['stack']}` : '';
  return `${clock(time)} ${name} ${level} ${context}${text(record['msg'])}${trace}${stack}`;
}

function clock(date: Date): string {
  return Number.isNaN(date.getTime()) ? '--:--:--.---' : date.toISOString().slice(11, 23);
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
