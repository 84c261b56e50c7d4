import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { JsonLogger } from '../logging';
import { createRedisClient, pingRedis } from '../redis';
import type { ReadinessCheck } from './readiness';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Injectable()
class RedisConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    // QUIT lets pending replies arrive; disconnect() would drop them.
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Provides one shared ioredis client under REDIS_CLIENT and closes it on shutdown. */
@Module({})
export class RedisModule {
  static forRoot(options: { url: string; connectionName: string; logger: JsonLogger }): DynamicModule {
    return {
      module: RedisModule,
      global: true,
      providers: [
        {
          provide: REDIS_CLIENT,
          useFactory: () => createRedisClient(options.url, options.connectionName, options.logger),
        },
        RedisConnectionCloser,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}

export function redisReadinessCheck(client: Redis): ReadinessCheck {
  return { name: 'redis', check: () => pingRedis(client) };
}
