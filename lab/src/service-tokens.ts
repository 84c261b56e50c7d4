import { formatCallerTokens, KAFKA_SERVICE_USERS } from '@tenantlab/shared';
import { ensureLabSecret, readLabSecret } from './lab-secrets';

/**
 * Service credentials: one bearer token per trusted service and one for the lab's admin tools (the lab runner's
 * clients, tests, benches), each a lab secret (`.lab/<profile>/service-token-<holder>`). The switch, the allocator and
 * telemetry accept only the callers `CALLERS_OF` names, each with its token; nothing else gets a token, tenants never.
 */
export const TOKEN_HOLDERS = ['operator', 'switch', 'allocator', 'telemetry', 'admin'] as const;
export type TokenHolder = (typeof TOKEN_HOLDERS)[number];
export type ServiceTokens = Record<TokenHolder, string>;

/**
 * Who calls whom over HTTP: the operator calls the switch and the allocator for tenants' programs and telemetry for
 * tenants' traces and events; telemetry reads the operator (the lab's circuits), the switch and the allocator for its
 * dashboard; the admin tools read and set everything. The switch and the allocator call no one's HTTP API (their
 * tokens are kept for the Kafka credentials; telemetry's is both).
 */
export const CALLERS_OF = {
  operator: ['telemetry', 'admin'],
  switch: ['operator', 'telemetry', 'admin'],
  allocator: ['operator', 'telemetry', 'admin'],
  telemetry: ['operator', 'admin'],
} as const satisfies Record<string, readonly TokenHolder[]>;

/** The services that call others' HTTP APIs, each with its own token as SERVICE_TOKEN. */
export const HTTP_CALLERS: readonly TokenHolder[] = ['operator', 'telemetry'];

/** The profile's service tokens, each created on first use like the Redis admin password. Never print them. */
export function ensureServiceTokens(dataDir: string): ServiceTokens {
  return Object.fromEntries(
    TOKEN_HOLDERS.map((holder) => [holder, ensureLabSecret(dataDir, `service-token-${holder}`)]),
  ) as ServiceTokens;
}

/** The admin tools' token of a running lab (`status`, tests), or undefined when the profile has none. */
export function readAdminToken(dataDir: string): string | undefined {
  return readLabSecret(dataDir, 'service-token-admin');
}

/**
 * The credential variables of one process of the lab: a guarded service's `CALLER_TOKENS`, the own `SERVICE_TOKEN`
 * of the operator and telemetry; nothing for tenant VMs.
 */
export function serviceCredentialEnv(name: string, tokens: ServiceTokens): Record<string, string> {
  const env: Record<string, string> = {};
  if ((HTTP_CALLERS as readonly string[]).includes(name)) env['SERVICE_TOKEN'] = tokens[name as TokenHolder];
  if (name in CALLERS_OF) {
    const callers = CALLERS_OF[name as keyof typeof CALLERS_OF];
    env['CALLER_TOKENS'] = formatCallerTokens(Object.fromEntries(callers.map((caller) => [caller, tokens[caller]])));
  }
  return env;
}

/** Gives each planned process its credential variables (see serviceCredentialEnv). */
export function withServiceCredentials<T extends { name: string; kind: string; env: Record<string, string> }>(
  specs: T[],
  tokens: ServiceTokens,
): T[] {
  return specs.map((spec) =>
    spec.kind === 'service' ? { ...spec, env: { ...spec.env, ...serviceCredentialEnv(spec.name, tokens) } } : spec,
  );
}

/**
 * A `${VAR:?message}` reference to a value the lab runner generates per profile: a plain `docker compose up` without
 * it stops before it creates anything, with a message that names the variable and the command that sets it.
 */
export function requiredComposeVariable(name: string): string {
  return `\${${name}:?${name} is generated per lab: start it with npm run lab -- up --mode docker}`;
}

/**
 * The Kafka users of a local lab, each password a service token: the switch, the allocator and telemetry each as
 * itself, and `admin` (the super user) for the lab's tools and tests. The operator uses no Kafka.
 */
export const KAFKA_USERS = KAFKA_SERVICE_USERS;

/** The broker's SCRAM users for InfraOptions.kafkaUsers. */
export function kafkaUsersOf(tokens: ServiceTokens): { admin: string } & Record<string, string> {
  return { admin: tokens.admin, ...Object.fromEntries(KAFKA_USERS.map((user) => [user, tokens[user]])) };
}

/** Gives the switch, the allocator and telemetry their Kafka user (`KAFKA_USERNAME`, `KAFKA_PASSWORD`). */
export function withKafkaCredentials<T extends { name: string; kind: string; env: Record<string, string> }>(
  specs: T[],
  tokens: ServiceTokens,
): T[] {
  return specs.map((spec) =>
    spec.kind === 'service' && (KAFKA_USERS as readonly string[]).includes(spec.name)
      ? {
          ...spec,
          env: { ...spec.env, KAFKA_USERNAME: spec.name, KAFKA_PASSWORD: tokens[spec.name as TokenHolder] },
        }
      : spec,
  );
}
