import type { Server } from 'node:http';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { shutdownTelemetry } from '../telemetry';
import type { JsonLogger } from '../logging';
import { DomainExceptionFilter } from './domain-exception.filter';
import { limitConnectionsPerAddress } from './connections-per-address';
import { assertJsonDepthWithin } from './json-depth';
import { installOpenApi, type OpenApiOptions } from './openapi';
import { createValidationPipe } from './validation.pipe';

export interface ServiceBootstrapOptions {
  name: string;
  module: Type<unknown> | DynamicModule;
  host: string;
  port: number;
  logger: JsonLogger;
  /** Requests larger than this are refused with 413 before any handler sees them. */
  bodyLimit?: string;
  /** Shutdown that takes longer than this is cut short, so a stuck dependency cannot keep a stopped lab alive. */
  shutdownTimeoutMs?: number;
  /** Serves the service's OpenAPI document at /openapi.json and its browsable page at /docs. */
  openApi?: OpenApiOptions;
  /** Connections one address may hold open at once; past it they are closed at once (0: no limit). */
  maxConnectionsPerAddress?: number;
}

/**
 * Starts a service the same way everywhere: JSON logger, global validation pipe and exception filter, body limit,
 * listen on HOST:PORT, and graceful shutdown on SIGTERM/SIGINT (close the HTTP server and let modules disconnect
 * producers and consumers, then flush spans, then exit).
 */
export async function bootstrapService(options: ServiceBootstrapOptions): Promise<INestApplication> {
  const { logger } = options;
  const app = await createServiceApp(options);
  installShutdown(app, options);
  limitConnectionsPerAddress(app.getHttpServer(), options.maxConnectionsPerAddress ?? 0);
  await app.listen(options.port, options.host);
  logger.record('info', `${options.name} listening on http://${options.host}:${options.port}`, {
    context: 'bootstrap',
  });
  return app;
}

/**
 * The app as every service runs it (JSON logger, body limit, the global validation pipe and exception filter), not
 * yet listening and without signal handlers: what in-process integration tests start, so they test the same app.
 */
export async function createServiceApp(
  options: Pick<ServiceBootstrapOptions, 'module' | 'logger' | 'bodyLimit' | 'openApi'>,
): Promise<NestExpressApplication> {
  const { logger } = options;
  const app = await NestFactory.create<NestExpressApplication>(options.module, { logger, bodyParser: false });
  // Depth is checked on the raw bytes before parsing: a thrown error ends the request as a 400 naming the limit.
  app.useBodyParser('json', {
    limit: options.bodyLimit ?? '256kb',
    verify: (_request: unknown, _response: unknown, body: Buffer) => assertJsonDepthWithin(body),
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new DomainExceptionFilter(logger));
  if (options.openApi) installOpenApi(app, options.openApi);
  return app;
}

/** How often closeApp closes keep-alive connections that went idle while the app shuts down. */
const IDLE_SWEEP_MS = 50;

/**
 * Closes the app and its HTTP server. A server stops accepting at close but keeps each keep-alive connection until
 * it idles, and clients that call often (VMs heartbeating, a test's pump) may never leave it idle: so connections are
 * closed each time they go idle between requests until the close completes. No request in flight is cut.
 */
export async function closeApp(app: INestApplication): Promise<void> {
  const server = app.getHttpServer() as Server;
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

function installShutdown(app: INestApplication, options: ServiceBootstrapOptions): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    options.logger.record('info', `${signal} received, shutting down`, { context: 'bootstrap' });
    const deadline = setTimeout(() => {
      options.logger.record('error', 'shutdown took too long; exiting', { context: 'bootstrap' });
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 10_000);
    deadline.unref();
    try {
      await closeApp(app);
      await shutdownTelemetry();
      process.exitCode = 0;
    } catch (error) {
      options.logger.error(error);
      process.exitCode = 1;
    } finally {
      clearTimeout(deadline);
      // Handles that libraries leave open (reconnect timers) must not keep a stopped service alive.
      process.exit();
    }
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}
