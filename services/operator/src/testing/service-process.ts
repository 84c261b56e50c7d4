import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freeLoopbackPort, serviceCredentialEnv, TEST_SERVICE_TOKENS } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
import { eventually } from './operator-harness';

export const REPO_ROOT = join(__dirname, '..', '..', '..', '..');

/** Another service, started from its build as its own process (services export no module to import). */
export interface ServiceUnderTest {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `services/<service>/dist/main.js` on a free loopback port with `env` (and the service credentials of
 * TEST_SERVICE_TOKENS: the operator's own token, a guarded service's accepted callers) and waits until `GET /health`
 * answers 200. Its stderr is kept, to say why it exited if it does.
 */
export async function startServiceProcess(service: string, env: Record<string, string>): Promise<ServiceUnderTest> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'services', service, 'dist', 'main.js')], {
    cwd: join(REPO_ROOT, 'services', service),
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      // No Jaeger here: the exporter would only complain.
      OTEL_SDK_DISABLED: 'true',
      ...serviceCredentialEnv(service, TEST_SERVICE_TOKENS),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  try {
    await eventually(`the ${service} answering GET /health`, 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`the ${service} exited with ${child.exitCode}: ${stderr}`);
      return (await requestJson('GET', `${url}/health`, undefined, 1000)).status === 200 ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
