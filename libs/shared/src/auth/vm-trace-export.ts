import { createHmac } from 'node:crypto';

/**
 * A local VM's trace export token (issue 10): locally every VM connects from 127.0.0.1, so the OTLP relay knows a VM
 * by this bearer token instead of by its address (Docker mode). One per VM, derived from the lab's key like its
 * control token but under another label, so holding it opens nothing else; the relay gets only its sha256.
 */
export function vmTraceExportToken(labKey: string, vm: string): string {
  return createHmac('sha256', labKey).update(`tenantlab vm trace export ${vm}`).digest('hex');
}
