import 'reflect-metadata';
import { bootstrapService, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { AppModule } from './app.module';
import { tenantVmEnv } from './config/tenant-vm.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('tenant-vm', tenantVmEnv);
  const logger = new JsonLogger(config.VM_ID, config.LOG_LEVEL);
  await bootstrapService({
    name: `tenant-vm ${config.VM_ID} (${config.TENANT_ID})`,
    module: AppModule.forRoot(config, logger),
    host: config.HOST,
    port: config.PORT,
    logger,
    openApi: {
      title: 'Tenantlab tenant VM',
      description:
        "A tenant VM's control API: its registration, vNIC, circuits, workloads, traffic and its tenant's program (through the operator).",
    },
  });
}

void main().catch((error: unknown) => {
  process.stderr.write(`tenant-vm: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
