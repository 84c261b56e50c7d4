import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors';
import { env, parseEnv } from './env-schema';

const schema = {
  PORT: env.port({ default: 3000 }),
  REDIS_URL: env.url({ protocols: ['redis:'] }),
  KAFKA_BROKERS: env.hostPorts({ default: '127.0.0.1:9092' }),
  LOG_LEVEL: env.oneOf(['debug', 'info'] as const, { default: 'info' }),
  LEASE_MS: env.integer({ default: 15000, min: 1000 }),
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected parseEnv to throw');
}

describe('parseEnv', () => {
  it('applies defaults and converts types', () => {
    const config = parseEnv(schema, { REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.deepEqual(config, {
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      LOG_LEVEL: 'info',
      LEASE_MS: 15000,
    });
  });

  it('parses given values', () => {
    const config = parseEnv(schema, {
      PORT: '8080',
      REDIS_URL: 'redis://redis:6379',
      KAFKA_BROKERS: 'a:9092, b:9093',
      LOG_LEVEL: 'debug',
      LEASE_MS: '2000',
    });
    assert.equal(config.PORT, 8080);
    assert.deepEqual(config.KAFKA_BROKERS, ['a:9092', 'b:9093']);
    assert.equal(config.LOG_LEVEL, 'debug');
  });

  it('names a missing required variable and what it expects', () => {
    const error = configError(() => parseEnv(schema, {}));
    assert.equal(error.variable, 'REDIS_URL');
    assert.equal(error.message, 'REDIS_URL is required: set it to a URL starting with redis://');
  });

  for (const [name, value, expected] of [
    ['PORT', '70000', 'PORT is invalid: expected a TCP port, an integer from 1 to 65535 (default 3000)'],
    ['PORT', '80a', 'PORT is invalid: expected a TCP port, an integer from 1 to 65535 (default 3000)'],
    ['REDIS_URL', 'http://secret-host:1', 'REDIS_URL is invalid: expected a URL starting with redis://'],
    [
      'KAFKA_BROKERS',
      'nohostport',
      'KAFKA_BROKERS is invalid: expected a comma-separated list of host:port (default 127.0.0.1:9092)',
    ],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL is invalid: expected one of debug, info (default info)'],
    ['LEASE_MS', '-3', 'LEASE_MS is invalid: expected an integer at least 1000 (default 15000)'],
  ] as const) {
    it(`rejects ${name}=${value} without echoing the value`, () => {
      const error = configError(() => parseEnv(schema, { REDIS_URL: 'redis://r:1', [name]: value }));
      assert.equal(error.message, expected);
      assert.ok(!error.message.includes(value), 'the message must not contain the value');
    });
  }
});
