import 'reflect-metadata';
import { bootstrapService, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { AppModule } from './app.module';
import { allocatorEnv } from './config/allocator.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('allocator', allocatorEnv);
  const logger = new JsonLogger('allocator', config.LOG_LEVEL);
  await bootstrapService({
    name: 'allocator',
    module: AppModule.forRoot(config, logger),
    host: config.HOST,
    port: config.PORT,
    logger,
    openApi: {
      title: 'Tenantlab allocator',
      description: "Admits tenant programs into the switch pipeline's register memory and reports the memory map.",
      bearer: {
        schemes: { service: 'a caller service token (CALLER_TOKENS), such as the lab admin token' },
        requiredOnAllRoutes: true,
      },
    },
  });
}

void main().catch((error: unknown) => {
  process.stderr.write(`allocator: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
