import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  type CircuitConnections,
  DependencyUnavailableError,
  disconnectNow,
  pingRedis,
  type ReadinessCheck,
  vmCircuitConnections,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { RegistrationService } from '../registration/registration.service';

/**
 * This VM's Redis connections, as its own ACL user with the credentials the operator issued at registration: never
 * the admin's. Re-registration rotates the password, so connections follow the credentials they were made with.
 */
@Injectable()
export class VmRedis implements OnApplicationShutdown {
  private current: { password: string; connections: CircuitConnections; opened: Redis[] } | undefined;

  constructor(
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly registration: RegistrationService,
  ) {}

  /** Whether the operator has issued this VM's credentials yet: until it has, its Redis reads wait, as expected. */
  hasCredentials(): boolean {
    return this.registration.credentials() !== undefined;
  }

  connections(): CircuitConnections {
    const credentials = this.registration.credentials();
    if (!credentials) {
      throw new DependencyUnavailableError(
        'this VM has no Redis credentials yet: it is not registered with the operator',
      );
    }
    if (this.current?.password !== credentials.redisPassword) {
      this.closeAll();
      const opened: Redis[] = [];
      const base = vmCircuitConnections(
        this.config.REDIS_URL,
        { username: credentials.redisUsername, password: credentials.redisPassword },
        this.config.VM_ID,
      );
      opened.push(base.commands);
      const connections = {
        commands: base.commands,
        openBlocking: () => {
          const blocking = base.openBlocking();
          opened.push(blocking);
          // A reader closes its own connection; forget it then, so a long-lived VM does not keep dead handles.
          blocking.once('end', () => {
            const index = opened.indexOf(blocking);
            if (index >= 0) opened.splice(index, 1);
          });
          return blocking;
        },
      };
      this.current = { password: credentials.redisPassword, connections, opened };
    }
    return this.current.connections;
  }

  /** Ready when Redis answers this VM's own user: proves the credentials work, not just that Redis is up. */
  readinessCheck(): ReadinessCheck {
    return {
      name: 'redis',
      check: async () => {
        await pingRedis(this.connections().commands);
        return `as ACL user ${this.registration.credentials()?.redisUsername ?? '?'}`;
      },
    };
  }

  onApplicationShutdown(): void {
    this.closeAll();
  }

  private closeAll(): void {
    for (const client of this.current?.opened ?? []) disconnectNow(client);
    this.current = undefined;
  }
}
