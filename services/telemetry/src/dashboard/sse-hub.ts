import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import type { Response } from 'express';

/** Watchers at once; a lab has a few. Each one costs a socket and a copy of every message. */
const CLIENTS_MAX = 16;
/** A comment line this often keeps proxies and the browser from dropping an idle stream. */
const KEEPALIVE_MS = 15_000;

/**
 * Server-sent events to every open dashboard: one message is serialized once and written to each stream. A client
 * whose socket cannot take more (its buffer over 1 MiB) is dropped rather than buffered without bound; the browser's
 * EventSource reconnects by itself.
 */
@Injectable()
export class SseHub implements OnModuleDestroy {
  private readonly clients = new Set<Response>();
  private readonly keepalive = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS).unref();
  private lastMessage: string | undefined;

  get size(): number {
    return this.clients.size;
  }

  /** Opens an event stream on `response` and sends it the latest message at once. */
  add(response: Response): void {
    if (this.clients.size >= CLIENTS_MAX) {
      throw new DomainError('QUOTA_EXCEEDED', `at most ${CLIENTS_MAX} dashboards may watch at once: close one`, {
        retriable: true,
      });
    }
    response.status(200);
    response.setHeader('content-type', 'text/event-stream; charset=utf-8');
    response.setHeader('cache-control', 'no-cache, no-transform');
    response.setHeader('x-accel-buffering', 'no');
    response.flushHeaders();
    response.write('retry: 2000\n\n');
    if (this.lastMessage !== undefined) response.write(this.lastMessage);
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
  }

  /** Sends `data` as the event `event` to every client. */
  broadcast(event: string, data: unknown): void {
    this.lastMessage = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.write(this.lastMessage);
  }

  /**
   * Closes every stream's connection: the HTTP server's close would otherwise wait for them forever (an ended
   * response leaves its keep-alive socket open). The browsers reconnect to the next telemetry.
   */
  onModuleDestroy(): void {
    clearInterval(this.keepalive);
    for (const client of this.clients) client.destroy();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const client of this.clients) {
      if (client.writableLength > 1024 * 1024) client.destroy();
      else client.write(text);
    }
  }
}
