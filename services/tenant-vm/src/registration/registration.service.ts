import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  DependencyUnavailableError,
  DomainError,
  JsonLogger,
  type JsonResponse,
  ReadinessCheck,
  requestJson,
} from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { OperatorClient, VmCredentials } from './operator.client';

const tracer = trace.getTracer('tenantlab.tenant-vm');

/**
 * Keeps this VM in the operator's registry: registers on boot (retrying with backoff while the operator is not
 * up yet), heartbeats every HEARTBEAT_INTERVAL_MS, registers again if the operator forgot it, and deregisters on
 * shutdown so the registry does not list a stopped VM as alive. Keeps the credentials each registration returns:
 * the token authenticates this VM's operator calls, the Redis user is what its circuits connect as.
 */
@Injectable()
export class RegistrationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private registered = false;
  private everRegistered = false;
  /** The operator no longer knew this VM (its registry restarted empty, or the lease ran out): until registered again. */
  private forgotten = false;
  private current: VmCredentials | undefined;
  private stopped = false;
  private lastError: string | undefined;
  private lastHeartbeatAt: number | undefined;
  private readonly registeredHooks: (() => Promise<void>)[] = [];

  constructor(
    private readonly operator: OperatorClient,
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0, 0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.registered && this.current) {
      await this.operator.deregister(this.config.VM_ID, this.current.token).catch(() => undefined);
    }
  }

  /**
   * Runs `hook` after each registration but the first: the operator may have forgotten what this VM held (Redis
   * restarted empty, or the lease expired and the registration counted as a new holder's), so it announces it again.
   */
  onRegisteredAgain(hook: () => Promise<void>): void {
    this.registeredHooks.push(hook);
  }

  /** This VM's credentials from its latest registration; undefined until it is registered. Never logged. */
  credentials(): VmCredentials | undefined {
    return this.registered ? this.current : undefined;
  }

  /** A call to the operator about this VM, with its token (the operator acts for this VM's tenant only). */
  callOperator<T>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    timeoutMs = 10_000,
  ): Promise<JsonResponse<T>> {
    const credentials = this.credentials();
    if (!credentials) {
      throw new DependencyUnavailableError('this VM is not registered with the operator yet; try again shortly');
    }
    return requestJson<T>(method, `${this.config.OPERATOR_URL}${path}`, body, timeoutMs, {
      authorization: `Bearer ${credentials.token}`,
    });
  }

  status(): { id: string; tenant: string; registered: boolean; lastHeartbeatAt?: number; lastError?: string } {
    return {
      id: this.config.VM_ID,
      tenant: this.config.TENANT_ID,
      registered: this.registered,
      lastHeartbeatAt: this.lastHeartbeatAt,
      lastError: this.lastError,
    };
  }

  readinessCheck(): ReadinessCheck {
    return {
      name: 'operator',
      check: async () => {
        if (this.registered) return `registered as ${this.config.VM_ID} of ${this.config.TENANT_ID}`;
        // Forgotten, and the operator answers: the VM runs and is registering again (degraded, below).
        if (this.forgotten && this.lastError === undefined) return 'forgotten by the operator; registering again';
        throw new Error(`not registered with the operator yet: ${this.lastError ?? 'trying'}`);
      },
      degraded: () =>
        this.forgotten && !this.registered
          ? ['the operator forgot this VM (its store restarted empty?): not registered again yet']
          : [],
    };
  }

  private schedule(delayMs: number, failures: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(failures), delayMs);
  }

  private async tick(failures: number): Promise<void> {
    try {
      if (this.registered && this.current) {
        this.registered = await this.operator.heartbeat(this.config.VM_ID, this.current.token);
        if (!this.registered) {
          this.forgotten = true;
          this.logger.record(
            'warn',
            'operator no longer accepts this registration (forgotten or token rejected); registering again',
          );
        } else this.lastHeartbeatAt = Date.now();
      }
      if (!this.registered) await this.register();
      this.lastError = undefined;
      this.schedule(this.config.HEARTBEAT_INTERVAL_MS, 0);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      const retriable = !(error instanceof DomainError) || error.retriable;
      // Backoff while the operator is away; a 4xx refusal is retried slowly since only a config change fixes it.
      const delay = retriable ? Math.min(100 * 2 ** failures, this.config.HEARTBEAT_INTERVAL_MS) : 10_000;
      if (failures % 10 === 0) this.logger.record('warn', `operator not reached: ${this.lastError}`);
      this.schedule(delay, failures + 1);
    }
  }

  private register(): Promise<void> {
    return tracer.startActiveSpan('vm.register', async (span) => {
      span.setAttributes({ 'tenantlab.vm.id': this.config.VM_ID, 'tenantlab.tenant.id': this.config.TENANT_ID });
      try {
        this.current = await this.operator.register(
          {
            id: this.config.VM_ID,
            tenant: this.config.TENANT_ID,
            url: this.config.VM_ADVERTISE_URL ?? `http://${this.config.HOST}:${this.config.PORT}`,
          },
          // Still ours if the operator only forgot us; useless (and harmless) if it was rotated or reclaimed.
          this.current?.token,
        );
        const again = this.everRegistered;
        this.registered = true;
        this.everRegistered = true;
        this.forgotten = false;
        this.lastHeartbeatAt = Date.now();
        this.logger.record('info', `registered with the operator at ${this.config.OPERATOR_URL}`);
        if (again) for (const hook of this.registeredHooks) void hook();
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
