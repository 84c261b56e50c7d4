import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseEnv } from '@tenantlab/shared';
import { switchEnv } from './switch.config';

/** CALLER_TOKENS has no default: a service without it would accept no one (or, worse, anyone). */
const CREDENTIALS = { CALLER_TOKENS: `operator=${'a'.repeat(64)},admin=${'b'.repeat(64)}` };

describe('switch configuration', () => {
  it('refuses to start without the callers it accepts, or with a malformed list, naming CALLER_TOKENS', () => {
    for (const given of [{}, { CALLER_TOKENS: 'operator' }, { CALLER_TOKENS: `admin=short` }]) {
      assert.throws(
        () => parseEnv(switchEnv, given),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /CALLER_TOKENS/);
          return true;
        },
      );
    }
    assert.deepEqual(
      parseEnv(switchEnv, CREDENTIALS).CALLER_TOKENS.map((c) => c.caller),
      ['operator', 'admin'],
    );
  });

  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(switchEnv, CREDENTIALS);
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
      SWITCH_FLOOD_COPIES_PER_SECOND: 20_000,
      SWITCH_FLOOD_BURST_COPIES: 20_000,
      TENANT_TX_MEMORY_BYTES: 160 * 1024 * 1024,
      TENANT_RX_FRAMES: 32_768,
      TENANT_RX_BYTES: 64 * 1024 * 1024,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });
});
