import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from './test-redis';

/** A suite's private Redis and its admin connection, as `suiteRedis` hands them over. */
export interface SuiteRedis {
  readonly redis: TestRedis;
  readonly admin: Redis;
}

/**
 * A private Redis (startTestRedis) for the tests of the enclosing `describe`, with an admin connection: started before
 * its first test, both closed after its last. Call it in the `describe` body; read `redis` and `admin` in tests.
 */
export function suiteRedis(): SuiteRedis {
  let started: SuiteRedis | undefined;
  before(
    async () => {
      const redis = await startTestRedis();
      started = { redis, admin: new Redis(redis.url) };
    },
    { timeout: 120_000 },
  );
  after(async () => {
    started?.admin.disconnect();
    await started?.redis.stop();
  });
  const get = (): SuiteRedis => {
    if (!started) throw new Error("the suite's Redis is not started yet: read it inside a test, not in describe");
    return started;
  };
  return {
    get redis() {
      return get().redis;
    },
    get admin() {
      return get().admin;
    },
  };
}
