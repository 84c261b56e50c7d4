import 'reflect-metadata';
import { bootstrapService, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { AppModule } from './app.module';
import { telemetryEnv } from './config/telemetry.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('telemetry', telemetryEnv);
  const logger = new JsonLogger('telemetry', config.LOG_LEVEL);
  await bootstrapService({
    name: 'telemetry',
    module: AppModule.forRoot(config, logger),
    host: config.HOST,
    port: config.PORT,
    logger,
    openApi: {
      title: 'Tenantlab telemetry',
      description: "Components' heartbeats, packet traces (and their pcap) and program events, read from Kafka.",
      bearer: {
        schemes: { service: 'a caller service token (CALLER_TOKENS), such as the lab admin token' },
        requiredOnAllRoutes: true,
      },
    },
  });
}

void main().catch((error: unknown) => {
  process.stderr.write(`telemetry: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
