import { PORT_KEYS, REDIS_KEYS, SWITCH_CONSUMER_GROUP } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { SwitchPort } from '../pipeline/switch-port';

export interface PortChanges {
  attached: SwitchPort[];
  detached: SwitchPort[];
  /** Attached ports whose consumer group could not be made (their tx key is of another type, say), and why. */
  faulty: [SwitchPort, string][];
}

/**
 * Which vNIC ports exist: one per VM in the operator's registry whose tenant has a VLAN. Rescanned periodically;
 * each scan reports what was attached and detached since the last one. A VM that comes back under another tenant
 * gets a new port (a new number), so nothing learned for the old one carries over.
 */
export class PortDirectory {
  private readonly byVm = new Map<string, SwitchPort>();
  private nextPortNo = 1;

  constructor(
    private readonly redis: Redis,
    /** Told each time a port's tx group had to be made (a new stream: the port is new, or the store lost it). */
    private readonly onTxCreated: (vm: string) => void = () => undefined,
  ) {}

  ports(): SwitchPort[] {
    return [...this.byVm.values()];
  }

  byVmId(vm: string): SwitchPort | undefined {
    return this.byVm.get(vm);
  }

  async scan(): Promise<PortChanges> {
    const ids = await this.redis.zrange(REDIS_KEYS.vmIndex, 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(REDIS_KEYS.vm(id), 'tenant');
    pipeline.hgetall(REDIS_KEYS.tenantVlans);
    const results = (await pipeline.exec()) ?? [];
    const vlans = (results[ids.length]?.[1] ?? {}) as Record<string, string>;
    const wanted = new Map<string, { tenant: string; vlan: number }>();
    ids.forEach((id, i) => {
      const tenant = results[i]?.[1] as string | null;
      const vlan = tenant ? Number(vlans[tenant]) : NaN;
      if (tenant && Number.isInteger(vlan) && vlan > 0) wanted.set(id, { tenant, vlan });
    });

    const changes: PortChanges = { attached: [], detached: [], faulty: [] };
    for (const [vm, port] of this.byVm) {
      const want = wanted.get(vm);
      if (!want || want.tenant !== port.tenant || want.vlan !== port.vlan) {
        this.byVm.delete(vm);
        changes.detached.push(port);
      }
    }
    for (const [vm, { tenant, vlan }] of wanted) {
      if (this.byVm.has(vm)) continue;
      const port: SwitchPort = { no: this.nextPortNo++, vm, tenant, vlan };
      changes.attached.push(port);
      // One VM's keys must not stop the scan for the VMs after it: its port is attached, and reported as faulty.
      await this.ensureGroup(vm).catch((error: unknown) => changes.faulty.push([port, describe(error)]));
      // Listed (so read) only once its group is there: a read of the new stream never overtakes its group's making.
      this.byVm.set(vm, port);
    }
    return changes;
  }

  /**
   * Of `vms`, those whose keys are in place as the operator makes them at registration: the tx stream with the
   * switch's group and the rx stream. Read-only: nothing is made here.
   */
  async keysReady(vms: readonly string[]): Promise<string[]> {
    if (vms.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const vm of vms) {
      pipeline.exists(PORT_KEYS.rx(vm));
      pipeline.xinfo('GROUPS', PORT_KEYS.tx(vm));
    }
    const results = (await pipeline.exec()) ?? [];
    return vms.filter((_, i) => {
      const [rxError, rx] = results[2 * i] ?? [];
      const [groupsError, groups] = results[2 * i + 1] ?? [];
      if (rxError || groupsError || rx !== 1 || !Array.isArray(groups)) return false;
      return groups.some((group) => Array.isArray(group) && group[1] === SWITCH_CONSUMER_GROUP);
    });
  }

  /**
   * An attached port's read found no group: makes it again on the stream that is there ('made', a new stream: the VM
   * wrote after its stream was lost), or does nothing when the stream itself is gone ('stream-gone'). A stream goes
   * only with its VM (the operator deletes a deleted VM's keys; the VM's own rights cannot delete it) or with the
   * store, and the operator makes it again when the VM registers: made here, it would be a key nobody owns, and its
   * port would look like a new generation of a VM that no longer exists. The next scan detaches a deleted VM's port.
   */
  restoreGroup(vm: string): Promise<'made' | 'present' | 'stream-gone'> {
    return this.createGroup(vm, false);
  }

  /** The consumer group reads the tx stream from its start, so frames sent before the switch saw the port count. */
  async ensureGroup(vm: string): Promise<void> {
    await this.createGroup(vm, true);
  }

  /** The switch's group on `vm`'s tx, from the stream's start; with `makeStream`, an empty stream where none is. */
  private async createGroup(vm: string, makeStream: boolean): Promise<'made' | 'present' | 'stream-gone'> {
    try {
      const args = ['CREATE', PORT_KEYS.tx(vm), SWITCH_CONSUMER_GROUP, '0', ...(makeStream ? ['MKSTREAM'] : [])];
      await this.redis.call('XGROUP', ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return 'present';
      // Redis: "The XGROUP subcommand requires the key to exist" (CREATE without MKSTREAM on a missing key).
      if (!makeStream && error instanceof Error && /requires the key to exist/.test(error.message)) {
        return 'stream-gone';
      }
      throw error;
    }
    this.onTxCreated(vm);
    return 'made';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
