import type { IncomingMessage } from 'node:http';
import { tokenSha256 } from '@tenantlab/shared';
import type { VmIdentifier } from './vm-identifier';
import type { VmIdentity } from './vm-sources';

export interface TokenVm extends VmIdentity {
  /** The sha256 (hex) of the VM's trace export token; the relay never holds the token. */
  tokenSha256: string;
}

/**
 * Which lab VM an export comes from by the bearer token it presents (`Authorization: Bearer <token>`): a local lab's
 * VMs all connect from 127.0.0.1, and each holds only its own token. The presented token's sha256 is looked up, so
 * the lookup's timing tells nothing about a token's bytes.
 */
export class VmTokens implements VmIdentifier {
  readonly unidentified = {
    status: 401,
    message: "not a VM of this lab: send the VM's trace export token as Authorization: Bearer <token>",
    headers: { 'www-authenticate': 'Bearer' },
  };
  private readonly byHash: Map<string, VmIdentity>;

  constructor(vms: readonly TokenVm[]) {
    this.byHash = new Map(vms.map(({ vm, tenant, tokenSha256: hash }) => [hash, { vm, tenant }]));
  }

  identify(request: IncomingMessage): Promise<VmIdentity | undefined> {
    const token = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    return Promise.resolve(token === undefined ? undefined : this.byHash.get(tokenSha256(token)));
  }
}
