import { Injectable } from '@nestjs/common';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CircuitDatagramSocket, CircuitStream, DomainError, JsonLogger, ValidationError } from '@tenantlab/shared';
import { type CircuitSocket, CircuitSocketsService } from '../circuits/circuit-sockets.service';
import { EchoWorkloadDto, PingWorkloadDto, SendWorkloadDto } from './dto/workload.dto';
import { PatternStreamVerifier, patternMessage } from './message-pattern';

export interface SendReport {
  circuit: string;
  mode: string;
  count: number;
  size: number;
  /** True when every message came back exactly once, in order, byte for byte. */
  verified: boolean;
  problem?: string;
  durationMs: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

export interface PingReport {
  circuit: string;
  count: number;
  size: number;
  oneWayP50Us: number;
  oneWayP99Us: number;
}

/** Sends kept outstanding by the datagram sender (by count and bytes); awaiting them is the backpressure. */
const SEND_WINDOW = 1024;
const SEND_WINDOW_BYTES = 8 * 1024 * 1024;
/** One request moves at most this much each way, so a mistyped count cannot keep a VM busy for hours. */
const MAX_TRANSFER_BYTES = 1024 * 1024 * 1024;

/** Built-in workloads that labs and tests drive over HTTP: an echo server, a verifying sender, a latency probe. */
@Injectable()
export class WorkloadsService {
  private readonly echoing = new Set<string>();

  constructor(
    private readonly sockets: CircuitSocketsService,
    private readonly logger: JsonLogger,
  ) {}

  /** Echoes every circuit opened to `service`: streams byte for byte until FIN, datagrams one for one. */
  async echo({ service }: EchoWorkloadDto): Promise<{ service: string }> {
    await this.sockets.listen(service, (socket) => this.echoOn(socket));
    this.echoing.add(service);
    return { service };
  }

  echoServices(): string[] {
    return [...this.echoing];
  }

  async send(request: SendWorkloadDto): Promise<SendReport> {
    if (request.count * request.size > MAX_TRANSFER_BYTES) {
      throw new ValidationError(`count × size is more than ${MAX_TRANSFER_BYTES} bytes; send less per request`, [
        `count × size: ${request.count * request.size} > ${MAX_TRANSFER_BYTES}`,
      ]);
    }
    const socket = await this.sockets.connect(request.target, request.mode);
    const started = performance.now();
    try {
      const problem =
        socket instanceof CircuitStream
          ? await sendOverStream(socket, request.count, request.size)
          : await sendDatagrams(socket, request.count, request.size);
      const seconds = (performance.now() - started) / 1000;
      return {
        circuit: socket.circuit.id,
        mode: request.mode,
        count: request.count,
        size: request.size,
        verified: problem === undefined,
        ...(problem ? { problem } : {}),
        durationMs: Math.round(seconds * 1000),
        messagesPerSecond: Math.round(request.count / seconds),
        megabytesPerSecond: Math.round((request.count * request.size) / seconds / 1e4) / 100,
      };
    } finally {
      closeSocket(socket);
    }
  }

  async ping(request: PingWorkloadDto): Promise<PingReport> {
    const count = request.count ?? 1000;
    const size = request.size ?? 64;
    const socket = await this.sockets.connect(request.target, 'datagram');
    if (!(socket instanceof CircuitDatagramSocket)) throw new Error('ping needs a datagram circuit');
    try {
      const samples: number[] = [];
      const payload = patternMessage(0, size);
      let answered: (() => void) | undefined;
      let failed: ((error: Error) => void) | undefined;
      socket.on('message', () => answered?.());
      socket.on('error', (error) => failed?.(error));
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await new Promise<void>((resolve, reject) => {
          answered = resolve;
          failed = reject;
          socket.send(payload).catch(reject);
        });
        samples.push(((performance.now() - started) * 1000) / 2);
      }
      samples.sort((a, b) => a - b);
      const at = (q: number): number => Math.round(samples[Math.min(samples.length - 1, Math.ceil(q * count) - 1)]);
      return { circuit: socket.circuit.id, count, size, oneWayP50Us: at(0.5), oneWayP99Us: at(0.99) };
    } finally {
      closeSocket(socket);
    }
  }

  private echoOn(socket: CircuitSocket): void {
    const log = (error: Error): void =>
      this.logger.record('warn', `echo on circuit ${socket.circuit.id} ended: ${error.message}`);
    if (socket instanceof CircuitStream) {
      socket.on('error', log);
      socket.pipe(socket);
      return;
    }
    socket.on('error', log);
    socket.on('message', (data) => {
      socket.send(data).catch(log);
    });
    socket.on('end', () => void socket.close().catch(log));
  }
}

/** Writes the pattern with backpressure, half-closes, and verifies the echo as it streams back. */
async function sendOverStream(stream: CircuitStream, count: number, size: number): Promise<string | undefined> {
  const verifier = new PatternStreamVerifier(count, size);
  stream.on('data', (chunk: Buffer) => verifier.update(chunk));
  const ended = once(stream, 'end');
  // If the stream fails while a write waits for 'drain', that wait rejects and `ended` is never awaited: without a
  // handler its rejection would be unhandled, which ends the VM's process.
  ended.catch(() => undefined);
  for (let seq = 0; seq < count; seq++) {
    if (!stream.write(patternMessage(seq, size))) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  return verifier.problem();
}

/** Sends the pattern as datagrams and checks each echo arrives once, in order, intact. */
async function sendDatagrams(socket: CircuitDatagramSocket, count: number, size: number): Promise<string | undefined> {
  let next = 0;
  let problem: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('message', (data) => {
      if (problem === undefined && !data.equals(patternMessage(next, size))) {
        problem = `echo ${next} differs from what was sent (got sequence ${data.length >= 4 ? data.readUInt32BE(0) : '?'})`;
      }
      next += 1;
      if (next === count) resolve();
    });
    socket.on('end', () => {
      if (next < count) reject(new DomainError('CIRCUIT_CLOSED', `peer closed after ${next} of ${count} echoes`));
    });
  });
  done.catch(() => undefined); // as in sendOverStream: a failed send may leave `done` never awaited
  const window: Promise<void>[] = [];
  for (let seq = 0; seq < count; seq++) {
    window.push(socket.send(patternMessage(seq, size)));
    if (window.length === SEND_WINDOW || window.length * size >= SEND_WINDOW_BYTES) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await done;
  return problem;
}

function closeSocket(socket: CircuitSocket): void {
  if (socket instanceof CircuitStream) {
    if (!socket.destroyed) socket.destroy();
  } else {
    void socket.close().catch(() => socket.destroy());
  }
}
