export * from './service-credentials';
export * from './tenant-control-calls';
export * from './vm-control';
export * from './token-digest';
export * from './jaeger-query';
export * from './jaeger-ingest';
export * from './vm-trace-export';
export * from './basic-auth';
