import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatCallerTokens } from '@tenantlab/shared';
import { ensureDashboardToken, DASHBOARD_TOKEN_SECRET } from '../dashboard-access';
import type { LabDefinition } from '../lab-definition';
import { ensureLabIdentity, OPERATOR_ADMIN_TOKEN_SECRET, tenantSecretName } from '../lab-identity';
import { ensureRedisAdminPassword } from '../lab-secrets';
import { CALLERS_OF, ensureServiceTokens, HTTP_CALLERS, KAFKA_USERS, type TokenHolder } from '../service-tokens';

/**
 * Docker mode's secrets (issue 10): every password and token reaches a container as a file, never as an environment
 * variable (`docker inspect` and /proc/<pid>/environ show those). The lab runner writes one file per secret into
 * `.lab/<profile>/container-secrets/`; the compose file declares each as a Compose secret (file-sourced, which Compose
 * v1 and v2 bind-mount read-only at /run/secrets/<name>) and gives each container only those it reads, with the
 * `<NAME>_FILE` variables that point its config loader at them (libs/shared parseEnv).
 */
export const CONTAINER_SECRETS_DIR = 'container-secrets';

/** The compose file's variables for the directory of the files and the group that may read them. */
export const SECRETS_DIR_VARIABLE = 'LAB_SECRETS_DIR';
export const SECRETS_GID_VARIABLE = 'LAB_SECRETS_GID';

/**
 * The group the files belong to (mode 0640) and every container that mounts one is added to (`group_add`): bind mounts
 * keep the host's owner and mode, and the images run as different users (node 1000, redis, Kafka's appuser), so the
 * group is what lets each read its files without the files being world-readable. A root lab runner uses this gid,
 * which no account of a usual host has; any other runner uses its own primary group (it may give files only to that).
 */
export const ROOT_RUNNER_SECRETS_GID = 47_011;

export function containerSecretsGid(): number {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? ROOT_RUNNER_SECRETS_GID : (process.getgid?.() ?? ROOT_RUNNER_SECRETS_GID);
}

/** Where a container sees its secret `name`. */
export function secretPath(name: string): string {
  return `/run/secrets/${name}`;
}

/** The Redis config file that sets the admin password (`requirepass`): redis-server reads it, so no command line has it. */
export const REDIS_ADMIN_CONFIG = 'redis-admin-config';
/** The trusted services' REDIS_URL, the admin password in it. */
export const REDIS_ADMIN_URL = 'redis-admin-url';

function serviceToken(holder: TokenHolder): string {
  return `service-token-${holder}`;
}

function callerTokens(service: string): string {
  return `caller-tokens-${service}`;
}

/** What one container is given: the secrets it mounts and the variables that name their files. */
export interface ContainerSecrets {
  secrets: string[];
  environment: Record<string, string>;
}

/**
 * Exactly the secrets each container reads, from what its config reads: Redis its password (as a config file), the
 * Kafka broker its admin password and every SCRAM user's, kafka-setup the admin's, the operator, switch and allocator
 * the Redis admin URL, each guarded service its callers' tokens (CALLERS_OF), each HTTP caller its own token, each Kafka
 * service its own password, telemetry the dashboard's login, a VM its own tenant's enrollment secret; Jaeger and the
 * OTLP relay nothing.
 */
