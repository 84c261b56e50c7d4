export * from './service-credentials';
export * from './tenant-control-calls';
