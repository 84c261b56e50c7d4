export * from './lab-topology';
