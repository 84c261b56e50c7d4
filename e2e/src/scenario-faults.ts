import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { E2E_PORT_OFFSET, LAB_CLI, REPO_ROOT } from './lab-process';

/** The faults scenario run through the CLI, and what its results folder must show (e2e and containers tiers). */
interface Summary {
  seed: number;
  mode: string;
  ok: boolean;
  failures: string[];
  accounting: {
    sent: number;
    received: number;
    switchDrops: number;
    lostInStore: number;
    waitingForCpu: number;
    uncounted: number;
    countedTwice: number;
    storeLedgersByVm: Record<string, number>;
  };
  dips: { event: string; baselinePerSecond: number; minimumPerSecond: number; recoveryMs: number | null }[];
  events: { label: string; atMs: number; ok: boolean; result: string }[];
}

/** Runs `npm run lab -- run` as a user does (the CLI), in the given mode, and returns its exit code, output and results. */
export async function runFaultsScenario(
  mode: 'local' | 'docker',
  portOffset = E2E_PORT_OFFSET,
): Promise<{ code: number; output: string; dir: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'scenario-faults-')), 'results');
  const child = spawn(
    process.execPath,
    [
      LAB_CLI,
      'run',
      'scenarios/faults.json',
      '--mode',
      mode,
      '--profile',
      `e2e-scenario-${mode}`,
      '--port-offset',
      String(portOffset),
      '--seed',
      '7',
      '--out',
      dir,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const code = await new Promise<number>((done) => child.once('close', (status) => done(status ?? -1)));
  return { code, output: output.join(''), dir };
}

/** What the faults scenario must show in either mode (the containers tier runs it in Docker mode). */
export function checkFaultsResults(run: { code: number; output: string; dir: string }, mode: string): void {
  const { code, output, dir } = run;
  for (const file of ['scenario.json', 'plan.json', 'timeseries.csv', 'timeseries.json', 'summary.json', 'report.md']) {
    assert.ok(existsSync(join(dir, file)), `${file} written; output:\n${output}`);
  }
  assert.ok(existsSync(join(dir, 'received-rate.svg')) && existsSync(join(dir, 'accounting.svg')));
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  const scenario = JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8')) as { seed: number };
  assert.equal(summary.seed, 7, '--seed overrides the file');
  assert.equal(scenario.seed, 7);
  assert.equal(summary.mode, mode);

  // One progress line per event, with its time and result.
  for (const label of [
    'switch killed',
    'program tenant-a',
    'Kafka paused 4 s',
    'Redis restarted empty',
    'vm-a2 port impaired 5 s',
  ]) {
    assert.match(output, new RegExp(`^\\s+\\d+\\.\\d s  ${label}\\s+(ok|FAILED)`, 'm'), `a line for ${label}`);
  }
  const byLabel = new Map(summary.events.map((e) => [e.label, e]));
  const impair = byLabel.get('vm-a2 port impaired 5 s');
  // The impairment route comes with the switch's port impairments (operator PUT /vms/:id/impairment). Where it is
  // missing, the event must fail naming the route's answer, and the run must say so and exit 1.
  const impairmentRoute = impair?.ok === true;
  if (!impairmentRoute) {
    assert.match(impair?.result ?? '', /PUT \/vms\/vm-a2\/impairment answered 404/);
    assert.equal(code, 1, 'a failed event fails the run');
    assert.match(output, /event timeline\[6\] \(vm-a2 port impaired 5 s\) failed/);
    assert.deepEqual(summary.failures.length, 1, JSON.stringify(summary.failures));
  } else {
    assert.equal(code, 0, output);
  }
  for (const label of [
    'switch killed',
    'program tenant-a',
    'cpu-weight tenant-b',
    'sampling tenant-b',
    'Kafka paused 4 s',
    'Redis restarted empty',
  ]) {
    assert.equal(byLabel.get(label)?.ok, true, `${label}: ${byLabel.get(label)?.result}`);
  }

  // Each fault that stops frames shows as a dip, and the lab comes back from it.
  const dips = new Map(summary.dips.map((d) => [d.event, d]));
  for (const label of [
    'switch killed',
    'Redis restarted empty',
    ...(impairmentRoute ? ['vm-a2 port impaired 5 s'] : []),
  ]) {
    const dip = dips.get(label);
    // 1 600 frames/s are offered; the switch-killed event comes 5 s in, while traffic is still ramping up on a busy
    // machine, so "traffic before it" asks for a third of that.
    assert.ok(dip && dip.baselinePerSecond > 500, `${label}: traffic before it: ${JSON.stringify(dip)}`);
    assert.ok(dip.minimumPerSecond < 0.8 * dip.baselinePerSecond, `${label} dips: ${JSON.stringify(dip)}`);
    assert.ok(dip.recoveryMs !== null && dip.recoveryMs > 0 && dip.recoveryMs < 30_000, `${label} recovers`);
  }
  assert.notEqual(dips.get('Kafka paused 4 s')?.recoveryMs, null, 'traffic goes on or comes back with Kafka paused');

  // Nothing accepted was lost uncounted: every frame sent is received, dropped (counted) or in the ledger.
  const a = summary.accounting;
  assert.ok(a.sent > 40_000, JSON.stringify(a));
  // Each VM's port lost its store once, when Redis restarted empty, and read that store's ledger entry. Whether the
  // store held frames at that moment is timing (the switch reads tx as soon as it is written): lostInStore may be 0.
  assert.deepEqual(
    Object.values(a.storeLedgersByVm).map((n) => n >= 1),
    [true, true, true, true],
    `every VM read the ended store's ledger: ${JSON.stringify(a.storeLedgersByVm)}`,
  );
  assert.equal(a.uncounted, 0, JSON.stringify(a));
  assert.equal(a.waitingForCpu, 0, `the drain waits for frames held for CPU: ${JSON.stringify(a)}`);

  // The report shows the same figures.
  const report = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(report, /^# Scenario faults$/m);
  assert.match(report, /seed \*\*7\*\*/);
  assert.ok(
    report.includes(`| ${a.sent} | ${a.received} | ${a.switchDrops} | ${a.lostInStore} | 0 | 0 | ${a.countedTwice} |`),
    report,
  );
  assert.match(report, /\| switch killed \| \d+\.\d \| \d+ \| \d+ \| [\d.]+ \| \d+\.\d \|/);
  const csv = readFileSync(join(dir, 'timeseries.csv'), 'utf8').trim().split('\n');
  assert.equal(
    csv[0],
    'tMs,sent,received,drops,lostInStore,duplicates,sentPerSecond,receivedPerSecond,switchUp,vmsUp,vmsRegistered',
  );
  assert.ok(csv.length > 80, `a sample every 500 ms over the run: ${csv.length} rows`);
  assert.ok(
    csv.some((row) => row.split(',')[8] === '0'),
    'the switch was seen down',
  );
  const rows = csv.slice(1).map((row) => row.split(','));
  const registered = rows.map((row) => row[10] ?? '');
  assert.ok(registered.includes('4'), 'the operator counts the 4 VMs alive');
  // After Redis restarted empty the operator has no registry until the VMs register again: a sample then finds
  // fewer than 4, or no count at all (the operator could not read one). VMs re-register within a second or so, so a
  // 500 ms sampler may see only the latter.
  const restartAt = summary.events.find((e) => e.label === 'Redis restarted empty')?.atMs;
  assert.ok(restartAt !== undefined, 'summary.json has the Redis restart event and its time');
  const afterRestart = rows.filter((row) => Number(row[0]) >= restartAt).map((row) => row[10] ?? '');
  assert.ok(
    afterRestart.some((n) => n === '' || Number(n) < 4),
    `fewer VMs registered, or none readable, for a while after Redis restarted empty: ${JSON.stringify(afterRestart.slice(0, 20))}`,
  );
  assert.ok(
    rows.some((row) => Number(row[0]) < restartAt && row[10] === '4'),
    'all 4 registered before the restart',
  );
}
