import { Inject, Injectable } from '@nestjs/common';
import { matchCaller } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { adminTokenMatcher } from './admin-token.guard';

/**
 * Whether a bearer token is one of the lab's own: a trusted service's (CALLER_TOKENS) or the admin token. Both read
 * the whole lab, and neither waits in a tenant's turn. Compared as sha256 digests in constant time.
 */
@Injectable()
export class TrustedCallers {
  private readonly isAdminToken: ((token: string) => boolean) | undefined;

  constructor(
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'CALLER_TOKENS' | 'OPERATOR_ADMIN_TOKEN'>,
  ) {
    this.isAdminToken = adminTokenMatcher(config);
  }

  isTrusted(token: string): boolean {
    if (matchCaller(this.config.CALLER_TOKENS ?? [], token) !== undefined) return true;
    return this.isAdminToken?.(token) ?? false;
  }
}