export function containerSecrets(service: string, tenant?: string): ContainerSecrets {
  if (tenant !== undefined) {
    const name = tenantSecretName(tenant);
    return { secrets: [name], environment: { TENANT_SECRET_FILE: secretPath(name) } };
  }
  const secrets: string[] = [];
  const environment: Record<string, string> = {};
  const give = (name: string, variable?: string): void => {
    if (!secrets.includes(name)) secrets.push(name);
    if (variable) environment[variable] = secretPath(name);
  };
  switch (service) {
    case 'redis':
      give(REDIS_ADMIN_CONFIG);
      return { secrets, environment };
    case 'kafka': {
      const users = ['admin', ...KAFKA_USERS] as const;
      users.forEach((user) => give(serviceToken(user)));
      // The broker's own admin password (its JAAS settings) and the SCRAM users its entrypoint creates.
      environment['ADMIN_PASSWORD_FILE'] = secretPath(serviceToken('admin'));
      environment['SCRAM_USER_FILES'] = users.map((user) => `${user}=${secretPath(serviceToken(user))}`).join(' ');
      return { secrets, environment };
    }
    case 'kafka-setup':
      environment['KAFKA_USERNAME'] = 'admin';
      give(serviceToken('admin'), 'KAFKA_PASSWORD_FILE');
      return { secrets, environment };
  }
  if (['operator', 'switch', 'allocator'].includes(service)) give(REDIS_ADMIN_URL, 'REDIS_URL_FILE');
  if (service === 'operator') give(OPERATOR_ADMIN_TOKEN_SECRET, 'OPERATOR_ADMIN_TOKEN_FILE');
  if ((HTTP_CALLERS as readonly string[]).includes(service))
    give(serviceToken(service as TokenHolder), 'SERVICE_TOKEN_FILE');
  if (service in CALLERS_OF) give(callerTokens(service), 'CALLER_TOKENS_FILE');
  if ((KAFKA_USERS as readonly string[]).includes(service)) {
    environment['KAFKA_USERNAME'] = service;
    give(serviceToken(service as TokenHolder), 'KAFKA_PASSWORD_FILE');
  }
  if (service === 'telemetry') give(DASHBOARD_TOKEN_SECRET, 'DASHBOARD_TOKEN_FILE');
  return { secrets, environment };
}

/** Every secret file of a lab, by name, with its content (the profile's secrets, created on first use). */
export function containerSecretFiles(dataDir: string, definition: LabDefinition): Record<string, string> {
  const redisPassword = ensureRedisAdminPassword(dataDir);
  const identity = ensureLabIdentity(dataDir, definition);
  const tokens = ensureServiceTokens(dataDir);
  return {
    [REDIS_ADMIN_CONFIG]: `requirepass ${redisPassword}\n`,
    [REDIS_ADMIN_URL]: `redis://:${redisPassword}@redis:6379\n`,
    [OPERATOR_ADMIN_TOKEN_SECRET]: `${identity.adminToken}\n`,
    [DASHBOARD_TOKEN_SECRET]: `${ensureDashboardToken(dataDir)}\n`,
    ...Object.fromEntries(
      [...new Set<TokenHolder>(['admin', ...KAFKA_USERS, ...HTTP_CALLERS])].map((holder) => [
        serviceToken(holder),
        `${tokens[holder]}\n`,
      ]),
    ),
    ...Object.fromEntries(
      Object.entries(CALLERS_OF).map(([service, callers]) => [
        callerTokens(service),
        `${formatCallerTokens(Object.fromEntries(callers.map((caller) => [caller, tokens[caller]])))}\n`,
      ]),
    ),
    ...Object.fromEntries(
      Object.entries(identity.tenantSecrets).map(([tenant, secret]) => [tenantSecretName(tenant), `${secret}\n`]),
    ),
  };
}

/**
 * Writes the lab's secret files into `.lab/<profile>/container-secrets/` (owner-only directory; files 0640 owned by
 * the runner, group `containerSecretsGid()`), removes any left from an earlier lab file, and returns what the compose
 * file's LAB_SECRETS_DIR and LAB_SECRETS_GID are set to.
 */
export function writeContainerSecrets(dataDir: string, definition: LabDefinition): Record<string, string> {
  const dir = join(dataDir, CONTAINER_SECRETS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const files = containerSecretFiles(dataDir, definition);
  for (const stale of readdirSync(dir).filter((name) => !(name in files))) rmSync(join(dir, stale), { force: true });
  const gid = containerSecretsGid();
  const uid = process.getuid?.() ?? 0;
  for (const [name, content] of Object.entries(files)) {
    const file = join(dir, name);
    // A new file each time: a running container keeps the one it mounted, and no earlier mode or owner lingers.
    rmSync(file, { force: true });
    writeFileSync(file, content, { mode: 0o600 });
    chownSync(file, uid, gid);
    chmodSync(file, 0o640);
  }
  return containerSecretsEnv(dataDir);
}

/** The compose file's LAB_SECRETS_DIR and LAB_SECRETS_GID for a profile (what `down` needs: no file is read). */
export function containerSecretsEnv(dataDir: string): Record<string, string> {
  return {
    [SECRETS_DIR_VARIABLE]: resolve(dataDir, CONTAINER_SECRETS_DIR),
    [SECRETS_GID_VARIABLE]: String(containerSecretsGid()),
  };
}
