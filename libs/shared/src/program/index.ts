export {
  BINARY_OPERATORS,
  COUNTER_KINDS,
  GUARD_OPERATORS,
  HASH_ALGORITHMS,
  MATCH_KINDS,
  METADATA_NAMESPACE,
  NAME_PATTERN,
  OP_KINDS,
  PROGRAM_LIMITS,
  REGISTER_WIDTHS,
  RESERVED_NAMESPACES,
  type BinaryOperator,
  type CounterKind,
  type GuardOperator,
  type HashAlgorithm,
  type MatchKind,
  type OpKind,
  type RegisterWidth,
} from './program.constants';
export * from './program-fields';
export * from './program.types';
export { binaryWidth, bitLength, constantValue, parseConstant } from './program-widths';
export {
  IPV4_ADDRESS_FIELDS,
  MAC_ADDRESS_FIELDS,
  isAddressLiteral,
  parseConstantOrAddress,
  parseFieldConstant,
  reportedFieldValue,
} from './address-constants';
export { validateProgram } from './program.validator';
export * from './linked-pipeline';
