import { Inject, Injectable } from '@nestjs/common';
import { matchCaller } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { sameDigest, sha256Hex } from './vm-secrets';

/**
 * Whether a bearer token is one of the lab's own: a trusted service's (CALLER_TOKENS) or the admin token. Both read
 * the whole lab, and neither waits in a tenant's turn. Compared as sha256 digests in constant time.
 */
@Injectable()
export class TrustedCallers {
  private readonly adminTokenHash: string | undefined;

  constructor(
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'CALLER_TOKENS' | 'OPERATOR_ADMIN_TOKEN'>,
  ) {
    this.adminTokenHash =
      config.OPERATOR_ADMIN_TOKEN === undefined ? undefined : sha256Hex(config.OPERATOR_ADMIN_TOKEN);
  }

  isTrusted(token: string): boolean {
    if (matchCaller(this.config.CALLER_TOKENS ?? [], token) !== undefined) return true;
    return this.adminTokenHash !== undefined && sameDigest(this.adminTokenHash, sha256Hex(token));
  }
}
