import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  installSchemathesis,
  labDataDir,
  OPERATOR_ADMIN_TOKEN_SECRET,
  readLabSecret,
  startTestLab,
  tenantSecretName,
  type TestLab,
} from '@tenantlab/lab';
import { requestJson, TENANT_SECRET_HEADER, withoutCredentials } from '@tenantlab/shared';
import { E2E_PORT_OFFSET, E2E_PROFILE, labAdminHeaders, REPO_ROOT, urlOf } from './lab-process';

/** Test cases Schemathesis generates per operation and phase: enough to find a 5xx, bounded so CI stays short. */
const MAX_EXAMPLES = 25;
/** One service's run may take this long; past it the test fails rather than hanging CI. */
const RUN_TIMEOUT_MS = 240_000;
/** The checks asked for: no 5xx, and every answer documented (status, content type, body schema). */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
].join(',');

/**
 * The tenant VM's routes that start a workload: a valid request sends up to a GiB or runs up to two minutes (a replay
 * request up to 60 s, past Schemathesis' 10 s request timeout).
 */
const WORKLOAD_ROUTES = '^/(traffic/generate|traffic/replay|workloads/send|workloads/ping)$';

interface ContractRun {
  exitCode: number | null;
  output: string;
  /** Requests sent and answers with a 5xx status, from the ndjson report. */
  requests: number;
  serverErrors: number;
}

/**
 * Runs `schemathesis run` against a service's /openapi.json with the given Authorization header. Its working
 * directory and reports are a temporary directory: nothing is written into the repository.
 */
