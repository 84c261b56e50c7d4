// What other packages (the benchmarks) use of the allocator in-process: its memory map and reallocation policy.
export { FIT_ATTEMPTS, heldCells, PACKING_SLACK, shareableSlots, shrunkShares } from './reallocation/fit-policy';
export { InsufficientCapacityError } from './memory/insufficient-capacity.error';
export { cellsFor, MemoryMap, type RegisterRequest } from './memory/memory-map';
export {
  DEFAULT_UTILITY_POLICY,
  reallocateByUtility,
  type TenantUtilityReport,
  type UtilityPolicyOptions,
} from './reallocation/utility-policy';
