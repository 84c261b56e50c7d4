import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConflictError, vmMacAddress } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { DEFAULT_SEND_BATCH } from '../vnic/port-sender';
import { VnicService } from '../vnic/vnic.service';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import { FlowSequences } from './flow-sequences';
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
  private running = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(TENANT_VM_CONFIG) config: TenantVmConfig,
    private readonly vnic: VnicService,
  ) {
    this.receiver = new TrafficReceiver(vmMacAddress(config.VM_ID));
    this.generator = new TrafficGenerator(config.VM_ID, new FlowSequences(), (frames, options) =>
      this.vnic.send(frames, options),
    );
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

  received(): ReceivedReport {
    return this.receiver.report();
  }

  resetReceived(): void {
    this.receiver.reset();
  }
}
