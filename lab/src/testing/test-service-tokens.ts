import { randomBytes } from 'node:crypto';
import { serviceAuthHeaders } from '@tenantlab/shared';
import { TOKEN_HOLDERS, type ServiceTokens } from '../service-tokens';

/**
 * Tokens for tests that start services themselves, without a lab: random per test process, never written anywhere.
 */
export const TEST_SERVICE_TOKENS: ServiceTokens = Object.fromEntries(
  TOKEN_HOLDERS.map((holder) => [holder, randomBytes(32).toString('hex')]),
) as ServiceTokens;

/** The headers of the admin tools' test token: what tests send to services they started with TEST_SERVICE_TOKENS. */
export function testAdminHeaders(): { authorization: string } {
  return serviceAuthHeaders(TEST_SERVICE_TOKENS.admin);
}
