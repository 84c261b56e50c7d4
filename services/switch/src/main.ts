import 'reflect-metadata';
import { bootstrapService, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { AppModule } from './app.module';
import { switchEnv } from './config/switch.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('switch', switchEnv);
  const logger = new JsonLogger('switch', config.LOG_LEVEL);
  await bootstrapService({
    name: 'switch',
    module: AppModule.forRoot(config, logger),
    host: config.HOST,
    port: config.PORT,
    logger,
    openApi: {
      title: 'Tenantlab switch',
      description:
        "The software switch's control API: the data plane, per-tenant sampling and CPU weights, tenant programs' tables, registers and counters.",
      bearer: {
        schemes: { service: 'a caller service token (CALLER_TOKENS), such as the lab admin token' },
        requiredOnAllRoutes: true,
      },
    },
  });
}

void main().catch((error: unknown) => {
  process.stderr.write(`switch: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
