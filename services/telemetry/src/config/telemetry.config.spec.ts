import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseEnv } from '@tenantlab/shared';
import { telemetryEnv } from './telemetry.config';

/** CALLER_TOKENS has no default: a service without it would accept no one (or, worse, anyone). */
const CREDENTIALS = { CALLER_TOKENS: `operator=${'a'.repeat(64)},admin=${'b'.repeat(64)}` };

describe('telemetry configuration', () => {
  it('refuses to start without the callers it accepts, or with a malformed list, naming CALLER_TOKENS', () => {
    for (const given of [{}, { CALLER_TOKENS: 'operator' }, { CALLER_TOKENS: `admin=short` }]) {
      assert.throws(
        () => parseEnv(telemetryEnv, given),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /CALLER_TOKENS/);
          return true;
        },
      );
    }
    assert.deepEqual(
      parseEnv(telemetryEnv, CREDENTIALS).CALLER_TOKENS.map((c) => c.caller),
      ['operator', 'admin'],
    );
  });

  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(telemetryEnv, CREDENTIALS);
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3003,
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_GROUP_ID: 'telemetry',
      TRACES_KEPT_PER_TENANT: 2000,
      EVENTS_KEPT_PER_TENANT: 1000,
      TRACE_TENANTS_MAX: 128,
      DASHBOARD_POLL_MS: 1000,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });
});
