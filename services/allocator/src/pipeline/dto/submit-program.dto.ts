import { ID_PATTERN } from '@tenantlab/shared';
import { ArrayMaxSize, IsArray, IsObject, Matches } from 'class-validator';

/** Most VMs a tenant's program may name as `forward` targets: more than a tenant has in any lab. */
export const MAX_TENANT_VMS = 1024;

export class SubmitProgramDto {
  /** The tenant's VM ids, as the operator knows them: the only targets the program may `forward` to. */
  @IsArray()
  @ArrayMaxSize(MAX_TENANT_VMS)
  @Matches(ID_PATTERN, {
    each: true,
    message: 'each must be a VM id: 1-63 characters of a-z, 0-9 and -, starting with a letter or digit',
  })
  vms!: string[];

  /** The program document; the shared validator checks it (HTTP 400 with path-qualified details). */
  @IsObject({ message: 'must be a program document (a JSON object)' })
  program!: Record<string, unknown>;
}
