import type { EnvVar } from '@tenantlab/shared';
import { env } from '@tenantlab/shared';

const TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

function optionalToken(expects: string): EnvVar<string | undefined> {
  return { expects, optional: true, parse: (raw) => (TOKEN.test(raw) ? raw : undefined) };
}

function optionalUrl(what: string): EnvVar<string | undefined> {
  const rule = env.url({ protocols: ['http:', 'https:'] });
  return { expects: `${what}: ${rule.expects}`, optional: true, parse: rule.parse };
}

/**
 * The dashboard's variables (issue 13). Without DASHBOARD_TOKEN the dashboard is off (its page says so and every data
 * route answers 403); without a service's URL its part of the page says where the data would come from.
 */
export const dashboardEnv = {
  /** The credential a person logs in to GET /dashboard with: the lab's `dashboard-token` secret. */
  DASHBOARD_TOKEN: optionalToken('the dashboard login token: 32-256 characters of A-Z a-z 0-9 _ -'),
  /** Telemetry's own token, presented to the operator, the switch and the allocator for the dashboard's data. */
  SERVICE_TOKEN: optionalToken("telemetry's token for calls to other services: 32-256 characters of A-Z a-z 0-9 _ -"),
  OPERATOR_URL: optionalUrl("the operator's base URL"),
  SWITCH_URL: optionalUrl("the switch's base URL"),
  ALLOCATOR_URL: optionalUrl("the allocator's base URL"),
  /** Jaeger's query API (`/api/traces/:id`), proxied for the dashboard's trace waterfall. */
  JAEGER_QUERY_URL: optionalUrl("Jaeger's query API base URL"),
  /** The password of Jaeger's query API where the lab puts it behind basic auth (local mode: the lab secret). */
  JAEGER_QUERY_PASSWORD: optionalToken("Jaeger's query API password: 32-256 characters of A-Z a-z 0-9 _ -"),
  /** How often the dashboard's data is collected from the services while anyone watches, and kept for the charts. */
  DASHBOARD_POLL_MS: env.integer({ default: 1000, min: 200, max: 60_000 }),
};

export const DASHBOARD_CONFIG = Symbol('DASHBOARD_CONFIG');

export type DashboardConfig = {
  readonly [K in keyof typeof dashboardEnv]: (typeof dashboardEnv)[K] extends EnvVar<infer T> ? T : never;
};
