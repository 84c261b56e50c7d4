import { CIRCUIT_MODES, type CircuitMode } from '@tenantlab/shared';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { TARGET_PATTERN } from '../circuit-target';

export const MIN_RING_BYTES = 1024;
export const MAX_RING_BYTES = 64 * 1024 * 1024;
export const MAX_RING_ENTRIES = 65_536;

export class RingCapacityDto {
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: `must be from 1 to ${MAX_RING_ENTRIES}` })
  @Max(MAX_RING_ENTRIES, { message: `must be from 1 to ${MAX_RING_ENTRIES}` })
  entries!: number;

  @IsInt({ message: 'must be an integer' })
  @Min(MIN_RING_BYTES, { message: `must be from ${MIN_RING_BYTES} to ${MAX_RING_BYTES} (64 MiB)` })
  @Max(MAX_RING_BYTES, { message: `must be from ${MIN_RING_BYTES} to ${MAX_RING_BYTES} (64 MiB)` })
  bytes!: number;
}

export class CreateCircuitDto {
  @Matches(TARGET_PATTERN, {
    message: 'must be <service> or <vm-id>/<service>, a service name being 1-100 characters of a-z, 0-9 and . _ : -',
  })
  target!: string;

  @IsIn(CIRCUIT_MODES, { message: `must be one of ${CIRCUIT_MODES.join(', ')}` })
  mode!: CircuitMode;

  /** Per ring; defaults to DEFAULT_RING_CAPACITY. */
  @IsOptional()
  @ValidateNested({ message: 'must be an object { entries, bytes }' })
  @Type(() => RingCapacityDto)
  capacity?: RingCapacityDto;
}
