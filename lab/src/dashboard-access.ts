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

/** Telemetry's DASHBOARD_TOKEN in a local lab's plan. */
export function withDashboardToken<T extends { name: string; kind: string; env: Record<string, string> }>(
  specs: T[],
  token: string,
): T[] {
  return specs.map((spec) =>
    spec.kind === 'service' && spec.name === 'telemetry'
      ? { ...spec, env: { ...spec.env, DASHBOARD_TOKEN: token } }
      : spec,
  );
}

/**
 * Telemetry's JAEGER_QUERY_PASSWORD in a local lab's plan: its dashboard proxies Jaeger's query API, which a local lab
 * puts behind the lab secret `jaeger-query-password` (every tenant's traces are there).
 */
export function withJaegerQueryPassword<T extends { name: string; kind: string; env: Record<string, string> }>(
  specs: T[],
  password: string,
): T[] {
  return specs.map((spec) =>
    spec.kind === 'service' && spec.name === 'telemetry'
      ? { ...spec, env: { ...spec.env, JAEGER_QUERY_PASSWORD: password } }
      : spec,
  );
}

/** How to open the dashboard, for `up`'s output: its URL and the file that holds the token, never the token. */
export function dashboardHint(telemetryUrl: string, dataDir: string): string {
  return (
    `Dashboard: ${telemetryUrl}/dashboard (an admin view; log in with the token in ` +
    `${labSecretFile(dataDir, DASHBOARD_TOKEN_SECRET)})`
  );
}
