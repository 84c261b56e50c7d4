import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConflictError, JsonLogger, NotFoundError } from '@tenantlab/shared';
import { ForbiddenError } from '../auth/auth.errors';
import { newSecret, sameDigest, sha256Hex } from '../auth/vm-secrets';
import { CLOCK, type Clock } from '../clock';
import { SecretTenants } from '../fairness/secret-tenants';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { TENANT_CAP_DEFAULT_ENV, type TenantCaps } from './tenant-caps';
import type { TenantRecord, TenantView } from './tenant-record';
import { TenantVlansExhaustedError } from './tenants.errors';
import { TenantsRepository } from './tenants.repository';

export type TenantsConfig = Pick<
  OperatorConfig,
  | 'LAB_TENANTS'
  | 'TENANT_MAX_VMS'
  | 'TENANT_MAX_CIRCUITS'
  | 'TENANT_MAX_PROGRAMS'
  | 'TENANT_RING_BYTES'
  | 'VM_RING_BYTES'
  | 'TENANT_RING_ENTRIES'
  | 'VM_RING_ENTRIES'
>;

/** How long to wait before declaring the lab's tenants again when Redis did not take them. */
const DECLARE_RETRY_MS = 1000;

/**
 * Declared tenants (issue 10): a tenant exists only when the lab file declares it (LAB_TENANTS, at every start) or
 * an administrator creates it (POST /tenants); registering a VM never creates one. Each has an enrollment secret,
 * kept as its sha256, that its VMs must present; a VLAN id from its creation to its deletion; and caps.
 */
