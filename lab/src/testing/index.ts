export * from './test-redis';
export * from './seed-registry';
