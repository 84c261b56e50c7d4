import { CIRCUIT_MODES, type CircuitMode } from '@tenantlab/shared';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/** Service names as the operator accepts them, such as `echo` or `db:5432`. */
const SERVICE_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,99}$/;
const SERVICE_MESSAGE = 'must be 1-100 characters of a-z, 0-9, ".", "_", ":" and "-"';

export class EchoWorkloadDto {
  @Matches(SERVICE_PATTERN, { message: SERVICE_MESSAGE })
  service!: string;
}

export class SendWorkloadDto {
  /** `<service>` or `<vm-id>/<service>`; the operator resolves it and checks policy. */
  @IsString()
  @MaxLength(200)
  target!: string;

  @IsIn(CIRCUIT_MODES, { message: `must be one of ${CIRCUIT_MODES.join(', ')}` })
  mode!: CircuitMode;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  count!: number;

  /** Bytes per message; at least 4, since each message starts with its sequence number. */
  @IsInt()
  @Min(4)
  @Max(1024 * 1024)
  size!: number;
}

export class PingWorkloadDto {
  @IsString()
  @MaxLength(200)
  target!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  count?: number;

  @IsOptional()
  @IsInt()
  @Min(4)
  @Max(64 * 1024)
  size?: number;
}
