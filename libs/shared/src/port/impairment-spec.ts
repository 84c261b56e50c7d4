import { plainToInstance } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, Max, Min, validateSync } from 'class-validator';
import { ValidationError } from '../errors';
import { describeValidationErrors } from '../nest/validation.pipe';

/** The longest delay (and jitter) a port may be given: longer would hold frames past any test's patience. */
export const MAX_IMPAIRMENT_DELAY_MS = 10_000;
/** The highest rate a port may be limited to; above it no lab port is limited anyway. */
export const MAX_IMPAIRMENT_RATE_FPS = 10_000_000;

/**
 * What the switch does to the frames it delivers to one VM's port (its rx), in place of netem, which this kernel lacks.
 * Every field is optional; an empty spec changes nothing but still routes the port's frames through its queue.
 */
export interface ImpairmentSpec {
  /** Each frame is held this long after the switch read it. */
  delayMs?: number;
  /** Plus a uniform draw in [-jitterMs, +jitterMs] (floored at no delay); frames keep their order. */
  jitterMs?: number;
  /** The share of frames dropped, counted as `impaired-loss`. */
  lossRate?: number;
  /** The share of frames swapped with the frame after them. */
  reorderRate?: number;
  /** At most this many frames per second leave for the port; the others wait in its bounded queue. */
  rateFramesPerSecond?: number;
  /** Seed of the PRNG behind loss, jitter and reordering: the same seed and frames make the same decisions. */
  seed?: number;
}

const DELAY_RULE = `must be a number of milliseconds from 0 to ${MAX_IMPAIRMENT_DELAY_MS}`;
const RATE_RULE = 'must be a number from 0 to 1';

/** The HTTP body of `PUT /ports/:vm/impairment` (switch) and `PUT /vms/:id/impairment` (operator). */
export class ImpairmentSpecDto implements ImpairmentSpec {
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: DELAY_RULE })
  @Min(0, { message: DELAY_RULE })
  @Max(MAX_IMPAIRMENT_DELAY_MS, { message: DELAY_RULE })
  delayMs?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: DELAY_RULE })
  @Min(0, { message: DELAY_RULE })
  @Max(MAX_IMPAIRMENT_DELAY_MS, { message: DELAY_RULE })
  jitterMs?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: RATE_RULE })
  @Min(0, { message: RATE_RULE })
  @Max(1, { message: RATE_RULE })
  lossRate?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: RATE_RULE })
  @Min(0, { message: RATE_RULE })
  @Max(1, { message: RATE_RULE })
  reorderRate?: number;

  @IsOptional()
  @IsNumber(
    { allowNaN: false, allowInfinity: false },
    { message: `must be a number of frames per second from 1 to ${MAX_IMPAIRMENT_RATE_FPS}` },
  )
  @Min(1, { message: `must be a number of frames per second from 1 to ${MAX_IMPAIRMENT_RATE_FPS}` })
  @Max(MAX_IMPAIRMENT_RATE_FPS, {
    message: `must be a number of frames per second from 1 to ${MAX_IMPAIRMENT_RATE_FPS}`,
  })
  rateFramesPerSecond?: number;

  @IsOptional()
  @IsInt({ message: 'must be an integer from 0 to 4294967295' })
  @Min(0, { message: 'must be an integer from 0 to 4294967295' })
  @Max(0xffffffff, { message: 'must be an integer from 0 to 4294967295' })
  seed?: number;
}

/**
 * Checks an impairment spec from anywhere but an HTTP body (a scenario file, say) with the DTO's own rules, unknown
 * fields refused: one definition of what is valid. Returns the spec with only its given fields, or throws a
 * ValidationError naming each problem as `path.field: rule`.
 */
export function parseImpairmentSpec(value: unknown, path = 'impairment'): ImpairmentSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${path} must be an object`, [`${path}: expected an object`]);
  }
  const dto = plainToInstance(ImpairmentSpecDto, value);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const details = describeValidationErrors(errors, path);
    throw new ValidationError(`the impairment is invalid: ${details.join('; ')}`, details);
  }
  return normalImpairmentSpec(dto);
}

/** The spec's given fields only, in a fixed order (what GET answers and what is compared). */
export function normalImpairmentSpec(spec: ImpairmentSpec): ImpairmentSpec {
  const out: ImpairmentSpec = {};
  for (const key of ['delayMs', 'jitterMs', 'lossRate', 'reorderRate', 'rateFramesPerSecond', 'seed'] as const) {
    if (spec[key] !== undefined) out[key] = spec[key];
  }
  return out;
}

/** What the switch (and the operator, passing it on) answers for a port's impairment. */
export interface ImpairmentView {
  vm: string;
  /** The spec in force, or null when the port has none (its frames take the baseline path). */
  impairment: ImpairmentSpec | null;
  /** Frames (and their bytes) held in the port's queue now. */
  held: { frames: number; bytes: number };
  /** Since the spec was set: frames offered, lost, refused by a full queue, reordered, and released to the port. */
  counts: { offered: number; lost: number; queueFull: number; reordered: number; released: number };
}

/** What removing a port's impairment answers: how many held frames were flushed to the port, in order. */
export interface ImpairmentCleared {
  vm: string;
  flushed: number;
}
