import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { requestJson } from '@tenantlab/shared';
import { serviceCredentialEnv } from '../service-tokens';
import { TEST_SERVICE_TOKENS } from './test-service-tokens';
import { freeLoopbackPort } from './test-redis';

const REPO_ROOT = path.join(__dirname, '..', '..', '..');

/** A service started from its build as its own process, for integration tests and benchmarks. */
export interface ServiceProcess {
  url: string;
  pid: number;
  /** What it wrote to stderr so far (the last 64 KiB), to say why it failed. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `services/<service>/dist/main.js` on a free loopback port with `env` over test defaults (the service
 * credentials of TEST_SERVICE_TOKENS, LOG_LEVEL error) and waits until `GET /health` answers 200 (30 s). OpenTelemetry
 * is off unless `traced`: then its SDK starts first, as the lab starts services, and exports to `traced.otlp` (a port
 * where nothing listens is fine: spans then carry real contexts that go nowhere).
 */
export async function startServiceProcess(
  service: string,
  env: Record<string, string>,
  traced?: { otlp: string },
): Promise<ServiceProcess> {
  const port = await freeLoopbackPort();
  const dir = path.join(REPO_ROOT, 'services', service);
  const telemetry = traced
    ? {
        OTEL_SDK_DISABLED: 'false',
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: traced.otlp,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      }
    : { OTEL_SDK_DISABLED: 'true' };
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const args = [...(traced ? ['--require', './dist/instrumentation.js'] : []), 'dist/main.js'];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      ...telemetry,
      ...serviceCredentialEnv(service, TEST_SERVICE_TOKENS),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-65_536)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${service} exited with ${child.exitCode}: ${stderr}`);
    const health = await requestJson('GET', `${url}/health`, undefined, 1000).catch(() => undefined);
    if (health?.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the ${service} did not answer GET /health within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, pid: child.pid ?? 0, stderr: () => stderr, stop };
}
