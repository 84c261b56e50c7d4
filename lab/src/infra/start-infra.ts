import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import type { InfraComponent, SupervisedProcess } from './child-process.supervisor';
import { InfraStartError } from './infra.errors';
import type { InfraOptions } from './infra.options';
import { ensureInfraInstalled } from './install-infra';
import { startJaeger } from './jaeger.component';
import { startKafka } from './kafka.component';
import { type InfraPorts, assertPortsFree } from './ports';
import { startRedis } from './redis.component';
import { type RestartHooks, RestartingProcess } from './restarting-process';

export interface InfraUrls {
  redis: string;
  kafkaBrokers: string;
  otlpHttp: string;
  otlpGrpc: string;
  jaegerQuery: string;
}

export interface StartedInfra {
  /** Where each component answers. Never with credentials, so they are safe to show and to persist. */
  urls: InfraUrls;
  /**
   * Redis as its admin (`default` user): `redis://:<password>@127.0.0.1:<port>` for the trusted services, the same as
   * `urls.redis` when Redis runs without a password. Never print or persist it.
   */
  redisAdminUrl: string;
  pids: Record<InfraComponent, number>;
  /**
   * From now on a component that exits by itself is started again (with backoff; Redis comes back empty, Kafka with
   * its data), and `hooks` hear of it. Before this, a crash is the caller's to handle (a failed start).
   */
  supervise(hooks: RestartHooks): void;
  /** Restarts so far, per component (0 until `supervise`). */
  restarts(): Record<InfraComponent, number>;
  /** Stops all three (SIGTERM, then SIGKILL after 20s) and resolves when they have exited. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function infraUrls(ports: InfraPorts): InfraUrls {
  return {
    redis: redisUrl(ports.redis),
    kafkaBrokers: `127.0.0.1:${ports.kafka}`,
    otlpHttp: `http://127.0.0.1:${ports.otlpHttp}`,
    otlpGrpc: `http://127.0.0.1:${ports.otlpGrpc}`,
    jaegerQuery: `http://127.0.0.1:${ports.jaegerQuery}`,
  };
}

/** A Redis URL on loopback, with the `default` user's password when there is one (URL-encoded, though hex needs none). */
function redisUrl(port: number, password?: string): string {
  return password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
}

/**
 * Installs what is missing, checks the ports, then starts Redis, Kafka and Jaeger in parallel as children of this
 * process and resolves once all three answer. If any fails, the others are stopped before the error is thrown.
 */
export async function startInfra(requested: InfraOptions): Promise<StartedInfra> {
  // Absolute, because each component runs with its own subfolder as working directory.
  const options = { ...requested, dataDir: path.resolve(requested.dataDir) };
  const installation = await ensureInfraInstalled(options.onProgress);
  await assertPortsFree(options.ports);
  await mkdir(options.dataDir, { recursive: true });

  const started = Date.now();
  options.onProgress?.('starting Redis, Kafka and Jaeger…');
  const results = await Promise.allSettled([
    startRedis(installation.redisServer, options),
    startKafka(installation.kafka, options),
    startJaeger(installation.jaeger, options),
  ]);
  const [redis, kafka, jaeger] = results;
  if (redis.status === 'fulfilled' && kafka.status === 'fulfilled' && jaeger.status === 'fulfilled') {
    options.onProgress?.(`Redis, Kafka and Jaeger ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const again = { ...options, restarting: true };
    return startedInfra(
      options,
      { redis: redis.value, kafka: kafka.value, jaeger: jaeger.value },
      {
        redis: () => startRedis(installation.redisServer, again),
        kafka: () => startKafka(installation.kafka, again),
        jaeger: () => startJaeger(installation.jaeger, again),
      },
    );
  }

  // Each component stops itself when it fails; the ones that came up must not outlive the failed start.
  await Promise.all(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.stop()] : [])));
  const failures = results.flatMap((result): unknown[] => (result.status === 'rejected' ? [result.reason] : []));
  if (failures.length === 1) throw failures[0];
  const messages = failures.map((failure: unknown) => (failure instanceof Error ? failure.message : String(failure)));
  throw new InfraStartError(messages.join('\n\n'), { cause: failures[0] });
}

function startedInfra(
  options: InfraOptions,
  children: Record<InfraComponent, SupervisedProcess>,
  starters: Record<InfraComponent, () => Promise<SupervisedProcess>>,
): StartedInfra {
  const components = Object.keys(children) as InfraComponent[];
  let supervised: Record<InfraComponent, RestartingProcess> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(
      components.map((name) => (supervised ? supervised[name].stop() : children[name].stop())),
    ).then(() => undefined);
    return stopping;
  };
  return {
    urls: infraUrls(options.ports),
    redisAdminUrl: redisUrl(options.ports.redis, options.redisPassword),
    pids: { redis: children.redis.pid, kafka: children.kafka.pid, jaeger: children.jaeger.pid },
    supervise(hooks) {
      if (supervised || stopping) return;
      const keep = (name: InfraComponent): RestartingProcess =>
        new RestartingProcess(name, children[name], starters[name], hooks);
      supervised = { redis: keep('redis'), kafka: keep('kafka'), jaeger: keep('jaeger') };
    },
    restarts: () => ({
      redis: supervised?.redis.restarts ?? 0,
      kafka: supervised?.kafka.restarts ?? 0,
      jaeger: supervised?.jaeger.restarts ?? 0,
    }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
