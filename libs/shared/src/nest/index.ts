export * from './readiness';
export * from './health.controller';
export * from './domain-exception.filter';
export * from './validation.pipe';
export * from './bootstrap-service';
export * from './redis.module';
export * from './kafka.module';
export * from './component-status.module';
