export * from './packet-context';
export * from './register-memory';
export * from './program-compiler';
export type { KeyMatchInput, TableEntryInput, TableMatch } from './program-table';
export { crc16, crc32 } from './hash-functions';
export * from './tenant-cpu-budget';
