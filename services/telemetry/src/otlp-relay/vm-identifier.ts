import type { IncomingMessage } from 'node:http';
import type { VmIdentity } from './vm-sources';

/**
 * How the relay knows which lab VM sent an export: by its address in Docker mode (VmSources), by its trace export
 * token locally, where every VM is 127.0.0.1 (VmTokens). Never by anything the export itself claims.
 */
export interface VmIdentifier {
  /** The sending VM; undefined: not a VM of the lab, refused with `unidentified`. */
  identify(request: IncomingMessage): Promise<VmIdentity | undefined>;
  readonly unidentified: { status: number; message: string; headers?: Record<string, string> };
}
