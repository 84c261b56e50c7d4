export * from './redis-keys';
export * from './redis-client.factory';
