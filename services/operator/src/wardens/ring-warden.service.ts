import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CIRCUIT_KEYS, JsonLogger, RING_ENTRIES_SLACK, ringBytesMax, type RingDirection } from '@tenantlab/shared';
import { CircuitTeardownService } from '../circuits/circuit-teardown.service';
import type { CircuitRecord } from '../circuits/circuit-record';
import { CircuitsRepository } from '../circuits/circuits.repository';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { PeriodicPass } from '../periodic-pass';
import { WardensRepository } from './wardens.repository';

/** How every reason the ring warden gives starts, so a VM told of the teardown can tell it from a close. */
export const RING_WARDEN_REASON_PREFIX = 'ring warden:';

const DIRECTIONS: readonly RingDirection[] = ['a2b', 'b2a'];

/**
 * Keeps every live circuit's rings to their capacity whoever holds the ends (issue 10). A ring's reader checks its
 * ring on every read (ring-reader.ts), but it is the writer's peer: when one attacker holds both ends (a circuit to
 * itself, or between two of its VMs) the reader never trims and the writer ignores its credit, and nothing else
 * bounds the ring. Every WARDEN_INTERVAL_MS this reads each open circuit's two rings' XLEN and an estimate of their
 * MEMORY USAGE (a few sampled stream nodes), all in one round trip: O(circuits). A ring over capacity.entries plus
 * FIN and RST, or over the bytes an honest ring of its capacity can take (ringBytesMax; an estimate over it is
 * confirmed over every node first), has its circuit torn down, keys and all (the memory is freed), and both VMs
 * are told why (their inboxes) and counted (GET /circuits: `warden.ringResets`, with the last reason).
 */
@Injectable()
export class RingWardenService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly periodic: PeriodicPass;

  constructor(
    private readonly circuits: CircuitsRepository,
    private readonly wardens: WardensRepository,
    private readonly teardowns: CircuitTeardownService,
    @Inject(OPERATOR_CONFIG) config: Pick<OperatorConfig, 'WARDEN_INTERVAL_MS'>,
    private readonly logger: JsonLogger,
  ) {
    this.periodic = new PeriodicPass('ring warden', config.WARDEN_INTERVAL_MS, () => this.checkOnce(), logger, {
      context: 'wardens',
    });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.periodic.stop();
  }

  /** One pass; returns the circuits it reset. */
  async checkOnce(): Promise<string[]> {
    const open = (await this.circuits.all()).filter((circuit) => circuit.state === 'open');
    const rings = open.flatMap((circuit) => DIRECTIONS.map((direction) => ({ circuit, direction })));
    const sizes = await this.wardens.ringSizes(
      rings.map(({ circuit, direction }) => CIRCUIT_KEYS.ring(circuit.id, direction)),
    );
    const reset: string[] = [];
    for (const [i, { circuit, direction }] of rings.entries()) {
      if (reset.includes(circuit.id)) continue;
      const reason = await this.overCapacity(circuit, direction, sizes[i] ?? { entries: 0, bytes: 0 });
      if (reason === undefined) continue;
      reset.push(circuit.id);
      for (const vm of new Set([circuit.a.vm, circuit.b.vm])) await this.wardens.count(vm, 'ring-resets', 1, reason);
      this.logger.record('warn', `circuit ${circuit.id} reset: ${reason}`, { context: 'wardens', circuit: circuit.id });
      await this.teardowns.teardown(circuit.id, reason);
    }
    return reset;
  }

  private async overCapacity(
    circuit: CircuitRecord,
    direction: RingDirection,
    size: { entries: number; bytes: number },
  ): Promise<string | undefined> {
    const writer = direction === 'a2b' ? circuit.a.vm : circuit.b.vm;
    const ring = `ring ${direction} of circuit ${circuit.id} (written by ${writer})`;
    const entries = circuit.capacity.entries + RING_ENTRIES_SLACK;
    if (size.entries > entries) {
      return (
        `${RING_WARDEN_REASON_PREFIX} ${ring} holds ${size.entries} entries, over its capacity of ` +
        `${circuit.capacity.entries} (+ FIN and RST): its writer ignores its credit and its reader does not trim`
      );
    }
    const bytes = ringBytesMax(circuit.capacity);
    if (size.bytes <= bytes) return undefined;
    const exact = await this.wardens.exactBytes(CIRCUIT_KEYS.ring(circuit.id, direction));
    if (exact <= bytes) return undefined;
    return (
      `${RING_WARDEN_REASON_PREFIX} ${ring} takes ${exact} bytes of Redis memory, over the ${bytes} a ring of ` +
      `capacity ${circuit.capacity.entries} entries and ${circuit.capacity.bytes} bytes can take: its writer ` +
      'ignores its credit and its reader does not trim'
    );
  }
}
