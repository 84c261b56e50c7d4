import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { VM_CONTROL_OPTIONS, VmControlGuard } from './control/vm-control.guard';
import { HealthController, JsonLogger, READINESS_CHECKS, MetricsModule } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from './config/tenant-vm.config';
import { CircuitsModule } from './circuits/circuits.module';
import { VmRedis } from './circuits/vm-redis';
import { ProgramsModule } from './programs/programs.module';
import { RegistrationModule } from './registration/registration.module';
import { WorkloadsModule } from './workloads/workloads.module';
import { RegistrationService } from './registration/registration.service';
import { TrafficModule } from './traffic/traffic.module';
import { VnicModule } from './vnic/vnic.module';
import { VmMetrics } from './metrics/vm.metrics';

@Module({})
export class AppModule {
  static forRoot(config: TenantVmConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        MetricsModule.forRoot({ service: 'tenant-vm', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        RegistrationModule,
        CircuitsModule,
        WorkloadsModule,
        VnicModule,
        TrafficModule,
        ProgramsModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: TENANT_VM_CONFIG, useValue: config },
        { provide: VM_CONTROL_OPTIONS, useValue: { vm: config.VM_ID, tokenSha256: config.CONTROL_TOKEN_SHA256 } },
        { provide: APP_GUARD, useClass: VmControlGuard },
        VmMetrics,
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [RegistrationService, VmRedis],
          useFactory: (registration: RegistrationService, redis: VmRedis) => [
            registration.readinessCheck(),
            redis.readinessCheck(),
          ],
        },
      ],
      exports: [TENANT_VM_CONFIG, JsonLogger],
    };
  }
}