@Injectable()
export class TenantsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private labTenantsDeclared = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: TenantsRepository,
    @Inject(OPERATOR_CONFIG) private readonly config: TenantsConfig,
    @Inject(CLOCK) private readonly now: Clock,
    private readonly logger: JsonLogger,
    /** Which tenant each enrollment secret is of, so a registration takes its tenant's turn (TenantTurnsGuard). */
    private readonly secrets: SecretTenants = new SecretTenants(),
  ) {}

  /** Declares the lab's tenants in the background, retrying until Redis takes them; readiness waits for it. */
  onApplicationBootstrap(): void {
    const attempt = (): void => {
      this.declareLabTenants()
        .then(() => this.rememberSecrets())
        .then(
          () => (this.labTenantsDeclared = true),
          (error: unknown) => {
            this.logger.record('warn', `could not declare the lab's tenants yet (retrying): ${String(error)}`, {
              context: 'tenants',
            });
            this.retry = setTimeout(attempt, DECLARE_RETRY_MS);
          },
        );
    };
    attempt();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retry);
  }

  /** A readiness check: the operator is ready only once the lab's tenants are declared. */
  readiness(): { name: string; check(): Promise<string> } {
    return {
      name: 'tenants',
      check: () =>
        this.labTenantsDeclared
          ? Promise.resolve(`${this.config.LAB_TENANTS.length} lab tenant(s) declared`)
          : Promise.reject(new Error("the lab's tenants are not declared yet (Redis did not answer)")),
    };
  }

  /** LAB_TENANTS, idempotently: a tenant that exists keeps its VLAN and creation time, and takes the new hash. */
  async declareLabTenants(): Promise<void> {
    for (const tenant of this.config.LAB_TENANTS) {
      const outcome = await this.repository.declare(
        { id: tenant.id, secretSha256: tenant.secretSha256, caps: tenant.caps ?? {}, createdAt: this.now() },
        'declare',
      );
      if (outcome === 'no-vlan-left') throw new TenantVlansExhaustedError(tenant.id);
      this.secrets.set(tenant.id, tenant.secretSha256);
    }
  }

  /** Every declared tenant's secret hash, the ones administrators made before this operator started included. */
  private async rememberSecrets(): Promise<void> {
    for (const record of await this.repository.list()) this.secrets.set(record.id, record.secretSha256);
  }

  /** Every declared tenant as stored, secret hash included: what the operator would restore if Redis lost it. */
  records(): Promise<TenantRecord[]> {
    return this.repository.list();
  }

  /**
   * After Redis lost its state: declares `records` again (each with its secret hash, caps, creation time, and its
   * VLAN when that is free), lowest VLAN first, then the lab's tenants. A tenant declared again meanwhile keeps its
   * VLAN and takes the remembered secret hash and caps.
   */
  async restore(records: readonly TenantRecord[]): Promise<void> {
    for (const record of [...records].sort((x, y) => x.vlan - y.vlan)) {
      const outcome = await this.repository.declare(record, 'declare');
      if (outcome === 'no-vlan-left') throw new TenantVlansExhaustedError(record.id);
      this.secrets.set(record.id, record.secretSha256);
    }
    await this.declareLabTenants();
    this.labTenantsDeclared = true;
  }

  /**
   * A new tenant (admin API): 409 when it exists. Its enrollment secret is made here and shown only in the answer,
   * unless the administrator brings the sha256 of their own (then no secret is in the answer).
   */
  async create(
    id: string,
    caps: Partial<TenantCaps>,
    secretSha256?: string,
  ): Promise<{ tenant: TenantView; enrollmentSecret?: string }> {
    const enrollmentSecret = secretSha256 === undefined ? newSecret() : undefined;
    const hash = secretSha256 ?? sha256Hex(enrollmentSecret ?? '');
    const record = { id, secretSha256: hash, caps, createdAt: this.now() };
    const outcome = await this.repository.declare(record, 'create');
    if (outcome === 'exists') {
      throw new ConflictError(
        `tenant ${id} already exists; delete it first (DELETE /tenants/${id}) or pick another id`,
      );
    }
    if (outcome === 'no-vlan-left') throw new TenantVlansExhaustedError(id);
    this.secrets.set(id, hash);
    return { tenant: this.view({ ...record, vlan: outcome.vlan }), ...(enrollmentSecret ? { enrollmentSecret } : {}) };
  }

  async list(): Promise<TenantView[]> {
    return (await this.repository.list()).map((record) => this.view(record));
  }

  async get(id: string): Promise<TenantView> {
    const record = await this.repository.find(id);
    if (!record) throw this.notDeclared(id);
    return this.view(record);
  }

  /**
   * Removes the tenant and returns its VLAN. The caller has released its expired VMs; a VM that registered since
   * (or one the caller found alive) makes this 409, checked in the same step as the removal (tenants.repository.ts).
   */
  async remove(id: string): Promise<void> {
    const outcome = await this.repository.remove(id);
    if (outcome !== 'has-vms') this.secrets.remove(id);
    if (outcome === 'missing') throw this.notDeclared(id);
    if (outcome === 'has-vms') {
      throw new ConflictError(
        `tenant ${id} still has registered VMs (one may have registered while it was being deleted): deregister ` +
          'them (DELETE /vms/:id with each VM token) or stop them and wait for their leases to expire, then delete the tenant',
      );
    }
  }

  /**
   * The tenant a VM may join with this enrollment secret: 403 when the tenant is not declared, or the secret is
   * missing or not the tenant's. Never echoes the secret.
   */
  async admit(tenant: string, secret: string | undefined): Promise<TenantRecord> {
    let record = await this.repository.find(tenant);
    const labTenant = this.config.LAB_TENANTS.some((declared) => declared.id === tenant);
    if (!record && labTenant && (await this.repository.list()).length === 0) {
      // No tenant at all, not even the lab's: Redis lost its state (it restarted empty). Declare the lab's tenants
      // again, so its VMs can register again without anyone acting. Tenants made through the admin API are gone; a
      // lab tenant an administrator deleted while others remain stays deleted.
      await this.declareLabTenants();
      record = await this.repository.find(tenant);
    }
    if (!record) {
      throw new ForbiddenError(
        `tenant ${tenant} is not declared, and registering a VM never creates one: declare it in the lab file ` +
          '(tenants[]) or have an administrator create it (POST /tenants), then register with its enrollment secret',
      );
    }
    if (secret === undefined || secret === '') {
      throw new ForbiddenError(
        `registering a VM of tenant ${tenant} needs the tenant's enrollment secret: send it in the X-Tenant-Secret header`,
      );
    }
    if (!sameDigest(record.secretSha256, sha256Hex(secret))) {
      throw new ForbiddenError(
        `the X-Tenant-Secret header is not tenant ${tenant}'s enrollment secret; a VM joins only its own tenant, with that tenant's secret`,
      );
    }
    // What Redis holds is the truth: a secret set by another way (a restore, a new lab file) is taken up here.
    this.secrets.set(record.id, record.secretSha256);
    return record;
  }

  /** The caps in force for a tenant: its own, else the operator's defaults (also for a tenant no longer declared). */
  async capsOf(tenant: string): Promise<TenantCaps> {
    return this.effectiveCaps((await this.repository.find(tenant))?.caps ?? {});
  }

  /** The tenant's own caps (overrides of the operator's defaults); none for a tenant no longer declared. */
  async ownCapsOf(tenant: string): Promise<Partial<TenantCaps>> {
    return (await this.repository.find(tenant))?.caps ?? {};
  }

  /** Names a cap in a refusal: the tenant's own override, or the operator's default variable. */
  describeCap(tenant: string, cap: keyof TenantCaps, own: Partial<TenantCaps>): string {
    return own[cap] === undefined
      ? `${TENANT_CAP_DEFAULT_ENV[cap]} (the default cap ${cap})`
      : `tenant ${tenant}'s cap ${cap}`;
  }

  effectiveCaps(own: Partial<TenantCaps>): TenantCaps {
    return {
      maxVms: own.maxVms ?? this.config.TENANT_MAX_VMS,
      maxCircuits: own.maxCircuits ?? this.config.TENANT_MAX_CIRCUITS,
      maxPrograms: own.maxPrograms ?? this.config.TENANT_MAX_PROGRAMS,
      ringBytes: own.ringBytes ?? this.config.TENANT_RING_BYTES,
      vmRingBytes: own.vmRingBytes ?? this.config.VM_RING_BYTES,
      ringEntries: own.ringEntries ?? this.config.TENANT_RING_ENTRIES,
      vmRingEntries: own.vmRingEntries ?? this.config.VM_RING_ENTRIES,
    };
  }

  private view(record: TenantRecord): TenantView {
    return { id: record.id, createdAt: record.createdAt, vlan: record.vlan, caps: this.effectiveCaps(record.caps) };
  }

  private notDeclared(id: string): NotFoundError {
    return new NotFoundError(`tenant ${id} is not declared; GET /tenants lists the declared tenants`);
  }
}
