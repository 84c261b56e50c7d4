import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort, serviceCredentialEnv, TEST_SERVICE_TOKENS, testAdminHeaders } from '@tenantlab/lab';
import { type JsonResponse, requestJson } from '@tenantlab/shared';
import { eventually, REPO_ROOT } from './lab-process';

/**
 * One service process (operator or tenant VM) started from its compiled dist/, as the lab starts it. Its output is
 * kept in memory; to read it after a run, set E2E_LOGS_DIR (each process appends to <dir>/<name>.log when it ends)
 * and, for more than warnings, E2E_LOG_LEVEL=info or debug.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly service: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async create(name: string, service: string, env: Record<string, string>): Promise<ServiceProcess> {
    return new ServiceProcess(name, service, await freeLoopbackPort(), env);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Starts the process and waits until `GET /ready` answers 200 (or `/health`, for a service whose readiness needs
   * something a test leaves out on purpose, such as Kafka).
   */
  async start(timeoutMs = 30_000, probe: '/ready' | '/health' = '/ready'): Promise<this> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'services', this.service, 'dist', 'main.js')], {
      cwd: join(REPO_ROOT, 'services', this.service),
      env: {
        PATH: process.env['PATH'] ?? '',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn',
        // These suites need no traces; the exporter would only complain that no Jaeger listens.
        OTEL_SDK_DISABLED: 'true',
        // The operator's own token, a guarded service's accepted callers: tests call those with adminHeaders().
        ...serviceCredentialEnv(this.service, TEST_SERVICE_TOKENS),
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.keepLog();
        resolve();
      }),
    );
    await eventually(`${this.name} ready`, timeoutMs, async () => {
      if (child.exitCode !== null) throw new Error(`${this.name} exited: ${this.output.join('')}`);
      const { status } = await requestJson('GET', `${this.url}${probe}`, undefined, 1000);
      return status === 200 ? true : undefined;
    });
    return this;
  }

  /** SIGKILL: a crash, with no chance to deregister or close anything. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  private keepLog(): void {
    const dir = process.env['E2E_LOGS_DIR'];
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${this.name}.log`), this.output.splice(0).join(''));
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** requestJson as the admin tools call a service a test started (with the test admin token). */
export function adminRequest<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  timeoutMs = 3000,
): Promise<JsonResponse<T>> {
  return requestJson<T>(method, url, body, timeoutMs, testAdminHeaders());
}
