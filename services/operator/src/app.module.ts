import { DynamicModule, Module } from '@nestjs/common';
import {
  HealthController,
  JsonLogger,
  READINESS_CHECKS,
  REDIS_CLIENT,
  RedisModule,
  redisReadinessCheck,
  MetricsModule,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { TenantCallBudget, tenantCallBudgetOf } from './auth/tenant-call-budget';
import { TrustedCallers } from './auth/trusted-callers';
import { PartyAdmission } from './fairness/party-admission';
import { SecretTenants } from './fairness/secret-tenants';
import { TenantTurnsGuard } from './fairness/tenant-turns.guard';
import { TokenTenants } from './fairness/token-tenants';
import { CircuitsModule } from './circuits/circuits.module';
import { ImpairmentsModule } from './impairments/impairments.module';
import { OPERATOR_CONFIG, OperatorConfig } from './config/operator.config';
import { ProgramsModule } from './programs/programs.module';
import { RegistryModule } from './registry/registry.module';
import { StoreLossService } from './store/store-loss.service';
import { TenantsService } from './tenants/tenants.service';
import { TelemetryModule } from './telemetry/telemetry.module';

@Module({})
export class AppModule {
  static forRoot(config: OperatorConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        MetricsModule.forRoot({ service: 'operator', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        RedisModule.forRoot({ url: config.REDIS_URL, connectionName: 'operator', logger }),
        RegistryModule,
        CircuitsModule,
        ProgramsModule,
        TelemetryModule,
        ImpairmentsModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: OPERATOR_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        { provide: TenantCallBudget, useValue: tenantCallBudgetOf(config) },
        {
          provide: PartyAdmission,
          useValue: new PartyAdmission({
            inFlight: config.TENANT_OPERATOR_CALLS_IN_FLIGHT,
            waiting: config.TENANT_OPERATOR_CALLS_WAITING,
          }),
        },
        { provide: TokenTenants, useValue: new TokenTenants() },
        { provide: SecretTenants, useValue: new SecretTenants() },
        TrustedCallers,
        TenantTurnsGuard,
        {
          provide: READINESS_CHECKS,
          inject: [REDIS_CLIENT, TenantsService, StoreLossService],
          useFactory: (redis: Redis, tenants: TenantsService, store: StoreLossService) => [
            redisReadinessCheck(redis),
            tenants.readiness(),
            store.readiness(),
          ],
        },
      ],
      exports: [
        OPERATOR_CONFIG,
        JsonLogger,
        TenantCallBudget,
        PartyAdmission,
        TokenTenants,
        SecretTenants,
        TrustedCallers,
        TenantTurnsGuard,
      ],
    };
  }
}