async function runSchemathesis(
  command: string,
  url: string,
  authorization: string | undefined,
  only: readonly string[],
): Promise<ContractRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantlab-schemathesis-'));
  try {
    const args = [
      'run',
      `${url}/openapi.json`,
      '--checks',
      CHECKS,
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      '13',
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--report',
      'ndjson',
      '--report-ndjson-path',
      join(dir, 'events.ndjson'),
      '--no-color',
      ...(authorization ? ['-H', `Authorization: ${authorization}`] : []),
      ...only,
    ];
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    const { requests, serverErrors } = countResponses(join(dir, 'events.ndjson'));
    // The token is a secret: never print it with the output.
    const shown = authorization ? output.split(authorization.replace(/^Bearer /, '')).join('***') : output;
    return { exitCode, output: shown, requests, serverErrors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every response status the ndjson report records (interactions of each scenario). */
function countResponses(file: string): { requests: number; serverErrors: number } {
  let requests = 0;
  let serverErrors = 0;
  const text = (() => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  })();
  // Statuses appear as "status_code": N in each recorded response; count them without depending on the layout.
  for (const match of text.matchAll(/"status_code":\s*(\d{3})/g)) {
    requests += 1;
    if (Number(match[1]) >= 500) serverErrors += 1;
  }
  return { requests, serverErrors };
}

describe('the OpenAPI contract of every service, checked by Schemathesis against a running lab', () => {
  let lab: TestLab;
  let schemathesis: string;
  let vmToken: string;
  const totals = { requests: 0, serverErrors: 0 };

  before(async () => {
    schemathesis = await installSchemathesis((message) => console.log(`# ${message}`));
    lab = await startTestLab({
      repoRoot: REPO_ROOT,
      mode: 'local',
      profile: E2E_PROFILE,
      portOffset: E2E_PORT_OFFSET,
      startupTimeoutMs: 240_000,
    });
    // A VM of the test's own, for the operator's VM routes: its token is shown only in this registration's answer.
    const secret = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), tenantSecretName('tenant-a'));
    assert.ok(secret, 'the e2e lab has an enrollment secret for tenant-a');
    const registered = await requestJson<{ credentials: { token: string } }>(
      'POST',
      `${urlOf(lab.state, 'operator')}/vms`,
      { id: 'vm-contract', tenant: 'tenant-a', url: 'http://127.0.0.1:1' },
      5000,
      { [TENANT_SECRET_HEADER]: secret },
    );
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    vmToken = registered.body.credentials.token;
  });

  after(async () => {
    console.log(`# contract: ${totals.requests} requests generated, ${totals.serverErrors} answered with a 5xx`);
    await lab?.stop();
  });

  // lab.e2e.spec.ts checks a pcap download's own content type, after it has sent traffic.
  it('telemetry answers a refused pcap download as the JSON error it is, not labelled as a pcap', async () => {
    const telemetry = urlOf(lab.state, 'telemetry');
    for (const [tenant, status] of [
      ['tenant-nobody', 404],
      ['Not_A_Tenant', 400],
    ] as const) {
      const refused = await fetch(`${telemetry}/traces/${tenant}/pcap`, { headers: labAdminHeaders() });
      assert.equal(refused.status, status);
      assert.match(refused.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(((await refused.json()) as { error: { code: string } }).error.code);
    }
  });

  /** A VM's control token, as its control URL carries it (the password of its user info). */
  const vmControl = (vm: string): string => `Bearer ${new URL(urlOf(lab.state, vm)).password}`;
  const operatorAdmin = (): string =>
    `Bearer ${readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), OPERATOR_ADMIN_TOKEN_SECRET) ?? ''}`;
  /** The operator's admin routes (tenants, VMs' impairments), run again with its admin token; the rest take a VM's. */
  const adminRoutes = ['--include-path-regex', '^/(tenants(/\\{id\\})?|vms/\\{id\\}/impairment)$'];
  const services: { name: string; auth: () => string | undefined; only?: readonly string[]; label?: string }[] = [
    { name: 'operator', auth: () => `Bearer ${vmToken}` },
    { name: 'operator', auth: operatorAdmin, only: adminRoutes, label: 'operator (admin routes)' },
    { name: 'vm-a1', auth: () => vmControl('vm-a1'), only: ['--exclude-path-regex', WORKLOAD_ROUTES] },
    // A valid workload request may rightly run for minutes (a million frames), so these get invalid input only.
    {
      name: 'vm-a1',
      auth: () => vmControl('vm-a1'),
      only: ['--include-path-regex', WORKLOAD_ROUTES, '--mode', 'negative'],
      label: 'vm-a1 (workloads, invalid input)',
    },
    { name: 'switch', auth: () => labAdminHeaders().authorization },
    { name: 'allocator', auth: () => labAdminHeaders().authorization },
    { name: 'telemetry', auth: () => labAdminHeaders().authorization },
  ];

  for (const { name, auth, only = [], label = name } of services) {
    if (label === name) {
      it(`${name}: serves /openapi.json and an offline /docs page to any caller`, async () => {
        // Without a VM's control token (fetch takes no user info): the document is for any caller.
        const url = withoutCredentials(urlOf(lab.state, name));
        const document = await fetch(`${url}/openapi.json`);
        assert.equal(document.status, 200);
        const body = (await document.json()) as { openapi: string; paths: Record<string, unknown> };
        assert.match(body.openapi, /^3\./);
        assert.ok(Object.keys(body.paths).length > 2, 'the document lists the routes');
        const page = await fetch(`${url}/docs`);
        assert.equal(page.status, 200);
        const html = await page.text();
        assert.match(html, /swagger-ui/);
        // The page's script is served by the service itself (no CDN), so the page works offline.
        const script = /src="([^"]*swagger-ui-bundle\.js)"/.exec(html)?.[1];
        assert.ok(script && !script.startsWith('http'), `the page loads swagger-ui from the service: ${script}`);
        const asset = await fetch(new URL(script, `${url}/docs`));
        assert.equal(asset.status, 200);
      });
    }

    it(`${label}: answers every request Schemathesis generates without a 5xx, each as documented`, async () => {
      const run = await runSchemathesis(schemathesis, withoutCredentials(urlOf(lab.state, name)), auth(), only);
      totals.requests += run.requests;
      totals.serverErrors += run.serverErrors;
      console.log(`# ${label}: ${run.requests} requests, ${run.serverErrors} with a 5xx`);
      assert.ok(run.requests > 0, `Schemathesis sent no request:\n${run.output}`);
      assert.equal(run.exitCode, 0, `Schemathesis found failures against ${label}:\n${run.output}`);
      assert.equal(run.serverErrors, 0, `${label} answered with a 5xx:\n${run.output}`);
    });
  }
});
