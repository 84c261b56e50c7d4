import { type InboxMessage, JsonLogger, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import type { AclRepository, AclSources } from '../acl/acl.repository';
import type { CircuitRecord } from '../circuits/circuit-record';
import type { QuotaCharge } from '../circuits/circuit-quota';
import type { CircuitsRepository, ListenOutcome } from '../circuits/circuits.repository';
import type { ClaimConditions, ClaimOutcome, RegistryRepository } from '../registry/registry.repository';
import { sha256Hex } from '../auth/vm-secrets';
import type { TenantCaps } from '../tenants/tenant-caps';
import type { TenantRecord } from '../tenants/tenant-record';
import type { DeclareOutcome, TenantsRepository } from '../tenants/tenants.repository';
import { TenantsService, type TenantsConfig } from '../tenants/tenants.service';
import type { VmRecord } from '../registry/vm-record';
import { vmKeyNames, type VmKeysRepository } from '../vm-keys/vm-keys.repository';
import { VmKeysService } from '../vm-keys/vm-keys.service';

// Stand-ins for the repositories (Redis I/O) only, for unit tests: the behaviour under test is the services'.

export class InMemoryRegistryRepository implements Pick<
  RegistryRepository,
  'find' | 'findIdByTokenHash' | 'save' | 'claim' | 'touch' | 'remove' | 'list'
> {
  readonly records = new Map<string, VmRecord>();
  readonly tokens = new Map<string, string>();

  async find(id: string): Promise<VmRecord | undefined> {
    const record = this.records.get(id);
    return record && { ...record };
  }

  async findIdByTokenHash(tokenHash: string): Promise<string | undefined> {
    return this.tokens.get(tokenHash);
  }

  async save(record: VmRecord, replacedTokenHash?: string): Promise<void> {
    if (replacedTokenHash !== undefined) this.tokens.delete(replacedTokenHash);
    this.records.set(record.id, { ...record });
    this.tokens.set(record.tokenHash, record.id);
  }

  /** CLAIM_SCRIPT's checks but the tenant's (this registry knows no tenants): the record read, and maxVms. */
  async claim(record: VmRecord, conditions: ClaimConditions): Promise<ClaimOutcome> {
    if (this.records.get(record.id)?.tokenHash !== conditions.readTokenHash) {
      return { claimed: false, reason: 'record-changed' };
    }
    const live = [...this.records.values()].filter(
      (vm) => vm.id !== record.id && vm.tenant === record.tenant && vm.lastHeartbeatAt >= conditions.aliveSince,
    ).length;
    if (live >= conditions.maxVms) return { claimed: false, reason: 'max-vms', live };
    await this.save(record, conditions.readTokenHash);
    return { claimed: true };
  }

  async touch(id: string, at: number): Promise<boolean> {
    const record = this.records.get(id);
    if (!record) return false;
    record.lastHeartbeatAt = at;
    return true;
  }

  async remove(record: Pick<VmRecord, 'id' | 'tokenHash'>): Promise<boolean> {
    this.tokens.delete(record.tokenHash);
    return this.records.delete(record.id);
  }

  async list(): Promise<VmRecord[]> {
    return [...this.records.values()].sort((a, b) => a.registeredAt - b.registeredAt);
  }
}

export class InMemoryCircuitsRepository implements Pick<
  CircuitsRepository,
  | 'addListener'
  | 'removeListener'
  | 'listenersOf'
  | 'servicesOf'
  | 'create'
  | 'createKeys'
  | 'commit'
  | 'find'
  | 'circuitsOf'
  | 'all'
  | 'beginTeardown'
  | 'deleteKeys'
  | 'finishTeardown'
  | 'appendToInbox'
  | 'deleteInbox'
> {
  /** service -> tenant -> vm */
  readonly listeners = new Map<string, Map<string, string>>();
  readonly records = new Map<string, { record: CircuitRecord; charges: QuotaCharge[] }>();
  /**
   * No quota accounting here: that is the Lua in CircuitsRepository, tested on a real Redis
   * (circuit-quota.int.spec.ts). `create` keeps the charges it was handed with the record, and refuses with what
   * `refusal` returns, when set.
   */
  refusal: ((charges: readonly QuotaCharge[]) => { exceeded: QuotaCharge; used: number } | undefined) | undefined;
  readonly circuitKeys = new Set<string>();
  readonly inboxes = new Map<string, InboxMessage[]>();

  async addListener(tenant: string, service: string, vm: string, maxPerVm: number): Promise<ListenOutcome> {
    const byTenant = this.listeners.get(service) ?? new Map<string, string>();
    const holder = byTenant.get(tenant);
    if (holder !== undefined) return { holder };
    const listening = (await this.servicesOf(vm)).length;
    if (listening >= maxPerVm) return { full: listening };
    byTenant.set(tenant, vm);
    this.listeners.set(service, byTenant);
    return { listening: true };
  }

  async removeListener(tenant: string, service: string, vm: string): Promise<boolean> {
    const byTenant = this.listeners.get(service);
    if (byTenant?.get(tenant) !== vm) return false;
    byTenant.delete(tenant);
    return true;
  }

  async listenersOf(service: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.listeners.get(service) ?? []);
  }

  async servicesOf(vm: string): Promise<string[]> {
    return [...this.listeners.entries()]
      .filter(([, byTenant]) => [...byTenant.values()].includes(vm))
      .map(([service]) => service)
      .sort();
  }

  async create(
    record: CircuitRecord,
    charges: readonly QuotaCharge[],
  ): Promise<{ exceeded: QuotaCharge; used: number } | undefined> {
    const refused = this.refusal?.(charges);
    if (refused) return refused;
    this.records.set(record.id, { record: { ...record }, charges: [...charges] });
    return undefined;
  }

  async createKeys(record: CircuitRecord): Promise<void> {
    this.circuitKeys.add(record.id);
  }

  async commit(id: string): Promise<boolean> {
    const entry = this.records.get(id);
    if (!entry || entry.record.state === 'closing') return false;
    entry.record.state = 'open';
    return true;
  }

  async find(id: string): Promise<CircuitRecord | undefined> {
    const entry = this.records.get(id);
    return entry && { ...entry.record };
  }

  async circuitsOf(vm: string): Promise<CircuitRecord[]> {
    return (await this.all()).filter((r) => r.state !== 'closing' && (r.a.vm === vm || r.b.vm === vm));
  }

  async all(): Promise<CircuitRecord[]> {
    return [...this.records.values()].map((entry) => ({ ...entry.record }));
  }

  async beginTeardown(record: CircuitRecord, reason: string): Promise<string | undefined> {
    const entry = this.records.get(record.id);
    if (!entry) return undefined;
    if (entry.record.state !== 'closing') {
      entry.record.state = 'closing';
      entry.record.closeReason = reason;
    }
    return entry.record.closeReason;
  }

  async deleteKeys(id: string): Promise<void> {
    this.circuitKeys.delete(id);
  }

  async finishTeardown(id: string): Promise<boolean> {
    return this.records.delete(id);
  }

  async appendToInbox(vm: string, message: InboxMessage): Promise<void> {
    this.inboxes.set(vm, [...(this.inboxes.get(vm) ?? []), message]);
  }

  async deleteInbox(vm: string): Promise<void> {
    this.inboxes.delete(vm);
  }
}

