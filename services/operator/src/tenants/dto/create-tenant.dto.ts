import { ID_PATTERN } from '@tenantlab/shared';
import { IsObject, IsOptional, Matches } from 'class-validator';

export class CreateTenantDto {
  @Matches(ID_PATTERN, { message: 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit' })
  id!: string;

  /**
   * Overrides of the default caps: maxVms, maxCircuits, maxPrograms, ringBytes, vmRingBytes, ringEntries,
   * vmRingEntries (checked by the service).
   */
  @IsOptional()
  @IsObject({ message: 'must be an object of caps' })
  caps?: Record<string, unknown>;

  /**
   * The sha256 (hex) of an enrollment secret the administrator made, as the lab file's tenants are declared. Without
   * it the operator makes the secret and shows it once, in the answer.
   */
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits: the sha256 of the enrollment secret' })
  secretSha256?: string;
}
