import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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

describe('parseEnv with <NAME>_FILE (values from files, as Docker secrets mount them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fileHolding = (name: string, content: string): string => {
    const file = join(dir, name);
    writeFileSync(file, content, { mode: 0o600 });
    return file;
  };

  it("reads the value from the file, trimmed, and parses it like the variable's own value", () => {
    const config = parseEnv(schema, {
      REDIS_URL_FILE: fileHolding('redis-url', '  redis://:s3cret-password@redis:6379\n'),
      PORT_FILE: fileHolding('port', '8080\n'),
    });
    assert.equal(config.REDIS_URL, 'redis://:s3cret-password@redis:6379');
    assert.equal(config.PORT, 8080);
  });

  it('refuses a file that cannot be read, naming the _FILE variable and the file', () => {
    const missing = join(dir, 'no-such-file');
    const error = configError(() => parseEnv(schema, { REDIS_URL_FILE: missing }));
    assert.equal(error.variable, 'REDIS_URL_FILE');
    assert.equal(
      error.message,
      `REDIS_URL_FILE names ${missing}, which cannot be read (ENOENT): set it to a readable file`,
    );
  });

  it('refuses an empty file rather than treat the variable as unset', () => {
    const error = configError(() => parseEnv(schema, { REDIS_URL_FILE: fileHolding('empty', ' \n') }));
    assert.equal(error.variable, 'REDIS_URL_FILE');
    assert.match(error.message, /which is empty: it must hold REDIS_URL$/);
  });

  it('refuses the variable and its _FILE both set, whichever would win', () => {
    const error = configError(() =>
      parseEnv(schema, {
        REDIS_URL: 'redis://:from-env@r:1',
        REDIS_URL_FILE: fileHolding('both', 'redis://:from-file@r:1'),
      }),
    );
    assert.equal(error.variable, 'REDIS_URL_FILE');
    assert.equal(error.message, 'REDIS_URL_FILE and REDIS_URL are both set: set only one of them');
  });

  it("reports an invalid value from a file by what was expected, never the file's content", () => {
    const error = configError(() => parseEnv(schema, { REDIS_URL_FILE: fileHolding('bad', 'http://secret-host:1') }));
    assert.equal(error.message, 'REDIS_URL is invalid: expected a URL starting with redis://');
  });

  it('reads files only through the given reader, and only for the variables of the schema', () => {
    const read: string[] = [];
    const config = parseEnv(
      schema,
      { REDIS_URL_FILE: '/run/secrets/redis-url', OTHER_FILE: '/run/secrets/other' },
      (path) => {
        read.push(path);
        return 'redis://r:1';
      },
    );
    assert.equal(config.REDIS_URL, 'redis://r:1');
    assert.deepEqual(read, ['/run/secrets/redis-url']);
  });
});
