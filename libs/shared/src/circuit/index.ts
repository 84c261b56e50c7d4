export * from './circuit-keys';
export * from './circuit-descriptor';
export * from './inbox-message';
export * from './vm-acl';
