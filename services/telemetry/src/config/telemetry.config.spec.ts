import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '@tenantlab/shared';
import { telemetryEnv } from './telemetry.config';

describe('telemetry configuration', () => {
  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(telemetryEnv, {});
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3003,
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_GROUP_ID: 'telemetry',
      TRACES_KEPT_PER_TENANT: 2000,
      EVENTS_KEPT_PER_TENANT: 1000,
      TRACE_TENANTS_MAX: 128,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });
});
