export * from './redis-keys';
export * from './redis-client.factory';
export * from './redis-limits';
export * from './attacker-redis-bytes';
export * from './store-epoch';
export * from './disconnect-now';
export * from './until-closed';
