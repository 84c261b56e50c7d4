import { DynamicModule, Module } from '@nestjs/common';
import { HealthController, JsonLogger, READINESS_CHECKS } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from './config/tenant-vm.config';
import { RegistrationModule } from './registration/registration.module';
import { RegistrationService } from './registration/registration.service';

@Module({})
export class AppModule {
  static forRoot(config: TenantVmConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [RegistrationModule],
      controllers: [HealthController],
      providers: [
        { provide: TENANT_VM_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [RegistrationService],
          useFactory: (registration: RegistrationService) => [registration.readinessCheck()],
        },
      ],
      exports: [TENANT_VM_CONFIG, JsonLogger],
    };
  }
}
