import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { SupervisedProcess } from './child-process.supervisor';
import type { InfraOptions } from './infra.options';
import { probeRedis } from './readiness-probes';
import { readyOrStopped } from './wait-until-ready';

const READY_TIMEOUT_MS = 15_000;

/** Runs redis-server in the foreground on loopback, without persistence: lab state starts empty on every run. */
export async function startRedis(redisServer: string, options: InfraOptions): Promise<SupervisedProcess> {
  const dir = path.join(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const port = options.ports.redis;
  const child = await SupervisedProcess.start({
    component: 'redis',
    command: redisServer,
    // Redis 7 quotes each argument when it turns argv into config, so the empty string reaches `save` intact.
    args: [
      ...['--port', `${port}`, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      ...(options.redisPassword ? ['--requirepass', options.redisPassword] : []),
    ],
    cwd: dir,
    logFile: path.join(options.dataDir, 'redis.log'),
    onLine: (line) => options.onLine?.('redis', line),
  });
  return readyOrStopped(
    child,
    `Redis on port ${port}`,
    () => probeRedis(port, options.redisPassword),
    READY_TIMEOUT_MS,
  );
}
