import { ID_PATTERN } from '@tenantlab/shared';
import { IsUrl, Matches } from 'class-validator';

export class RegisterVmDto {
  @Matches(ID_PATTERN, { message: 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit' })
  id!: string;

  @Matches(ID_PATTERN, { message: 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit' })
  tenant!: string;

  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'must be an http(s) URL' },
  )
  url!: string;
}
