import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  type CircuitConnections,
  JsonLogger,
  PORT_KEYS,
  type PortLedger,
  type StageSnapshot,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { VmRedis } from '../circuits/vm-redis';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { type FrameBatchHandler, newReceiverCounters, PortReceiver } from './port-receiver';
import { newSenderCounters, type PortSendOptions, PortSender } from './port-sender';
import { StoreLoss, type StoreLossReport } from './store-loss';
import { newVnicStages, type VnicStage } from './vnic-stages';

export interface VnicStatus {
  vm: string;
  mac: string;
  ipv4: string;
  tx: string;
  rx: string;
  sent: { frames: number; bytes: number; waits: number; unknownOutcome: number };
  received: { frames: number; bytes: number; malformed: number };
  /** Frames lost with a store that restarted empty, from the switch's ledger entries (issue 10). */
  lostInStore: StoreLossReport;
  /** Why the receiver is not reading right now (not registered yet, Redis away), if it is not. */
  receiverProblem?: string;
  /** Where frames' time goes in this vNIC, per stage (issue 11; see vnic-stages.ts). */
  stages: Record<VnicStage, StageSnapshot>;
}

/** The receiver retries this slowly at most while Redis or the credentials are not there. */
const RETRY_MAX_MS = 2000;

/**
 * This VM's vNIC: a port on the switch, made of two Redis streams that the VM reaches as its own ACL user (never the
 * admin). `send` writes frames to tx; one receiver reads rx for the VM's whole life and hands every batch to the
 * subscribers. Both follow the VM's credentials: a re-registration rotates them, and the next send or read uses the
 * new connections.
 */
@Injectable()
export class VnicService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sentCounters = newSenderCounters();
  private readonly receivedCounters = newReceiverCounters();
  private readonly storeLoss = new StoreLoss(this.sentCounters, this.receivedCounters);
  private readonly stages = newVnicStages();
  private readonly subscribers = new Set<FrameBatchHandler>();
  private sender: { connections: CircuitConnections; sender: PortSender } | undefined;
  private receiver: PortReceiver | undefined;
  private receiverProblem: string | undefined = 'not started';
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly redis: VmRedis,
    private readonly logger: JsonLogger,
  ) {}

  /** Resolves once every frame is in tx (waiting while tx is full); 503 while the VM has no credentials yet. */
  send(frames: readonly Buffer[], options?: PortSendOptions): Promise<void> {
    let connections: CircuitConnections;
    try {
      connections = this.redis.connections();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error('no Redis connection', { cause: error }));
    }
    if (this.sender?.connections !== connections) {
      // New credentials: the frames the old ones wrote went to the store those credentials were made in.
      this.storeLoss.credentialsChanged();
      this.sender = {
        connections,
        sender: new PortSender(connections.commands, this.config.VM_ID, this.sentCounters, this.stages),
      };
    }
    return this.sender.sender.send(frames, options);
  }

  /** Calls `handler` with every batch of frames received; returns the unsubscribe function. */
  onFrames(handler: FrameBatchHandler): () => void {
    this.subscribers.add(handler);
    return () => this.subscribers.delete(handler);
  }

  status(): VnicStatus {
    const vm = this.config.VM_ID;
    const { framesSent, bytesSent, sendWaits, unknownOutcome } = this.sentCounters;
    const { framesReceived, bytesReceived, malformed } = this.receivedCounters;
    return {
      vm,
      mac: vmMacAddress(vm),
      ipv4: vmIpv4Address(vm),
      tx: PORT_KEYS.tx(vm),
      rx: PORT_KEYS.rx(vm),
      sent: { frames: framesSent, bytes: bytesSent, waits: sendWaits, unknownOutcome },
      received: { frames: framesReceived, bytes: bytesReceived, malformed },
      lostInStore: this.storeLoss.report(),
      ...(this.receiverProblem === undefined ? {} : { receiverProblem: this.receiverProblem }),
      stages: this.stages.snapshot(),
    };
  }

  onApplicationBootstrap(): void {
    this.running = this.receive();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.receiver?.close();
    this.wake?.();
    await this.running;
  }

  /** Keeps a receiver reading rx, replacing it after a failure (not registered yet, credentials rotated, Redis away). */
  private async receive(): Promise<void> {
    let position = '0-0';
    let failures = 0;
    while (!this.stopped) {
      let receiver: PortReceiver | undefined;
      try {
        receiver = new PortReceiver(
          this.redis.connections().openBlocking(),
          this.config.VM_ID,
          (frames) => this.dispatch(frames),
          position,
          this.receivedCounters,
          (ledger) => this.settle(ledger),
          this.stages,
        );
        this.receiver = receiver;
        this.receiverProblem = undefined;
        await receiver.run();
      } catch (error) {
        if (this.stopped) return;
        if (receiver && receiver.reads > 0) failures = 0;
        this.receiverProblem = error instanceof Error ? error.message : String(error);
        // Not registered yet is how every VM starts: debug. Anything else (Redis away, credentials refused) is news.
        const level = this.redis.hasCredentials() ? 'warn' : 'debug';
        if (failures++ % 20 === 0) this.logger.record(level, `vNIC rx not readable: ${this.receiverProblem}`);
        await this.pause(Math.min(100 * 2 ** failures, RETRY_MAX_MS));
      } finally {
        position = receiver?.position ?? position;
      }
    }
  }

  private settle(ledger: PortLedger): void {
    // The sender of the current credentials writes to the new store; any older one wrote to the store now lost.
    const current = this.sender !== undefined && this.sender.connections === this.currentConnections();
    this.storeLoss.settle(ledger, current);
    this.logger.record('info', `store generation ${ledger.generation} of this vNIC ended`, {
      ledger,
      lostInStore: this.storeLoss.report(),
    });
  }

  private currentConnections(): CircuitConnections | undefined {
    try {
      return this.redis.connections();
    } catch {
      return undefined;
    }
  }

  private dispatch(frames: Buffer[]): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(frames);
      } catch (error) {
        this.logger.record('warn', `a vNIC subscriber failed on ${frames.length} frames: ${String(error)}`);
      }
    }
  }

  /** A delay that shutdown cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
