import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeLoopbackPort } from '@tenantlab/lab';
import { ServiceProcess } from './service-process';

/** The JSON log lines of `text` (a service may also print plain lines, which are left out). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A pino level as a name, whether the logger writes numbers (30) or labels ("info"). */
function levelName(line: Record<string, unknown>): string {
  const level = line['level'];
  const names: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  return typeof level === 'number' ? (names[level] ?? String(level)) : String(level);
}

/**
 * The README (Tests): the e2e suites that start services themselves keep each one's log in memory;
 * `E2E_LOGS_DIR` writes them out, one file per process, and `E2E_LOG_LEVEL=info` makes them say more.
 * A telemetry service (its Kafka a closed port) is started, probed and stopped under each setting.
 */
describe('e2e service logs: E2E_LOGS_DIR and E2E_LOG_LEVEL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-logs-'));
  const saved = { dir: process.env['E2E_LOGS_DIR'], level: process.env['E2E_LOG_LEVEL'] };
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [name, value] of [
      ['E2E_LOGS_DIR', saved.dir],
      ['E2E_LOG_LEVEL', saved.level],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  async function runOnce(name: string, env: { logsDir?: string; level?: string }): Promise<ServiceProcess> {
    if (env.logsDir === undefined) delete process.env['E2E_LOGS_DIR'];
    else process.env['E2E_LOGS_DIR'] = env.logsDir;
    if (env.level === undefined) delete process.env['E2E_LOG_LEVEL'];
    else process.env['E2E_LOG_LEVEL'] = env.level;
    const closed = `127.0.0.1:${await freeLoopbackPort()}`;
    const svc = await ServiceProcess.create(name, 'telemetry', { KAFKA_BROKERS: closed });
    try {
      await svc.start(30_000, '/health');
    } finally {
      await svc.stop();
    }
    return svc;
  }

  it('writes each process its own <dir>/<name>.log when it ends, with E2E_LOG_LEVEL=info lines', async () => {
    const svc = await runOnce('telemetry-info', { logsDir: dir, level: 'info' });
    const file = join(dir, 'telemetry-info.log');
    assert.ok(existsSync(file), `no ${file}`);
    const lines = jsonLines(readFileSync(file, 'utf8'));
    assert.ok(
      lines.some((line) => levelName(line) === 'info'),
      `no info line in ${file}:\n${readFileSync(file, 'utf8')}`,
    );
    assert.deepEqual(svc.output, [], 'what was written out is no longer held in memory');
  });

  it('keeps to warnings and worse by default, and writes no file without E2E_LOGS_DIR', async () => {
    await runOnce('telemetry-warn', { logsDir: dir });
    const text = readFileSync(join(dir, 'telemetry-warn.log'), 'utf8');
    const levels = new Set(jsonLines(text).map(levelName));
    for (const quiet of ['trace', 'debug', 'info']) assert.ok(!levels.has(quiet), `a ${quiet} line:\n${text}`);

    const inMemory = await runOnce('telemetry-memory', { level: 'info' });
    assert.ok(!existsSync(join(dir, 'telemetry-memory.log')));
    assert.ok(
      jsonLines(inMemory.output.join('')).some((line) => levelName(line) === 'info'),
      'the log stays in memory',
    );
  });
});
