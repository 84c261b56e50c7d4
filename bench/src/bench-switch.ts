import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freeLoopbackPort, type TestRedis } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';

const REPO_ROOT = join(__dirname, '..', '..');

export interface RunningSwitch {
  pid: number;
  url: string;
}

/**
 * Runs `work` against a switch process on the benchmark's Redis, once it has attached `ports` ports, and stops it
 * afterwards. Kafka is not part of any measurement: the switch gets a broker address where nothing listens, and
 * forwards without it (traces off).
 */
export async function withSwitch<T>(
  redis: TestRedis,
  options: { ports: number; batch: number },
  work: (sw: RunningSwitch) => Promise<T>,
): Promise<T> {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'services', 'switch', 'dist', 'main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      REDIS_URL: redis.url,
      KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
      SWITCH_BATCH: String(options.batch),
      TRACE_SAMPLING_RATE: '0',
      PORT_SCAN_INTERVAL_MS: '100',
      LOG_LEVEL: 'error',
      OTEL_SDK_DISABLED: 'true',
    },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const sw = { pid: child.pid ?? 0, url: `http://127.0.0.1:${port}` };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = await requestJson<{ ports?: unknown[] }>('GET', `${sw.url}/dataplane`, undefined, 1000).catch(
        () => undefined,
      );
      if ((reply?.body.ports?.length ?? 0) >= options.ports) break;
      if (Date.now() > deadline) throw new Error(`the switch did not attach ${options.ports} ports within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return await work(sw);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
