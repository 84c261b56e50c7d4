import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '@tenantlab/shared';
import { allocatorEnv } from './allocator.config';

describe('allocator configuration', () => {
  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(allocatorEnv, {});
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3002,
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      STATUS_INTERVAL_MS: 2000,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });
});
