export * from './infra';
export * from './lab-definition';
export * from './lab-plan';
export * from './lab-runner';
export * from './lab-state';
export * from './lab-status';
export * from './log-formatter';
export * from './testing';
