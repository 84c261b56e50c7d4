import { resolve } from 'node:path';
import {
  kafkaAdminCredentials,
  labDataDir,
  LabState,
  readAdminToken,
  startTestLab,
  type TestLab,
} from '@tenantlab/lab';
import { createKafkaClient, type JsonResponse, JsonLogger, requestJson, serviceAuthHeaders } from '@tenantlab/shared';
import type { Kafka } from 'kafkajs';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const LAB_CLI = resolve(REPO_ROOT, 'lab', 'dist', 'cli.js');

/**
 * The e2e lab runs beside a user's default lab: its own profile and every port moved by this much. The e2e files start
 * it with startTestLab in local mode, even where Docker could run it: the containers tier covers Docker mode.
 */
export const E2E_PROFILE = 'e2e';
export const E2E_PORT_OFFSET = 10_000;
/**
 * The containers tier's lab, beside a user's (offset 0) and the local e2e lab's. Every port it shifts stays below
 * 32768, where Linux's ephemeral range begins: at offset 20 000 Jaeger's query port was 36686, which an outgoing
 * connection can hold as its local port at any moment (an integration run found it taken, and nothing listening).
 */
export const CONTAINERS_PORT_OFFSET = 15_000;

/**
 * Starts the e2e lab (local mode, its profile and port offset; `labFile`, relative to the repository, for another
 * topology than labs/default.json); the caller stops it in its `after`.
 */
export function startE2eLab(
  options: { quiet?: boolean; prometheus?: boolean; labFile?: string } = {},
): Promise<TestLab> {
  return startTestLab({
    repoRoot: REPO_ROOT,
    mode: 'local',
    profile: E2E_PROFILE,
    portOffset: E2E_PORT_OFFSET,
    startupTimeoutMs: 240_000,
    ...options,
  });
}

export function urlOf(state: LabState, name: string): string {
  const component = state.components.find((c) => c.name === name);
  if (!component) throw new Error(`no component ${name} in the lab state`);
  return component.url;
}

export function pause(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes; the failure names `what`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await pause(250);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** The e2e lab's admin headers (its `service-token-admin`): the switch, the allocator and telemetry require them. */
export function labAdminHeaders(): { authorization: string } {
  const token = readAdminToken(labDataDir(REPO_ROOT, E2E_PROFILE));
  if (token === undefined) throw new Error(`the ${E2E_PROFILE} lab has no admin token: is it running?`);
  return serviceAuthHeaders(token);
}

/** requestJson to a service of the e2e lab, as its admin tools call it (with labAdminHeaders). */
export function labAdminRequest<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  timeoutMs = 3000,
): Promise<JsonResponse<T>> {
  return requestJson<T>(method, url, body, timeoutMs, labAdminHeaders());
}

/** A Kafka client of the e2e lab as its admin tools connect: a local lab's broker takes only its admin user. */
export function labKafka(state: LabState, clientId: string): Kafka {
  const credentials = kafkaAdminCredentials(state, readAdminToken(labDataDir(REPO_ROOT, E2E_PROFILE)));
  return createKafkaClient(clientId, [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'), credentials);
}
