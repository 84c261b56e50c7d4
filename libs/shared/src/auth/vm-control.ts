import { createHmac } from 'node:crypto';
import { withUserInfo } from './basic-auth';
import { tokenMatchesSha256, tokenSha256, tokenSha256Variable } from './token-digest';

/**
 * A tenant VM's control API (workloads, traffic, circuits, its tenant's program, its vNIC) acts with that VM's
 * credentials, and every VM can reach every other VM's address (Docker mode: one network for the VMs; local mode:
 * 127.0.0.1). So it answers only its own control token: one per VM, derived from the lab's key, which only the lab's
 * tools hold; the VM gets only the token's sha256 (CONTROL_TOKEN_SHA256). A VM sees its own token whenever the lab
 * drives it, and that opens no other VM's API.
 */
export function vmControlToken(labKey: string, vm: string): string {
  return createHmac('sha256', labKey).update(`tenantlab vm control ${vm}`).digest('hex');
}

/** The user name a VM's control URL carries its token under (HTTP basic auth). */
export const VM_CONTROL_USER = 'lab';

/**
 * `url` with the VM's control token as its user info (`http://lab:<token>@host:port`), as a Redis URL carries its
 * password: node:http sends it as basic auth. For the lab's tools; never print it.
 */
export function vmControlUrl(url: string, token: string): string {
  return withUserInfo(url, VM_CONTROL_USER, token);
}

/** `url` without user info, for messages: a control URL's token must never be printed. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    // As it was given: URL adds a "/" to a bare origin, which `${url}/path` would double.
    return url.endsWith('/') ? parsed.toString() : parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * The token an Authorization header presents for a VM's control API: `Bearer <token>`, or basic auth as user
 * VM_CONTROL_USER (what a control URL sends). Undefined when there is none.
 */
export function presentedControlToken(authorization: string | undefined): string | undefined {
  const bearer = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  const basic = /^Basic +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // node:http sends the URL's user info decoded, so the password is the token as it is.
  return colon >= 0 && decoded.slice(0, colon) === VM_CONTROL_USER ? decoded.slice(colon + 1) : undefined;
}

/** Whether `presented` hashes to `expectedSha256`, compared in constant time. */
export const controlTokenMatches: (expectedSha256: string | undefined, presented: string) => boolean =
  tokenMatchesSha256;

/** The sha256 (hex) a VM is given of its control token (CONTROL_TOKEN_SHA256). */
export const controlTokenSha256: (token: string) => string = tokenSha256;

/** A VM's setting: the sha256 of its control token. Unset, its control API answers no one (only health, ready). */
export const vmControlTokenEnv = {
  CONTROL_TOKEN_SHA256: tokenSha256Variable(
    "the sha256 of the VM's control token, 64 hex digits (unset: its control API refuses every call)",
  ),
};
