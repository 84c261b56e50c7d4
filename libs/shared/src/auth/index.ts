export * from './service-credentials';
export * from './tenant-control-calls';
export * from './vm-control';
export * from './token-digest';
export * from './jaeger-query';
export * from './basic-auth';
