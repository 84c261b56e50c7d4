import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConflictError, JsonLogger, NotFoundError, vmAclUser } from '@tenantlab/shared';
import { QuotaExceededError } from '../circuits/circuit.errors';
import type { TenantRecord } from '../tenants/tenant-record';
import { AclService } from '../acl/acl.service';
import { ForbiddenError } from '../auth/auth.errors';
import { newSecret, sameDigest, sha256Hex } from '../auth/vm-secrets';
import { OPERATOR_CONFIG, OperatorConfig } from '../config/operator.config';
import { VmKeysService } from '../vm-keys/vm-keys.service';
import { TokenTenants } from '../fairness/token-tenants';
import { CLOCK, type Clock } from '../clock';
import { RegisterVmDto } from './dto/register-vm.dto';
import { RegistryRepository } from './registry.repository';
import { TenantsService } from '../tenants/tenants.service';
import { VmCredentials, VmRecord, VmView } from './vm-record';

export { CLOCK, type Clock } from '../clock';

/**
 * Called when whatever a VM held must go: its circuits, listeners and inbox. Circuits depend on the registry (for
 * authentication and liveness), so the registry cannot depend on them; the circuits feature registers this instead.
 */
export type VmReleaseHook = (vm: Pick<VmRecord, 'id' | 'tenant'>, reason: string) => Promise<void>;

/** How long the operator's start waits to learn the registered VMs' tokens' tenants (onApplicationBootstrap). */
const LEARN_TOKENS_WAIT_MS = 2000;

/** The VM registry: which tenant VMs exist, where their control APIs answer, and whether they are alive. */
@Injectable()
export class RegistryService implements OnApplicationBootstrap {
  private readonly releaseHooks: VmReleaseHook[] = [];

  constructor(
    private readonly repository: RegistryRepository,
    private readonly acl: AclService,
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'VM_LEASE_MS'>,
    @Inject(CLOCK) private readonly now: Clock,
    private readonly tenants: TenantsService,
    private readonly vmKeys: VmKeysService,
    /** Which tenant each working VM token is of, so its calls take their tenant's turn (TenantTurnsGuard). */
    private readonly tokenTenants: TokenTenants = new TokenTenants(),
    private readonly logger?: JsonLogger,
  ) {}

  /**
   * Learns the tenant of every registered VM's token, so that after an operator restart the VMs' calls take their
   * tenants' turns at once, not the turn of the address they come from (shared by every VM in a local lab). The
   * start waits for it at most LEARN_TOKENS_WAIT_MS, so a Redis that does not answer yet never holds it up: only
   * ordering depends on it, and each token not learnt here is learnt at its first authentication.
   */
  async onApplicationBootstrap(): Promise<void> {
    const learning = this.repository.list().then(
      (records) => {
        for (const record of records) this.tokenTenants.remember(record.tokenHash, record.tenant);
      },
      (error: unknown) =>
        this.logger?.record('warn', `could not learn the registered VMs' tenants: ${String(error)}`, {
          context: 'registry',
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const givingUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, LEARN_TOKENS_WAIT_MS)));
    await Promise.race([learning, givingUp]).finally(() => clearTimeout(timer));
  }

  onRelease(hook: VmReleaseHook): void {
    this.releaseHooks.push(hook);
  }

