import { ID_PATTERN } from '@tenantlab/shared';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBase64,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_REPLAY_FRAMES, MAX_REPLAY_SPEED } from '../frame-replayer';

/** A VM id (ID_PATTERN) or a MAC address (`aa:bb:cc:dd:ee:ff`): ids hold no colon, so the two cannot be confused. */
const VM_OR_MAC = new RegExp(`^(?:${ID_PATTERN.source.slice(1, -1)}|(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})$`);

export class ReplayFrameDto {
  /** When to send the frame: µs of recorded time after the request starts (divided by `speed`). */
  @IsInt()
  @Min(0)
  @Max(3_600_000_000)
  atUs!: number;

  /**
   * The whole Ethernet frame, base64. The length bound only keeps a request's memory small; the frame's own size
   * (14 to MAX_FRAME_BYTES decoded) is checked per frame, by index, before anything is sent.
   */
  @IsBase64()
  @MaxLength(16_384)
  data!: string;
}

export class ReplayFramesDto {
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_REPLAY_FRAMES)
  @ValidateNested({ each: true })
  @Type(() => ReplayFrameDto)
  frames!: ReplayFrameDto[];

  /** The destination: a VM id (its MAC) or a MAC, written over every frame's; omitted, each keeps its recorded one. */
  @IsOptional()
  @Matches(VM_OR_MAC, { message: 'must be a VM id (1-63 characters of a-z, 0-9 and -) or a MAC aa:bb:cc:dd:ee:ff' })
  to?: string;

  /** Time scale: 2 replays twice as fast as recorded (default 1). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(MAX_REPLAY_SPEED)
  speed?: number;
}
