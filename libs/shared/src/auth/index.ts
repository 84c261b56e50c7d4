export * from './service-credentials';