  /**
   * Registers a VM, or re-registers it after a restart (same id and tenant: the URL may change), handing out fresh
   * credentials each time. A VM id is bound to its tenant for as long as it is registered: letting it move would
   * hand one tenant's identity to another. While its lease is alive only the holder of its current token may
   * register it again (that rotates its credentials and keeps its circuits); once the lease has expired a VM of
   * the same tenant (holding its enrollment secret) may claim it, and whatever the previous holder had (circuits, listeners, inbox) is released.
   * Only a declared tenant's VMs register, each with its tenant's enrollment secret (`tenantSecret`), a new VM as
   * well as one re-claiming an expired id; the VM takes its tenant's VLAN id, and counts against its maxVms cap.
   */
  async register(
    request: RegisterVmDto,
    presentedToken?: string,
    tenantSecret?: string,
  ): Promise<{ vm: VmView; created: boolean; credentials: VmCredentials }> {
    const tenant = await this.tenants.admit(request.tenant, tenantSecret);
    const existing = await this.repository.find(request.id);
    if (existing && existing.tenant !== request.tenant) {
      throw new ConflictError(
        `VM ${request.id} is registered to tenant ${existing.tenant}; a VM cannot change tenant. Deregister it first or pick another id.`,
      );
    }
    const sameHolder =
      existing !== undefined &&
      presentedToken !== undefined &&
      sameDigest(existing.tokenHash, sha256Hex(presentedToken));
    if (existing && !sameHolder && this.isAlive(existing)) {
      throw new ConflictError(
        `VM id ${request.id} is taken by a live VM (last heartbeat ${this.now() - existing.lastHeartbeatAt} ms ago). ` +
          'To register it again send its current token (Authorization: Bearer <token>), or wait until its lease ' +
          `expires (VM_LEASE_MS = ${this.config.VM_LEASE_MS} ms without a heartbeat), or pick another id.`,
      );
    }
    const vlan = tenant.vlan;
    const at = this.now();
    const credentials = { redisUsername: vmAclUser(request.id), redisPassword: newSecret(), token: newSecret() };
    const record: VmRecord = {
      id: request.id,
      tenant: request.tenant,
      url: request.url,
      registeredAt: existing?.registeredAt ?? at,
      lastHeartbeatAt: at,
      tokenHash: sha256Hex(credentials.token),
      aclPasswordHash: sha256Hex(credentials.redisPassword),
      ...(vlan === undefined ? {} : { vlan }),
    };
    await this.claim(record, tenant, existing);
    try {
      // A new holder knows nothing of the previous one's circuits: end them, so its peers hear of it.
      if (existing && !sameHolder) await this.release(existing, `peer ${request.id} registered again`);
      await this.vmKeys.prepare(request.id, sameHolder);
      await this.acl.syncVm(request.id);
    } catch (error) {
      // The caller gets an error and no credentials: the new ones must not stay valid.
      await (existing ? this.repository.save(existing, record.tokenHash) : this.repository.remove(record)).catch(
        () => undefined,
      );
      await this.acl.syncVm(request.id).catch(() => undefined);
      throw error;
    }
    if (existing) this.tokenTenants.forget(existing.tokenHash);
    this.tokenTenants.remember(record.tokenHash, record.tenant);
    return { vm: this.view(record), created: !existing, credentials };
  }

  /** The registered VM that holds this API token; 403 when none does. */
  async authenticate(token: string): Promise<VmRecord> {
    const tokenHash = sha256Hex(token);
    const id = await this.repository.findIdByTokenHash(tokenHash);
    const record = id === undefined ? undefined : await this.repository.find(id);
    if (!record || !sameDigest(record.tokenHash, tokenHash)) {
      throw new ForbiddenError(
        'the token belongs to no registered VM (it was rotated, or the VM was deregistered); register with POST /vms and use the token from that response',
      );
    }
    this.tokenTenants.remember(tokenHash, record.tenant);
    return record;
  }

  async heartbeat(id: string, token: string): Promise<void> {
    await this.authorize(id, token);
    if (!(await this.repository.touch(id, this.now()))) throw this.notRegistered(id);
  }

  /**
   * With `visibleTo`, a VM of another tenant answers exactly as an unregistered one, so a tenant cannot learn which
   * VM ids other tenants use.
   */
  async get(id: string, visibleTo?: { tenant: string }): Promise<VmView> {
    const record = await this.repository.find(id);
    if (!record || (visibleTo !== undefined && record.tenant !== visibleTo.tenant)) throw this.notRegistered(id);
    return this.view(record);
  }

  /** Like get, but `undefined` for a VM that is not registered. */
  async lookup(id: string): Promise<VmView | undefined> {
    const record = await this.repository.find(id);
    return record && this.view(record);
  }

  async list(filter: { tenant?: string } = {}): Promise<VmView[]> {
    const records = await this.repository.list();
    return records.filter((r) => !filter.tenant || r.tenant === filter.tenant).map((r) => this.view(r));
  }

