import { trace } from '@opentelemetry/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  time: string;
  level: LogLevel;
  service: string;
  context?: string;
  msg: string;
  trace_id?: string;
  span_id?: string;
  [field: string]: unknown;
}

/**
 * Writes one JSON object per line to stdout, stamped with the active span's `trace_id`, so a log line leads
 * straight to its trace in Jaeger. Its method names match NestJS's LoggerService, so it is also the app's logger.
 */
export class JsonLogger {
  constructor(
    private readonly service: string,
    private readonly minLevel: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }

  info(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  /** A logger that stamps every line with `context` (NestJS passes the context as the last argument instead). */
  child(context: string): ContextLogger {
    return new ContextLogger(this, context);
  }

  record(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.minLevel]) return;
    const record: LogRecord = { time: new Date().toISOString(), level, service: this.service, msg, ...fields };
    const span = trace.getActiveSpan()?.spanContext();
    if (span && span.traceId !== '00000000000000000000000000000000') {
      record.trace_id = span.traceId;
      record.span_id = span.spanId;
    }
    this.write(JSON.stringify(record) + '\n');
  }

  // NestJS calls log(message, context) or error(message, stack, context); the last string is the context.
  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    const fields: Record<string, unknown> = {};
    const args = [...rest];
    if (args.length > 0 && typeof args[args.length - 1] === 'string') fields['context'] = args.pop();
    if (level === 'error' && typeof args[0] === 'string' && args[0].includes('\n')) fields['stack'] = args.shift();
    if (args.length > 0) fields['extra'] = args;
    if (message instanceof Error) {
      fields['error'] = { name: message.name, message: message.message, stack: message.stack };
      this.record(level, message.message, fields);
      return;
    }
    this.record(level, typeof message === 'string' ? message : JSON.stringify(message), fields);
  }
}

export class ContextLogger {
  constructor(
    private readonly root: JsonLogger,
    private readonly context: string,
  ) {}

  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.record('debug', msg, { context: this.context, ...fields });
  }

  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.record('info', msg, { context: this.context, ...fields });
  }

  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.record('warn', msg, { context: this.context, ...fields });
  }

  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.root.record('error', msg, { context: this.context, ...fields });
  }
}
