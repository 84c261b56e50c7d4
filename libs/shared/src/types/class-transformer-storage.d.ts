// class-transformer ships its metadata storage at this path without a declaration beside it; the types are under
// types/. class-validator-jsonschema needs the storage to follow @Type(() => Dto) into nested DTOs.
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