  /**
   * Removes the VM first, so its token stops working and nobody can open a circuit to it, then releases what it
   * held and deletes its Redis user (which also closes its Redis connections). Whatever a failure here leaves
   * behind, the circuit reaper removes: its circuits now have an endpoint that is not registered.
   */
  async deregister(id: string, token: string): Promise<void> {
    const record = await this.authorize(id, token);
    if (!(await this.repository.remove(record))) throw this.notRegistered(id);
    this.tokenTenants.forget(record.tokenHash);
    try {
      await this.release(record, `peer ${id} was deregistered`);
    } finally {
      await this.acl.syncVm(id);
      await this.vmKeys.remove(id);
    }
  }

  /** The VM's record when `token` is its current token: 404 when it is not registered, 403 for another token. */
  private async authorize(id: string, token: string): Promise<VmRecord> {
    const record = await this.repository.find(id);
    if (!record) throw this.notRegistered(id);
    if (!sameDigest(record.tokenHash, sha256Hex(token))) {
      throw new ForbiddenError(`the token is not VM ${id}'s; use the token from its latest POST /vms response`);
    }
    this.tokenTenants.remember(record.tokenHash, record.tenant);
    return record;
  }

  private async release(vm: VmRecord, reason: string): Promise<void> {
    for (const hook of this.releaseHooks) await hook(vm, reason);
  }

  /**
   * Writes the registration if what it was decided on still holds, in one Redis script (RegistryRepository.claim):
   * the tenant's maxVms cap counts its VMs with a live lease other than this id (a VM registering again, or
   * re-claiming an expired id, takes no new place), so concurrent registrations pass it exactly up to the cap; the
   * tenant must still be the one that admitted the VM (same secret, same VLAN), so a tenant deleted meanwhile gets
   * no VM and a VLAN given to another tenant is never taken; and the id's record must be the one read, so two
   * claims of one expired id cannot both win.
   */
  private async claim(record: VmRecord, tenant: TenantRecord, existing: VmRecord | undefined): Promise<void> {
    const { maxVms } = this.tenants.effectiveCaps(tenant.caps);
    const outcome = await this.repository.claim(record, {
      readTokenHash: existing?.tokenHash,
      tenantSecretSha256: tenant.secretSha256,
      tenantVlan: tenant.vlan,
      maxVms,
      aliveSince: this.now() - this.config.VM_LEASE_MS,
    });
    if (outcome.claimed) return;
    if (outcome.reason === 'max-vms') {
      throw new QuotaExceededError(
        `quota maxVms exceeded: tenant ${tenant.id} has ${outcome.live} VM(s) with a live lease and its limit is ` +
          `${maxVms} (${this.tenants.describeCap(tenant.id, 'maxVms', tenant.caps)}); deregister one of its VMs first`,
      );
    }
    if (outcome.reason === 'tenant-changed') {
      throw new ForbiddenError(
        `tenant ${tenant.id} was deleted (or declared again) while VM ${record.id} registered; register again once ` +
          'it is declared, with its current enrollment secret',
      );
    }
    throw new ConflictError(
      `VM ${record.id} was registered or deregistered by another request while this one registered it; try again`,
    );
  }

  /**
   * For deleting a tenant: deregisters its VMs whose lease has expired (as their own deregistration would) and
   * returns the ids of those still alive, which the caller refuses to remove.
   */
  async releaseExpiredVmsOf(tenant: string): Promise<string[]> {
    const vms = (await this.repository.list()).filter((vm) => vm.tenant === tenant);
    const alive = vms.filter((vm) => this.isAlive(vm)).map((vm) => vm.id);
    if (alive.length > 0) return alive;
    for (const vm of vms) {
      if (!(await this.repository.remove(vm))) continue;
      try {
        await this.release(vm, `peer ${vm.id} was deregistered with its tenant`);
      } finally {
        await this.acl.syncVm(vm.id);
      }
    }
    return [];
  }

  private isAlive(record: VmRecord): boolean {
    return this.now() - record.lastHeartbeatAt <= this.config.VM_LEASE_MS;
  }

  private view(record: VmRecord): VmView {
    return {
      id: record.id,
      tenant: record.tenant,
      url: record.url,
      registeredAt: record.registeredAt,
      lastHeartbeatAt: record.lastHeartbeatAt,
      alive: this.isAlive(record),
      ...(record.vlan === undefined ? {} : { vlan: record.vlan }),
    };
  }

  private notRegistered(id: string): NotFoundError {
    return new NotFoundError(`VM ${id} is not registered; register it with POST /vms first`);
  }
}
