import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { jaegerConfig } from './jaeger.component';
import { DEFAULT_INFRA_PORTS, offsetPorts } from './ports';

describe('jaegerConfig', () => {
  it('binds every endpoint to loopback on the given ports, and nothing else', () => {
    const config = jaegerConfig(offsetPorts(DEFAULT_INFRA_PORTS, 1000));
    const endpoints = [...config.matchAll(/endpoint: (\S+)/g)].map((match) => match[1]);
    assert.deepEqual(endpoints.sort(), ['127.0.0.1:17685', '127.0.0.1:17686', '127.0.0.1:5317', '127.0.0.1:5318']);
    assert.match(config, /metrics:\n\s+level: none/);
    assert.match(config, /enable_tracing: false/);
  });
});
