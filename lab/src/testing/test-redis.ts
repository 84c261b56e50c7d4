import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { DEFAULT_INFRA_PORTS } from '../infra/ports';
import { installRedis } from '../infra/install-redis';
import { startRedis } from '../infra/redis.component';

export interface TestRedis {
  /** The admin (`default` user) URL, password included: what the operator and other trusted services get. */
  url: string;
  /** The same server without credentials: what a tenant VM gets before it has its own ACL user. */
  anonymousUrl: string;
  password: string;
  port: number;
  pid: number;
  /**
   * SIGKILLs the server and starts a new one on the same port with the same password: Redis lost everything, as when
   * it crashes in a lab (which keeps no Redis data). Clients see their connections drop and reconnect. `maxMemory`
   * starts the new one with another `maxmemory` (say `1`, so it refuses every write until a CONFIG SET raises it).
   */
  restartEmpty(options?: { maxMemory?: string }): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A real, private redis-server for one integration test file: its own free loopback port and temporary data dir, so
 * test files never share state with each other or with a running lab. Like the lab's, its `default` user needs a
 * password, and the lab's limits (maxmemory, here `options.maxMemory` or the default; noeviction; proto-max-bulk-len).
 * Installs Redis first if it is missing.
 */
export async function startTestRedis(options: { maxMemory?: string } = {}): Promise<TestRedis> {
  const redisServer = await installRedis();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenantlab-test-redis-'));
  const port = await freeLoopbackPort();
  const password = randomBytes(16).toString('hex');
  const ports = { ...DEFAULT_INFRA_PORTS, redis: port };
  const infraOptions = { dataDir, ports, redisPassword: password, redisMaxMemory: options.maxMemory };
  let child = await startRedis(redisServer, infraOptions);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= child.stop().then(() => rm(dataDir, { recursive: true, force: true }));
    return stopping;
  };
  const testRedis: TestRedis = {
    url: `redis://:${password}@127.0.0.1:${port}`,
    anonymousUrl: `redis://127.0.0.1:${port}`,
    password,
    port,
    pid: child.pid,
    async restartEmpty(restart = {}) {
      process.kill(child.pid, 'SIGKILL');
      await child.exited;
      const redisMaxMemory = restart.maxMemory ?? infraOptions.redisMaxMemory;
      child = await startRedis(redisServer, { ...infraOptions, redisMaxMemory, restarting: true });
      testRedis.pid = child.pid;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return testRedis;
}

/** A port the kernel just handed out and released; good enough for a test server started right after. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
