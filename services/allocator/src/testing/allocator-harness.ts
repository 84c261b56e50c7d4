import type { AddressInfo } from 'node:net';
import { type DynamicModule, Module } from '@nestjs/common';
import { serviceCredentialEnv, TEST_SERVICE_TOKENS } from '@tenantlab/lab';
import {
  createServiceApp,
  HealthController,
  JsonLogger,
  MetricsModule,
  parseEnv,
  READINESS_CHECKS,
  REDIS_CLIENT,
  RedisModule,
  redisReadinessCheck,
  ServiceAuthModule,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { ALLOCATOR_CONFIG, type AllocatorConfig, allocatorEnv } from '../config/allocator.config';
import { PipelineModule } from '../pipeline/pipeline.module';
import { PipelineService } from '../pipeline/pipeline.service';

export interface ErrorReply {
  error: { code: string; message: string; retriable: boolean; details?: string[] };
}

/** An allocator running in this process, as main.ts would start it, on a free loopback port. */
export interface AllocatorUnderTest {
  url: string;
  close(): Promise<void>;
}

/**
 * The allocator's pipeline feature on its real Redis module and its readiness (Redis and the pipeline), as AppModule
 * wires them, without the Kafka status heartbeat: these tests do not look at it, and a heartbeat retrying an absent broker would keep the test process
 * alive for a minute after the tests end.
 */
@Module({})
class PipelineUnderTestModule {
  static forRoot(config: AllocatorConfig, logger: JsonLogger): DynamicModule {
    return {
      module: PipelineUnderTestModule,
      global: true,
      imports: [
        ServiceAuthModule.forRoot({ service: 'allocator', callers: config.CALLER_TOKENS }),
        RedisModule.forRoot({ url: config.REDIS_URL, connectionName: 'allocator', logger }),
        MetricsModule.forRoot({ service: 'allocator', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        PipelineModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: ALLOCATOR_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [REDIS_CLIENT, PipelineService],
          useFactory: (redis: Redis, pipeline: PipelineService) => [redisReadinessCheck(redis), pipeline.readiness()],
        },
      ],
      exports: [ALLOCATOR_CONFIG, JsonLogger],
    };
  }
}

/**
 * Starts the allocator's pipeline feature with the same pipe, filter and body limit as bootstrapService, without its
 * signal handlers (they would exit the test process).
 */
export async function startAllocator(redisUrl: string, env: Record<string, string> = {}): Promise<AllocatorUnderTest> {
  const config = parseEnv(allocatorEnv, {
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'warn',
    ...serviceCredentialEnv('allocator', TEST_SERVICE_TOKENS),
    ...env,
  });
  // stderr, so the allocator's log lines do not mix with the test runner's report on stdout.
  const logger = new JsonLogger('allocator', config.LOG_LEVEL, (line) => process.stderr.write(line));
  const app = await createServiceApp({ module: PipelineUnderTestModule.forRoot(config, logger), logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return { url: `http://127.0.0.1:${port}`, close: () => (closing ??= app.close()) };
}
