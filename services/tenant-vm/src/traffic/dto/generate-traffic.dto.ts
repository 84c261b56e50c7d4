import { ID_PATTERN } from '@tenantlab/shared';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { MAX_SEND_BATCH } from '../../vnic/port-sender';
import { MAX_FLOWS, TRAFFIC_PROTOCOLS, type TrafficProtocol } from '../traffic-generator';

export class GenerateTrafficDto {
  /** Destination VM ids; flow k goes to to[k mod length]. The switch decides what reaches them (its VLANs). */
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(64)
  @Matches(ID_PATTERN, { each: true, message: 'each VM id must be 1-63 characters of a-z, 0-9 and -' })
  to!: string[];

  @IsIn(TRAFFIC_PROTOCOLS, { message: `must be one of ${TRAFFIC_PROTOCOLS.join(', ')}` })
  protocol!: TrafficProtocol;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  count!: number;

  /** Frame bytes: Ethernet, IPv4, UDP or TCP, the TLAB header and filler. */
  @IsInt()
  @Min(64)
  @Max(1500)
  size!: number;

  /** Frames per second; omitted, as fast as the vNIC takes them. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  ratePps?: number;

  /** Frames per pipelined round trip to Redis. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEND_BATCH)
  batch?: number;

  /** Distinct flows; flow k sends from port 10000 + k. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_FLOWS)
  flows?: number;

  /** Zipf exponent s: flow k (rank k + 1) is picked with probability proportional to (k + 1)^-s. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(10)
  zipf?: number;

  /** Seed of the PRNG that picks Zipf flows (default 1): the same seed replays the same flow sequence. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(0xffffffff)
  seed?: number;
}
