import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger, REDIS_CLIENT, type ReadinessCheck, StoreEpoch } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../clock';
import { RegistryService } from '../registry/registry.service';
import type { TenantRecord } from '../tenants/tenant-record';
import { TenantsService } from '../tenants/tenants.service';

/** How often the operator looks at the store's epoch and remembers what a loss would take. */
export const STORE_CHECK_INTERVAL_MS = 1000;
/** A VM not registered again this long after the loss stops being waited for (it may have been stopped meanwhile). */
export const STORE_CONVERGENCE_GIVE_UP_MS = 60_000;

interface Loss {
  at: number;
  /** The tenants declared before the loss, to declare again, and whether that is done. */
  tenants: TenantRecord[];
  tenantsBack: boolean;
  /** VMs alive before the loss that have not registered again. */
  awaiting: Set<string>;
  error?: string;
}

/**
 * The operator across a Redis that restarts empty (issue 10). Redis holds all the operator's state; what it can have
 * back, it puts back, and `/ready` says `degraded` until it has:
 * - declared tenants (the lab's and those made through the admin API): declared again at once from what the
 *   operator last saw, with their secret hashes, caps, creation times and VLAN ids, so their VMs may register again;
 * - registered VMs: each registers again by itself (a new token and a new Redis ACL user with a new password; the
 *   operator makes its tx and rx streams and the switch's group anew), waited for until STORE_CONVERGENCE_GIVE_UP_MS.
 * Lost for good: circuits and the frames in their rings, listeners (VMs announce theirs again), the wardens' counts,
 * and whatever changed in the last STORE_CHECK_INTERVAL_MS before the loss (a tenant made or deleted then).
 */
@Injectable()
export class StoreLossService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly epoch: StoreEpoch;
  private tenants: TenantRecord[] = [];
  private vms: string[] = [];
  private loss: Loss | undefined;
  private looks: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly tenantsService: TenantsService,
    private readonly registry: RegistryService,
    private readonly logger: JsonLogger,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.epoch = new StoreEpoch(redis);
  }

  onApplicationBootstrap(): void {
    // A restart drops the connection: look as soon as it is back, before the next tick.
    this.redis.on('ready', this.lookNow);
    void this.tick();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.redis.off('ready', this.lookNow);
  }

  readiness(): ReadinessCheck {
    return {
      name: 'store',
      check: () =>
        Promise.resolve(
          this.loss
            ? 'Redis restarted empty: converging'
            : `would restore ${this.tenants.length} tenant(s) and wait for ${this.vms.length} VM(s)`,
        ),
      degraded: () => this.degradedReasons(),
    };
  }

  degradedReasons(): string[] {
    const loss = this.loss;
    if (!loss) return [];
    const reasons: string[] = [];
    if (!loss.tenantsBack) {
      const ids = loss.tenants.map((t) => t.id).join(', ') || "the lab's";
      reasons.push(
        `Redis restarted empty; tenants not declared again yet: ${ids}${loss.error ? ` (${loss.error})` : ''}`,
      );
    }
    if (loss.awaiting.size > 0 && this.now() - loss.at <= STORE_CONVERGENCE_GIVE_UP_MS) {
      reasons.push(`Redis restarted empty; VMs not registered again yet: ${[...loss.awaiting].sort().join(', ')}`);
    }
    return reasons;
  }

  private readonly lookNow = (): void => void this.look();

  private async tick(): Promise<void> {
    await this.look();
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), STORE_CHECK_INTERVAL_MS);
  }

  /** One look at a time (ticks and reconnects may ask together). */
  private look(): Promise<void> {
    this.looks = this.looks.then(() =>
      this.lookOnce().catch(() => {
        // Redis is away or refused: the next look tries again, and readiness reports Redis itself.
      }),
    );
    return this.looks;
  }

  private async lookOnce(): Promise<void> {
    if ((await this.epoch.look()) === 'lost') this.storeLost();
    if (this.loss) {
      await this.converge(this.loss);
      return;
    }
    const [tenants, vms] = await Promise.all([this.tenantsService.records(), this.registry.list()]);
    // Remembered only if the store did not change while being read: a half-read new store must not replace it.
    if ((await this.epoch.look()) === 'lost') {
      this.storeLost();
      return;
    }
    this.tenants = tenants;
    this.vms = vms.filter((vm) => vm.alive).map((vm) => vm.id);
  }

  private storeLost(): void {
    const earlier = this.loss;
    this.loss = {
      at: this.now(),
      // Lost again before converging: what is not back yet is still owed.
      tenants: earlier ? earlier.tenants : this.tenants,
      tenantsBack: false,
      awaiting: new Set([...(earlier?.awaiting ?? []), ...this.vms]),
    };
    this.logger.record(
      'warn',
      `Redis restarted empty: declaring ${this.loss.tenants.length} tenant(s) again and waiting for ${this.loss.awaiting.size} VM(s) to register again`,
      { context: 'store' },
    );
  }

  private async converge(loss: Loss): Promise<void> {
    if (!loss.tenantsBack) {
      try {
        await this.tenantsService.restore(loss.tenants);
        loss.tenantsBack = true;
        loss.error = undefined;
      } catch (error) {
        loss.error = error instanceof Error ? error.message : String(error);
        return;
      }
    }
    const alive = new Set((await this.registry.list()).filter((vm) => vm.alive).map((vm) => vm.id));
    for (const vm of loss.awaiting) if (alive.has(vm)) loss.awaiting.delete(vm);
    const gaveUp = this.now() - loss.at > STORE_CONVERGENCE_GIVE_UP_MS;
    if (loss.awaiting.size > 0 && !gaveUp) return;
    this.loss = undefined;
    this.logger.record(
      gaveUp && loss.awaiting.size > 0 ? 'warn' : 'info',
      gaveUp && loss.awaiting.size > 0
        ? `after Redis restarted empty, VMs never registered again: ${[...loss.awaiting].sort().join(', ')}`
        : 'after Redis restarted empty, tenants and VMs are back',
      { context: 'store' },
    );
  }
}
