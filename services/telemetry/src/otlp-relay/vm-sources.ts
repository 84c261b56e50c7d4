import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import type { VmIdentifier } from './vm-identifier';

export interface VmIdentity {
  vm: string;
  tenant: string;
}

export type ResolveAddresses = (hostname: string) => Promise<string[]>;

const resolveAll: ResolveAddresses = async (hostname) =>
  (await lookup(hostname, { all: true })).map((entry) => entry.address);

/** `::ffff:172.18.0.5` (an IPv4 peer on a dual-stack socket) as `172.18.0.5`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/**
 * Which lab VM a connection comes from, by its source address: in Docker each VM is a container on the tenant
 * network whose name (the compose service, the VM id) resolves to its address there, and a VM cannot choose its
 * address. Addresses change when a container is recreated, so an unknown address re-resolves every name, at most
 * once per `refreshIntervalMs` (an unknown sender cannot make the relay flood the resolver).
 */
export class VmSources implements VmIdentifier {
  readonly unidentified = { status: 403, message: 'not a VM of this lab' };
  private byAddress = new Map<string, VmIdentity>();
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly vms: readonly VmIdentity[],
    private readonly refreshIntervalMs = 1000,
    private readonly resolve: ResolveAddresses = resolveAll,
    private readonly now: () => number = () => performance.now(),
  ) {}

  identify(request: IncomingMessage): Promise<VmIdentity | undefined> {
    return this.identifyAddress(request.socket.remoteAddress ?? '');
  }

  async identifyAddress(address: string): Promise<VmIdentity | undefined> {
    const plain = plainAddress(address);
    const known = this.byAddress.get(plain);
    if (known) return known;
    if (this.now() - this.lastRefresh >= this.refreshIntervalMs) {
      this.lastRefresh = this.now();
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    }
    await this.refreshing;
    return this.byAddress.get(plain);
  }

  private async refresh(): Promise<void> {
    const next = new Map<string, VmIdentity>();
    await Promise.all(
      this.vms.map(async (identity) => {
        const addresses = await this.resolve(identity.vm).catch(() => []);
        for (const address of addresses) next.set(plainAddress(address), identity);
      }),
    );
    this.byAddress = next;
  }
}
