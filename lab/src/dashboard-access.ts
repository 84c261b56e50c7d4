import { ensureLabSecret, labSecretFile } from './lab-secrets';

/**
 * The lab dashboard's credential (issue 13): telemetry serves the dashboard at /dashboard and lets in whoever logs in
 * with this token. A lab secret of its own (`.lab/<profile>/dashboard-token`, owner-only), not a service token: it
 * opens the admin view and nothing else. Never printed; `up` prints where it is.
 */
export const DASHBOARD_TOKEN_SECRET = 'dashboard-token';

export function ensureDashboardToken(dataDir: string): string {
  return ensureLabSecret(dataDir, DASHBOARD_TOKEN_SECRET);
}

type PlannedProcess = { name: string; kind: string; env: Record<string, string> };

/** `env` added to telemetry's in a local lab's plan. */
function withTelemetryEnv<T extends PlannedProcess>(specs: T[], env: Record<string, string>): T[] {
  return specs.map((spec) =>
    spec.kind === 'service' && spec.name === 'telemetry' ? { ...spec, env: { ...spec.env, ...env } } : spec,
  );
}

/** Telemetry's DASHBOARD_TOKEN in a local lab's plan. */
export function withDashboardToken<T extends PlannedProcess>(specs: T[], token: string): T[] {
  return withTelemetryEnv(specs, { DASHBOARD_TOKEN: token });
}

/**
 * Telemetry's JAEGER_QUERY_PASSWORD in a local lab's plan: its dashboard proxies Jaeger's query API, which a local lab
 * puts behind the lab secret `jaeger-query-password` (every tenant's traces are there).
 */
export function withJaegerQueryPassword<T extends PlannedProcess>(specs: T[], password: string): T[] {
  return withTelemetryEnv(specs, { JAEGER_QUERY_PASSWORD: password });
}

/** How to open the dashboard, for `up`'s output: its URL and the file that holds the token, never the token. */
export function dashboardHint(telemetryUrl: string, dataDir: string): string {
  return (
    `Dashboard: ${telemetryUrl}/dashboard (an admin view; log in with the token in ` +
    `${labSecretFile(dataDir, DASHBOARD_TOKEN_SECRET)})`
  );
}
