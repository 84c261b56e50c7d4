import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  type CircuitDescriptor,
  CircuitDatagramSocket,
  type CircuitMode,
  type CircuitTraffic,
  CircuitStream,
  CircuitTornDownError,
  ConflictError,
  JsonLogger,
} from '@tenantlab/shared';
import { RegistrationService } from '../registration/registration.service';
import { CircuitBrokerClient } from './circuit-broker.client';
import { type CircuitResetCount, CircuitResets, WARDEN_REASON_PREFIX } from './circuit-resets';
import { VmRedis } from './vm-redis';

export type CircuitSocket = CircuitStream | CircuitDatagramSocket;
export type ConnectionHandler = (socket: CircuitSocket) => void;

export interface OpenCircuitView {
  id: string;
  mode: CircuitMode;
  side: 'a' | 'b';
  service: string;
  peer: string;
}

/**
 * The socket-like API applications inside this VM use (seed 001 keeps the socket API): `listen(service, handler)`
 * and `connect(target, mode)`, which return a stream (Node Duplex) or a datagram socket. Setup goes through the
 * operator, which checks policy once; data then flows over the circuit's rings without the operator.
 */
@Injectable()
export class CircuitSocketsService implements OnApplicationShutdown {
  private readonly handlers = new Map<string, ConnectionHandler>();
  private readonly open = new Map<string, CircuitSocket>();
  private readonly resetCounts = new CircuitResets();
  /** Bytes of the circuits that closed, so the totals (metrics) never go back when one closes. */
  private readonly closedTraffic: CircuitTraffic = { sentBytes: 0, receivedBytes: 0 };

  constructor(
    private readonly broker: CircuitBrokerClient,
    private readonly redis: VmRedis,
    private readonly logger: JsonLogger,
    registration: RegistrationService,
  ) {
    registration.onRegisteredAgain(() => this.listenAgain());
  }

  /** Announces every listener of this VM again, after a registration the operator may have started afresh. */
  private async listenAgain(): Promise<void> {
    for (const service of this.handlers.keys()) {
      try {
        await this.broker.listen(service);
      } catch (error) {
        this.logger.record('warn', `could not listen on ${service} again after registering: ${String(error)}`, {
          context: 'circuits',
        });
      }
    }
  }

  async listen(service: string, handler: ConnectionHandler): Promise<void> {
    if (this.handlers.has(service)) throw new ConflictError(`this VM already listens on ${service}`);
    await this.broker.listen(service);
    this.handlers.set(service, handler);
  }

  async unlisten(service: string): Promise<void> {
    this.handlers.delete(service);
    await this.broker.unlisten(service);
  }

  async connect(target: string, mode: CircuitMode): Promise<CircuitSocket> {
    return this.openSocket(await this.broker.connect(target, mode));
  }

  /** Called for each circuit the operator announces in this VM's inbox. */
  accept(descriptor: CircuitDescriptor): void {
    const handler = this.handlers.get(descriptor.service);
    const socket = this.openSocket(descriptor);
    if (!handler) {
      // Announced after this VM stopped listening (or restarted): refuse it so the peer hears at once.
      this.logger.record('warn', `refusing circuit ${descriptor.id}: not listening on ${descriptor.service}`);
      destroySocket(socket, `${descriptor.local.vm} does not listen on ${descriptor.service}`);
      return;
    }
    handler(socket);
  }

  /** The operator tore a circuit down; its socket learns it from its own ring too, this only makes it prompt. */
  closed(circuitId: string, reason: string): void {
    if (reason.startsWith(WARDEN_REASON_PREFIX)) this.resetCounts.recordWardenReset(reason);
    const socket = this.open.get(circuitId);
    if (!socket) return;
    const error = new CircuitTornDownError(circuitId, `the operator tore it down: ${reason}`);
    if (socket instanceof CircuitStream) socket.tornDown(error);
    else socket.fail(error);
  }

  /** This VM's circuits that ended in a reset since it started, by error code, with the last reason. */
  resets(): Record<string, CircuitResetCount> {
    return this.resetCounts.snapshot();
  }

  /** Payload bytes over this VM's circuits since it started, each way, closed circuits included. */
  traffic(): CircuitTraffic {
    const total = { ...this.closedTraffic };
    for (const socket of this.open.values()) {
      const traffic = socket.traffic();
      total.sentBytes += traffic.sentBytes;
      total.receivedBytes += traffic.receivedBytes;
    }
    return total;
  }

  list(): OpenCircuitView[] {
    return [...this.open.values()].map(({ circuit }) => ({
      id: circuit.id,
      mode: circuit.mode,
      side: circuit.side,
      service: circuit.service,
      peer: circuit.peer.vm,
    }));
  }

  onApplicationShutdown(): void {
    for (const socket of this.open.values()) destroySocket(socket, `${socket.circuit.local.vm} is shutting down`);
  }

  private openSocket(descriptor: CircuitDescriptor): CircuitSocket {
    const connections = this.redis.connections();
    const socket =
      descriptor.mode === 'stream'
        ? new CircuitStream(descriptor, connections)
        : new CircuitDatagramSocket(descriptor, connections);
    this.open.set(descriptor.id, socket);
    // An 'error' nobody listens for is thrown: one application's forgotten handler must not end the whole VM.
    // A reset (the peer broke the protocol, e.g. wrote past its ring's capacity, or reset) is counted with its reason.
    socket.on('error', (error: Error) => {
      const reset = this.resetCounts.record(error);
      this.logger.record(reset ? 'warn' : 'debug', `circuit ${descriptor.id} failed: ${error.message}`, {
        circuit: descriptor.id,
      });
    });
    socket.once('close', () => {
      this.open.delete(descriptor.id);
      const traffic = socket.traffic();
      this.closedTraffic.sentBytes += traffic.sentBytes;
      this.closedTraffic.receivedBytes += traffic.receivedBytes;
      // Both sides ask; the second gets 404, which is fine. The operator's lease reaper is the backstop.
      this.broker.close(descriptor.id).catch((error: unknown) => {
        this.logger.record('warn', `operator did not tear down circuit ${descriptor.id}: ${String(error)}`);
      });
    });
    return socket;
  }
}

function destroySocket(socket: CircuitSocket, reason: string): void {
  if (socket instanceof CircuitStream) socket.destroy(new Error(reason));
  else socket.destroy(reason);
}
