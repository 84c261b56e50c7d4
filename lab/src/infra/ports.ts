import net from 'node:net';

import { PortInUseError } from './infra.errors';

export interface InfraPorts {
  redis: number;
  kafka: number;
  kafkaController: number;
  otlpGrpc: number;
  otlpHttp: number;
  jaegerQuery: number;
}

/** The ports the official images use, so a service's defaults work against either the local or the compose lab. */
export const DEFAULT_INFRA_PORTS: Readonly<InfraPorts> = Object.freeze({
  redis: 6379,
  kafka: 9092,
  kafkaController: 9093,
  otlpGrpc: 4317,
  otlpHttp: 4318,
  jaegerQuery: 16686,
});

const MAX_PORT = 65535;

/** Shifts every port by `offset`, for running a second lab (or the integration tests) beside the default one. */
export function offsetPorts(ports: InfraPorts, offset: number): InfraPorts {
  if (!Number.isInteger(offset)) throw new RangeError(`Port offset must be an integer, got ${offset}.`);
  const shifted = { ...ports };
  for (const key of Object.keys(shifted) as (keyof InfraPorts)[]) {
    const port = ports[key] + offset;
    if (port < 1 || port > MAX_PORT) {
      throw new RangeError(`Port offset ${offset} moves the ${key} port to ${port}, outside 1-${MAX_PORT}.`);
    }
    shifted[key] = port;
  }
  return shifted;
}

/**
 * Jaeger's query extension always serves gRPC as well as HTTP. Rather than widen `InfraPorts` with a port nobody
 * calls, it takes the port just below the HTTP one, which is Jaeger's own default pairing (16685 / 16686).
 */
export function jaegerQueryGrpcPort(ports: InfraPorts): number {
  return ports.jaegerQuery - 1;
}

export interface PortClaim {
  component: string;
  port: number;
}

/** Every port the local infrastructure listens on, labelled for error messages. */
export function portClaims(ports: InfraPorts): PortClaim[] {
  return [
    { component: 'Redis', port: ports.redis },
    { component: 'Kafka', port: ports.kafka },
    { component: 'the Kafka controller', port: ports.kafkaController },
    { component: 'Jaeger OTLP gRPC', port: ports.otlpGrpc },
    { component: 'Jaeger OTLP HTTP', port: ports.otlpHttp },
    { component: 'the Jaeger query API', port: ports.jaegerQuery },
    { component: 'Jaeger query gRPC', port: jaegerQueryGrpcPort(ports) },
  ];
}

/**
 * True when nothing listens on 127.0.0.1:port. Binding is the honest test: it also catches listeners on 0.0.0.0 or
 * [::], and Node sets SO_REUSEADDR, so sockets left in TIME_WAIT by a process we just stopped do not count.
 */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Fails with a `PortInUseError` naming the first component whose port is taken. */
export async function assertPortsFree(ports: InfraPorts): Promise<void> {
  const claims = portClaims(ports);
  const seen = new Map<number, string>();
  for (const claim of claims) {
    const other = seen.get(claim.port);
    if (other) throw new RangeError(`${other} and ${claim.component} are both given port ${claim.port}.`);
    seen.set(claim.port, claim.component);
  }
  const free = await Promise.all(claims.map((claim) => isPortFree(claim.port)));
  const taken = claims.find((_, index) => !free[index]);
  if (taken) throw new PortInUseError(taken.component, taken.port);
}
