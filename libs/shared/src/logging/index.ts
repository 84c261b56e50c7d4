export * from './json.logger';
