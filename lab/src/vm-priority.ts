/**
 * The CPU priority of tenant VMs, below the shared services' (the switch, Redis, the operator): a tenant's VMs busy
 * writing as fast as they can (the isolation benchmark's broadcast storm) otherwise take the CPU the switch and Redis
 * need to serve every tenant, and another tenant's frames wait for it. A hypervisor does the same for its driver
 * domain (seed 003). Locally a VM process runs at nice VM_NICE; in Docker a VM container gets VM_CPU_SHARES, about
 * the same weight against the services' 1024 (the kernel's weight for nice 10 is 110 against 1024 at nice 0). It is a
 * weight, not a cap: an idle machine gives a VM all the CPU it asks for.
 */
export const VM_NICE = 10;
export const VM_CPU_SHARES = 110;

/**
 * `command args` run at VM_NICE, through coreutils' `nice`, which execs it: the same process (signals reach it), and
 * every thread it starts inherits the priority (renicing a running Node process would reach only its main thread).
 */
export function atVmPriority(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'nice', args: ['-n', String(VM_NICE), command, ...args] };
}
