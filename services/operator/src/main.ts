import 'reflect-metadata';
import { bootstrapService, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { AppModule } from './app.module';
import { operatorEnv } from './config/operator.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('operator', operatorEnv);
  const logger = new JsonLogger('operator', config.LOG_LEVEL);
  await bootstrapService({
    name: 'operator',
    module: AppModule.forRoot(config, logger),
    host: config.HOST,
    port: config.PORT,
    logger,
    maxConnectionsPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    openApi: {
      title: 'Tenantlab operator',
      description:
        "Tenants (admin token), the VM registry, circuits, listeners, tenant programs and a tenant's own telemetry (VM token).",
      bearer: {
        schemes: {
          vm: 'a VM token, from POST /vms (credentials.token)',
          admin: 'the admin token (OPERATOR_ADMIN_TOKEN)',
          service: 'a trusted service token (CALLER_TOKENS), such as telemetry for its dashboard',
        },
      },
    },
  });
}

void main().catch((error: unknown) => {
  process.stderr.write(`operator: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
