import type { SwitchCounters } from '../pipeline/switch-counters';
import type { SwitchPort } from '../pipeline/switch-port';
import type { Delivery, PortEntry, PortWriter } from '../ports/port-io';
import type { PortQuarantine } from '../ports/port-quarantine';
import type { SampledFrame } from '../traces/packet-trace.sink';

/**
 * One batch's deliveries, per destination port, as the pipeline decides its frames: a copy of a frame goes to each
 * of its out ports that is not quarantined and whose rx has room for it (frames and bytes, counting what this batch
 * already planned for it); the others are dropped and counted (`port-quarantined`, `rx-full`). The commit writes
 * `deliveries` (see PortWriter.commit and rx-packing.ts, where a destination's frames become rx entries).
 */
export class DeliveryPlan {
  readonly deliveries = new Map<SwitchPort, Delivery[]>();
  /** Destinations this batch tried to write to: their rx lengths are read back with the commit. */
  readonly touched = new Set<SwitchPort>();
  private readonly planned = new Map<SwitchPort, { frames: number; bytes: number }>();

  constructor(private readonly writer: Pick<PortWriter, 'hasRoom'>) {}

  /** Plans `frame` for `outPorts`; returns the copies planned (each costs its tenant one unit of work). */
  deliver(
    frame: PortEntry,
    outPorts: readonly SwitchPort[],
    traced: SampledFrame | undefined,
    quarantine: Pick<PortQuarantine, 'has'>,
    counters: SwitchCounters,
  ): number {
    let copies = 0;
    for (const out of outPorts) {
      if (quarantine.has(out)) {
        counters.dropped(frame.port, 'port-quarantined');
        traced?.droppedAt(out, 'port-quarantined');
        continue;
      }
      this.touched.add(out);
      let planned = this.planned.get(out);
      if (!planned) this.planned.set(out, (planned = { frames: 0, bytes: 0 }));
      if (!this.writer.hasRoom(out, planned, frame.frame.length)) {
        counters.dropped(frame.port, 'rx-full');
        traced?.droppedAt(out, 'rx-full');
        continue;
      }
      planned.frames += 1;
      planned.bytes += frame.frame.length;
      copies += 1;
      const list = this.deliveries.get(out);
      if (list) list.push(frame);
      else this.deliveries.set(out, [frame]);
    }
    return copies;
  }
}

/** The tx entries a batch acknowledges, per port: their ids (for XACK and XDEL) and their frames (for the ledger). */
export class AckList {
  readonly ids = new Map<SwitchPort, string[]>();
  readonly frames = new Map<SwitchPort, number[]>();

  add({ port, id, entry }: PortEntry): void {
    const ids = this.ids.get(port);
    if (ids) {
      ids.push(id);
      this.frames.get(port)!.push(entry.frames);
    } else {
      this.ids.set(port, [id]);
      this.frames.set(port, [entry.frames]);
    }
  }
}
