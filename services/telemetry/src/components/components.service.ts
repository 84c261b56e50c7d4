import { Injectable } from '@nestjs/common';
import type { ComponentStatusMessage } from '@tenantlab/shared';
import { RejectedMessages, type RejectedSummary } from '../consumer/rejected-messages';

export interface ComponentView {
  component: string;
  instance: string;
  state: string;
  /** Messages received from this instance. */
  messages: number;
  /** Sequence numbers that never arrived (lost or still in flight). */
  missing: number;
  lastSeq: number;
  lastSentAt: string;
  lastReceivedAt: string;
  uptimeMs: number;
  details: ComponentStatusMessage['details'];
  /** Trace of the last message, to look up in Jaeger. */
  traceId?: string;
}

/** What the telemetry service has seen on `components.status`, per component instance. */
@Injectable()
export class ComponentsService {
  private readonly components = new Map<string, ComponentView>();
  private readonly rejected = new RejectedMessages();

  record(message: ComponentStatusMessage, traceId: string | undefined): void {
    const previous = this.components.get(message.instance);
    // A heartbeat read again (telemetry re-reads the topic from its start when it joins) is not news.
    if (previous && message.seq <= previous.lastSeq) return;
    // Sequence numbers start at 0 per instance, so a first message with seq n means n were missed before it.
    const gap = previous ? Math.max(0, message.seq - previous.lastSeq - 1) : message.seq;
    this.components.set(message.instance, {
      component: message.component,
      instance: message.instance,
      state: message.state,
      messages: (previous?.messages ?? 0) + 1,
      missing: (previous?.missing ?? 0) + gap,
      lastSeq: Math.max(message.seq, previous?.lastSeq ?? -1),
      lastSentAt: message.sentAt,
      lastReceivedAt: new Date().toISOString(),
      uptimeMs: message.uptimeMs,
      details: message.details,
      traceId,
    });
  }

  reject(partition: number, offset: string, reason: string): void {
    this.rejected.add(partition, offset, reason);
  }

  snapshot(): { components: ComponentView[]; rejected: RejectedSummary } {
    const components = [...this.components.values()].sort((a, b) =>
      a.component === b.component
        ? a.lastReceivedAt.localeCompare(b.lastReceivedAt)
        : a.component.localeCompare(b.component),
    );
    return { components, rejected: this.rejected.snapshot() };
  }
}
