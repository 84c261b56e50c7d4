export * from './port-keys';
export * from './vm-addresses';
