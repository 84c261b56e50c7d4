export * from './port-keys';
export * from './vm-addresses';
export * from './port-ledger';
export * from './impairment-spec';
export * from './port-frames';
export * from './stage-timings';
export * from './stream-occupancy';
export * from './tenant-port-budget';
