import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { installJaeger } from '../infra/install-jaeger';
import { startJaeger } from '../infra/jaeger.component';
import { DEFAULT_INFRA_PORTS, isPortFree } from '../infra/ports';
import { freeLoopbackPort } from './test-redis';

export interface TestJaeger {
  /** Jaeger's OTLP/HTTP traces endpoint: `http://127.0.0.1:<port>/v1/traces`. */
  otlpTracesUrl: string;
  /** Jaeger's query API (`/api/traces`, `/api/services`). */
  queryUrl: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A real, private Jaeger v2 (memory storage, as the lab runs it) for one integration test file: free loopback ports
 * and a temporary data dir. Installs Jaeger first if it is missing.
 */
export async function startTestJaeger(): Promise<TestJaeger> {
  const binary = await installJaeger();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenantlab-test-jaeger-'));
  // The query API serves gRPC on the port just below its HTTP one (jaegerQueryGrpcPort): both must be free.
  let jaegerQuery = await freeLoopbackPort();
  while (!(await isPortFree(jaegerQuery - 1))) jaegerQuery = await freeLoopbackPort();
  const ports = {
    ...DEFAULT_INFRA_PORTS,
    otlpGrpc: await freeLoopbackPort(),
    otlpHttp: await freeLoopbackPort(),
    jaegerQuery,
  };
  const child = await startJaeger(binary, { dataDir, ports });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= child.stop().then(() => rm(dataDir, { recursive: true, force: true }));
    return stopping;
  };
  return {
    otlpTracesUrl: `http://127.0.0.1:${ports.otlpHttp}/v1/traces`,
    queryUrl: `http://127.0.0.1:${ports.jaegerQuery}`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
