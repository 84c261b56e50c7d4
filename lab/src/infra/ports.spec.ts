import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';

import { PortInUseError } from './infra.errors';
import { DEFAULT_INFRA_PORTS, assertPortsFree, isPortFree, offsetPorts, portClaims } from './ports';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('offsetPorts', () => {
  it('moves every port by the offset', () => {
    assert.deepEqual(offsetPorts(DEFAULT_INFRA_PORTS, 20_000), {
      redis: 26379,
      kafka: 29092,
      kafkaController: 29093,
      otlpGrpc: 24317,
      otlpHttp: 24318,
      jaegerQuery: 36686,
    });
  });

  it('refuses an offset that pushes a port out of range, naming it', () => {
    assert.throws(() => offsetPorts(DEFAULT_INFRA_PORTS, 50_000), /jaegerQuery port to 66686/);
    assert.throws(() => offsetPorts(DEFAULT_INFRA_PORTS, 1.5), /must be an integer/);
  });
});

describe('assertPortsFree', () => {
  it('names the component and port that another process holds', async () => {
    const squatter = await listen(0);
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      // Redis is the first claim, and the first taken claim is the one named: whatever else holds the other ports
      // on a shared machine, the answer is this squatter.
      const ports = { ...offsetPorts(DEFAULT_INFRA_PORTS, 21_000), redis: port };
      await assert.rejects(assertPortsFree(ports), (error: unknown) => {
        assert.ok(error instanceof PortInUseError);
        assert.equal(error.component, 'Redis');
        assert.equal(error.port, port);
        assert.match(error.message, new RegExp(`Port ${port} for Redis is already in use.*--port-offset N`));
        return true;
      });
    } finally {
      await close(squatter);
    }
    assert.equal(await isPortFree(port), true);
  });

  it('refuses two components on one port', async () => {
    const ports = { ...DEFAULT_INFRA_PORTS, otlpHttp: DEFAULT_INFRA_PORTS.otlpGrpc };
    await assert.rejects(assertPortsFree(ports), /Jaeger OTLP gRPC and Jaeger OTLP HTTP are both given port 4317/);
  });

  it('also claims the Jaeger query gRPC port just below the query HTTP port', () => {
    assert.ok(portClaims(DEFAULT_INFRA_PORTS).some((claim) => claim.port === 16685));
  });
});
