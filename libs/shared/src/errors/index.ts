export * from './domain.error';
export * from './id-param';
