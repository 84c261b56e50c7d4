import type { InfraComponent } from './child-process.supervisor';
import type { InfraPorts } from './ports';

export interface InfraOptions {
  /** Holds each component's data, generated config and log; the lab uses `<repo>/.lab/<profile>/`. */
  dataDir: string;
  ports: InfraPorts;
  /**
   * Password of Redis's `default` (admin) user. Tenant VMs get ACL users of their own from the operator, so the
   * admin user must not be open to anyone on the machine. Unset: no password (only for tools that need none).
   */
  redisPassword?: string;
  /** Every line a component prints, for a merged console view; the same lines go to `<dataDir>/<component>.log`. */
  onLine?: (component: InfraComponent, line: string) => void;
  /**
   * A start after the component crashed, the lab still running: its log is appended to (the crash stays readable)
   * and Kafka keeps its topics and offsets. Redis has no persistence, so it comes back empty either way.
   */
  restarting?: boolean;
  /** Install and startup milestones, for a person watching. */
  onProgress?: (message: string) => void;
}
