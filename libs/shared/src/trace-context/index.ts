export * from './trace-context.carrier';
