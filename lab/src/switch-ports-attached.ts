import { requestJson, serviceAuthHeaders } from '@tenantlab/shared';

/** The VMs whose ports the switch lists, or why it could not be asked. */
export type AttachedPortsProbe = () => Promise<{ vms: readonly string[] } | { error: string }>;

/** Asks the switch at `switchUrl` (GET /dataplane, with the lab's admin token) which VMs' ports it has attached. */
export function switchPortsProbe(switchUrl: string, adminToken: string): AttachedPortsProbe {
  return async () => {
    try {
      const { status, body } = await requestJson<{ ports?: { vm: string }[] }>(
        'GET',
        `${switchUrl}/dataplane`,
        undefined,
        2500,
        serviceAuthHeaders(adminToken),
      );
      if (status !== 200 || !Array.isArray(body?.ports)) return { error: `GET /dataplane answered ${status}` };
      return { vms: body.ports.map((port) => port.vm) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };
}

/**
 * Waits until the switch has attached every VM's port. A VM is ready once registered, but the switch finds new
 * ports on its next scan (PORT_SCAN_INTERVAL_MS): until then frames to that VM are flooded to the tenant's other
 * ports and never reach it. The lab says it is ready only after this, so a user's first frames arrive.
 */
export async function waitUntilPortsAttached(
  probe: AttachedPortsProbe,
  vms: readonly string[],
  timeoutMs: number,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    const missing = 'vms' in answer ? vms.filter((vm) => !answer.vms.includes(vm)) : [...vms];
    if (missing.length === 0) return;
    if (Date.now() >= deadline) {
      const why = 'error' in answer ? ` (${answer.error})` : '';
      throw new Error(
        `the switch had not attached the ports of ${missing.join(', ')} within ${timeoutMs / 1000} s${why}`,
      );
    }
    await new Promise((done) => setTimeout(done, pollMs));
  }
}
