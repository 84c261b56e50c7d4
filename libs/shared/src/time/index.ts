export * from './sleep-until';
