import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '@tenantlab/shared';
import { switchEnv } from './switch.config';

describe('switch configuration', () => {
  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(switchEnv, {});
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3001,
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      STATUS_INTERVAL_MS: 2000,
      FLOW_CACHE_SIZE: 65_536,
      SWITCH_BATCH: 256,
      SWITCH_CONSUMER: 'switch-1',
      TRACE_SAMPLING_RATE: 0.01,
      TRACE_SNAP_BYTES: 64,
      COUNTERS_INTERVAL_MS: 5000,
      PORT_SCAN_INTERVAL_MS: 1000,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });
});
