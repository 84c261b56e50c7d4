import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConflictError, vmMacAddress } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { DEFAULT_SEND_BATCH } from '../vnic/port-sender';
import { VnicService } from '../vnic/vnic.service';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import { ReplayFramesDto } from './dto/replay-frames.dto';
import { FlowSequences } from './flow-sequences';
import { FrameReplayer, macBytes, type ReplayReport } from './frame-replayer';
import { type GenerateReport, TrafficGenerator } from './traffic-generator';
import { type ReceivedReport, TrafficReceiver } from './traffic-receiver';
import { monotonicMicros32 } from './tlab-header';

const DEFAULT_SEED = 1;

/**
 * The traffic workload on this VM's vNIC: a generator driven over HTTP, one run at a time, and a receiver that is
 * always on and counts every frame that arrives.
 */
@Injectable()
export class TrafficService implements OnModuleInit, OnModuleDestroy {
  private readonly receiver: TrafficReceiver;
  private readonly generator: TrafficGenerator;
  private readonly replayer: FrameReplayer;
  private readonly mac: Buffer;
  private running = false;
  private replaying = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(TENANT_VM_CONFIG) config: TenantVmConfig,
    private readonly vnic: VnicService,
  ) {
    this.receiver = new TrafficReceiver(vmMacAddress(config.VM_ID));
    this.generator = new TrafficGenerator(config.VM_ID, new FlowSequences(), (frames, options) =>
      this.vnic.send(frames, options),
    );
    this.replayer = new FrameReplayer((frames, options) => this.vnic.send(frames, options));
    this.mac = macBytes(vmMacAddress(config.VM_ID));
  }

  onModuleInit(): void {
    this.unsubscribe = this.vnic.onFrames((frames) => {
      // One reading per batch: the frames of a batch arrived in the same read.
      const now = monotonicMicros32();
      for (const frame of frames) this.receiver.receive(frame, now);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  async generate(request: GenerateTrafficDto): Promise<GenerateReport> {
    if (this.running) {
      throw new ConflictError('a traffic run is already going on this VM; wait for its answer, then start the next');
    }
    this.running = true;
    try {
      return await this.generator.run({
        to: request.to,
        protocol: request.protocol,
        count: request.count,
        size: request.size,
        ratePps: request.ratePps,
        batch: request.batch ?? DEFAULT_SEND_BATCH,
        flows: request.flows ?? 1,
        zipf: request.zipf,
        seed: request.seed ?? DEFAULT_SEED,
      });
    } finally {
      this.running = false;
    }
  }

  /**
   * One request of a replay: its frames from this VM's MAC, paced. A second request while one runs is refused (409)
   * rather than queued: a replay's driver sends its requests one after the other, and two replays interleaved on one
   * vNIC would pace neither as recorded. A replay may run beside a traffic run (each has its own flag).
   */
  async replay(request: ReplayFramesDto): Promise<ReplayReport> {
    if (this.replaying) {
      throw new ConflictError('a replay request is already going on this VM; wait for its answer, then send the next');
    }
    const frames = request.frames.map(({ atUs, data }) => ({ atUs, bytes: Buffer.from(data, 'base64') }));
    const speed = request.speed ?? 1;
    // Checked before the flag is taken, so a refused request never makes the next one a 409.
    this.replayer.check(frames, speed);
    this.replaying = true;
    try {
      return await this.replayer.run({
        frames,
        sourceMac: this.mac,
        destinationMac: request.to === undefined ? undefined : macBytes(destinationMacOf(request.to)),
        speed,
      });
    } finally {
      this.replaying = false;
    }
  }

  received(): ReceivedReport {
    return this.receiver.report();
  }

  resetReceived(): void {
    this.receiver.reset();
  }
}

/** `to` as a MAC: a MAC as given (the DTO checked it), a VM id as that VM's MAC (ids hold no colon). */
function destinationMacOf(to: string): string {
  return to.includes(':') ? to : vmMacAddress(to);
}
