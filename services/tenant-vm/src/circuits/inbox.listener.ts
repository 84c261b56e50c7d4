import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  disconnectNow,
  extractTraceFromStreamFields,
  INBOX_MESSAGE_FIELD,
  type InboxMessage,
  JsonLogger,
  nextStreamId,
  VM_KEYS,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { CircuitSocketsService } from './circuit-sockets.service';
import { VmRedis } from './vm-redis';

const tracer = trace.getTracer('tenantlab.tenant-vm');
const BLOCK_MS = 1000;

/**
 * Reads this VM's control inbox, where the operator announces incoming circuits and teardowns, and trims what it
 * handled, so a restarted VM only sees what it has not handled yet. Each message continues the operator's trace.
 */
@Injectable()
export class InboxListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopped = false;
  private reader: Redis | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly redis: VmRedis,
    private readonly sockets: CircuitSocketsService,
    private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.reader) disconnectNow(this.reader);
    await this.running;
  }

  private async loop(): Promise<void> {
    const inbox = VM_KEYS.inbox(this.config.VM_ID);
    let lastId = '0-0';
    let failures = 0;
    while (!this.stopped) {
      try {
        this.reader ??= this.redis.connections().openBlocking();
        const reply = (await this.reader.xread('BLOCK', BLOCK_MS, 'STREAMS', inbox, lastId)) ?? [];
        for (const [id, fields] of reply[0]?.[1] ?? []) {
          this.handle(id, fields);
          lastId = id;
        }
        if (reply.length > 0) await this.reader.xtrim(inbox, 'MINID', nextStreamId(lastId));
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        // Not registered yet, or credentials rotated: start over with a fresh connection after a pause.
        if (this.reader) disconnectNow(this.reader);
        this.reader = undefined;
        // Not registered yet is how every VM starts: debug. Anything else (Redis away, credentials refused) is news.
        const level = this.redis.hasCredentials() ? 'warn' : 'debug';
        if (failures++ % 20 === 0) this.logger.record(level, `inbox not readable yet: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 2000)));
      }
    }
  }

  private handle(id: string, flat: string[]): void {
    const parent = extractTraceFromStreamFields(flat);
    const span = tracer.startSpan('vm.inbox', { kind: SpanKind.CONSUMER }, parent);
    context.with(trace.setSpan(parent, span), () => {
      try {
        const index = flat.indexOf(INBOX_MESSAGE_FIELD);
        const message = JSON.parse(index >= 0 ? (flat[index + 1] ?? '') : '') as InboxMessage;
        span.setAttribute('tenantlab.inbox.type', message.type);
        if (message.type === 'circuit.incoming') this.sockets.accept(message.circuit);
        else if (message.type === 'circuit.closed') this.sockets.closed(message.circuitId, message.reason);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        this.logger.record('warn', `inbox entry ${id} not handled: ${String(error)}`);
      } finally {
        span.end();
      }
    });
  }
}
