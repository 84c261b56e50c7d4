import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import { jaegerIngestHtpasswd, jaegerQueryHtpasswd } from './jaeger-auth';
import { jaegerConfig } from './jaeger.component';
import { DEFAULT_INFRA_PORTS, offsetPorts } from './ports';

describe('jaegerConfig', () => {
  it('binds every endpoint to loopback on the given ports, and nothing else', () => {
    const config = jaegerConfig(offsetPorts(DEFAULT_INFRA_PORTS, 1000));
    const endpoints = [...config.matchAll(/endpoint: (\S+)/g)].map((match) => match[1]);
    assert.deepEqual(endpoints.sort(), ['127.0.0.1:17685', '127.0.0.1:17686', '127.0.0.1:5317', '127.0.0.1:5318']);
    assert.match(config, /metrics:\n\s+level: none/);
    assert.match(config, /enable_tracing: false/);
    assert.doesNotMatch(config, /auth/, 'no password: the query API is open');
  });

  it("puts the query API's HTTP and gRPC endpoints behind basic auth, holding the password's digest only", () => {
    const password = 'f'.repeat(64);
    const config = jaegerConfig(DEFAULT_INFRA_PORTS, { query: password });
    assert.ok(!config.includes(password), 'the password itself is not in the config');
    assert.match(config, /extensions: \[jaeger_storage, jaeger_query, basicauth\/query\]/);
    assert.ok(config.includes(`inline: |\n        ${jaegerQueryHtpasswd(password)}\n`));
    assert.equal(jaegerQueryHtpasswd(password), `lab:{SHA}${createHash('sha1').update(password).digest('base64')}`);
    const authenticated = [...config.matchAll(/endpoint: (\S+)\n\s+auth:\n\s+authenticator: basicauth\/query/g)];
    assert.deepEqual(authenticated.map((match) => match[1]).sort(), ['127.0.0.1:16685', '127.0.0.1:16686']);
  });

  it('puts the OTLP receivers behind a second basic auth of their own, so neither password opens the other', () => {
    const query = 'q'.repeat(64);
    const ingest = 'i'.repeat(64);
    const config = jaegerConfig(DEFAULT_INFRA_PORTS, { query, ingest });
    assert.ok(!config.includes(ingest), 'the password itself is not in the config');
    assert.match(config, /extensions: \[jaeger_storage, jaeger_query, basicauth\/query, basicauth\/ingest\]/);
    assert.ok(
      config.includes(`basicauth/ingest:\n    htpasswd:\n      inline: |\n        ${jaegerIngestHtpasswd(ingest)}\n`),
    );
    assert.equal(jaegerIngestHtpasswd(ingest), `ingest:{SHA}${createHash('sha1').update(ingest).digest('base64')}`);
    const ingestAuthenticated = [...config.matchAll(/endpoint: (\S+)\n\s+auth:\n\s+authenticator: basicauth\/ingest/g)];
    assert.deepEqual(ingestAuthenticated.map((match) => match[1]).sort(), ['127.0.0.1:4317', '127.0.0.1:4318']);
    const queryAuthenticated = [...config.matchAll(/endpoint: (\S+)\n\s+auth:\n\s+authenticator: basicauth\/query/g)];
    assert.deepEqual(queryAuthenticated.map((match) => match[1]).sort(), ['127.0.0.1:16685', '127.0.0.1:16686']);
  });
});
