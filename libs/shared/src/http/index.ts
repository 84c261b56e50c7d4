export * from './json-http.client';