/** ACL users as the operator last wrote them; built from the in-memory registry and circuit records. */
export class InMemoryAclRepository implements Pick<AclRepository, 'readSources' | 'setUser' | 'deleteUser'> {
  readonly users = new Map<string, readonly string[]>();

  constructor(
    private readonly registry: InMemoryRegistryRepository,
    private readonly circuits?: InMemoryCircuitsRepository,
  ) {}

  async readSources(vmId: string): Promise<AclSources> {
    const record = this.registry.records.get(vmId);
    const circuits = (await this.circuits?.circuitsOf(vmId)) ?? [];
    return {
      passwordHash: record?.aclPasswordHash,
      circuits: circuits.flatMap((c) =>
        (['a', 'b'] as const).filter((side) => c[side].vm === vmId).map((side) => ({ id: c.id, side })),
      ),
    };
  }

  async setUser(user: string, rules: readonly string[]): Promise<void> {
    this.users.set(user, [...rules]);
  }

  async deleteUser(user: string): Promise<void> {
    this.users.delete(user);
  }
}

/** Stands in for the VLAN script's Redis I/O, with the same rule: keep the tenant's id, else the next free one. */
/** Declared tenants and their VLAN ids, as TenantsRepository keeps them in Redis. */
export class InMemoryTenantsRepository implements Pick<TenantsRepository, 'declare' | 'find' | 'list' | 'remove'> {
  readonly tenants = new Map<string, Omit<TenantRecord, 'vlan'>>();
  readonly vlans = new Map<string, number>();
  last = TENANT_VLAN_RANGE.min - 1;

  async declare(tenant: Omit<TenantRecord, 'vlan'>, mode: 'create' | 'declare'): Promise<DeclareOutcome> {
    const existing = this.tenants.get(tenant.id);
    if (existing && mode === 'create') return 'exists';
    const vlan = this.vlans.get(tenant.id) ?? this.nextVlan();
    if (vlan === undefined) return 'no-vlan-left';
    this.vlans.set(tenant.id, vlan);
    this.tenants.set(tenant.id, { ...tenant, createdAt: existing?.createdAt ?? tenant.createdAt });
    return { vlan };
  }

  async find(id: string): Promise<TenantRecord | undefined> {
    const tenant = this.tenants.get(id);
    const vlan = this.vlans.get(id);
    return tenant && vlan !== undefined ? { ...tenant, vlan } : undefined;
  }

  async list(): Promise<TenantRecord[]> {
    const found = await Promise.all([...this.tenants.keys()].sort().map((id) => this.find(id)));
    return found.flatMap((record) => record ?? []);
  }

  /** Knows no VMs (unlike TenantsRepository, which refuses while the registry holds one): never `has-vms`. */
  async remove(id: string): Promise<'removed' | 'missing'> {
    this.vlans.delete(id);
    return this.tenants.delete(id) ? 'removed' : 'missing';
  }

  private nextVlan(): number | undefined {
    const { min, max } = TENANT_VLAN_RANGE;
    const used = new Set(this.vlans.values());
    for (let step = 1; step <= max - min + 1; step++) {
      const candidate = min + ((this.last - min + step) % (max - min + 1));
      if (!used.has(candidate)) {
        this.last = candidate;
        return candidate;
      }
    }
    return undefined;
  }
}

/** A VM's own keys (tx, rx, inbox) as sets of names, and which VMs had their connections closed. */
export class InMemoryVmKeysRepository implements Pick<VmKeysRepository, 'create' | 'delete' | 'disconnect'> {
  readonly keys = new Set<string>();
  readonly disconnected: string[] = [];

  async create(vmId: string): Promise<void> {
    for (const key of vmKeyNames(vmId)) this.keys.add(key);
  }

  async delete(vmId: string): Promise<void> {
    for (const key of vmKeyNames(vmId)) this.keys.delete(key);
  }

  async disconnect(vmId: string): Promise<void> {
    this.disconnected.push(vmId);
  }
}

/** The VM keys service over an in-memory repository. */
export function inMemoryVmKeys(repository = new InMemoryVmKeysRepository()): VmKeysService {
  return new VmKeysService(repository as unknown as VmKeysRepository);
}

/** The enrollment secret unit tests give tenant `id` (declareTestTenants). */
export function testTenantSecret(id: string): string {
  return `test-enrollment-secret-of-${id}`;
}

/**
 * A TenantsService on an in-memory repository with `ids` declared (secrets from testTenantSecret), for unit tests
 * of the services that check tenants.
 */
export async function declareTestTenants(
  ids: string[],
  options: { now?: () => number; caps?: Record<string, Partial<TenantCaps>>; config?: Partial<TenantsConfig> } = {},
): Promise<{ tenants: TenantsService; repository: InMemoryTenantsRepository }> {
  const repository = new InMemoryTenantsRepository();
  const config: TenantsConfig = {
    LAB_TENANTS: ids.map((id) => ({
      id,
      secretSha256: sha256Hex(testTenantSecret(id)),
      caps: options.caps?.[id] ?? {},
    })),
    TENANT_MAX_VMS: 64,
    TENANT_MAX_CIRCUITS: 1024,
    TENANT_MAX_PROGRAMS: 1,
    TENANT_RING_BYTES: 268_435_456,
    VM_RING_BYTES: 134_217_728,
    TENANT_RING_ENTRIES: 131_072,
    VM_RING_ENTRIES: 65_536,
    ...options.config,
  };
  const tenants = new TenantsService(
    repository as unknown as TenantsRepository,
    config,
    options.now ?? (() => Date.now()),
    new JsonLogger('operator-test', 'error', () => undefined),
  );
  await tenants.declareLabTenants();
  return { tenants, repository };
}
