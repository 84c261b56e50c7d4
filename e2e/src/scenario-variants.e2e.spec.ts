import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { E2E_PORT_OFFSET, LAB_CLI, REPO_ROOT } from './lab-process';

interface VmFigures {
  received: number;
  latencySamples: number;
  p50Us: number | null;
  p99Us: number | null;
}
interface TenantFigures {
  framesIn: number;
  programNs: number;
  cpuBudgetDrops: number;
}
interface Summary {
  ok: boolean;
  seed: number;
  variants: {
    name: string;
    ok: boolean;
    figures: { windowMs: number; vms: Record<string, VmFigures>; tenants: Record<string, TenantFigures> } | null;
  }[];
  comparisons: { name: string; value: number | null; baseline: number | null; ratio: number | null }[];
}

const VICTIMS = ['vm-v1b', 'vm-v2b', 'vm-v3b'];

/**
 * scenarios/noisy-neighbour.json, shortened (12 s per variant, two of its three variants): run through the CLI as a
 * user runs it, each variant on a lab of its own, and the results folder must hold the comparison with both
 * variants' figures, measured by the receiving VMs and the switch.
 */
describe('npm run lab -- run scenarios/noisy-neighbour.json, shortened (local mode)', () => {
  it("runs the victims alone and beside the greedy tenant with budgets off, and reports both variants' figures", async () => {
    const file = JSON.parse(readFileSync(join(REPO_ROOT, 'scenarios', 'noisy-neighbour.json'), 'utf8')) as {
      variants: { name: string }[];
      comparisons: { name: string }[];
    };
    const short = {
      ...file,
      // A budget that never binds, in both variants: this test checks the runner (variants, figures, report), not the
      // isolation figures, which take the file's 30 s a variant and a quiet machine (README).
      switch: { programCpuNsPerSecond: 1_000_000_000_000, programCpuBurstNs: 1_000_000_000_000 },
      durationMs: 12_000,
      collect: { intervalMs: 1000, drainMs: 3000, warmupMs: 3000 },
      variants: file.variants.filter((v) => v.name !== 'greedy'),
      comparisons: [
        {
          name: 'victim_p99_budget_off_vs_alone',
          figure: 'p99Us',
          vms: VICTIMS,
          variant: 'budget-off',
          against: 'alone',
        },
      ],
    };
    const work = mkdtempSync(join(tmpdir(), 'scenario-variants-'));
    const scenarioFile = join(work, 'noisy-neighbour-short.json');
    writeFileSync(scenarioFile, JSON.stringify(short));
    const dir = join(work, 'results');
    const { code, output } = await runCli([
      'run',
      scenarioFile,
      '--mode',
      'local',
      '--profile',
      'e2e-scenario-variants',
      '--port-offset',
      String(E2E_PORT_OFFSET),
      '--seed',
      '5',
      '--out',
      dir,
    ]);
    assert.equal(code, 0, output);
    assert.match(output, /==> variant 1\/2: alone/);
    assert.match(output, /==> variant 2\/2: budget-off/);
    for (const file of ['report.md', 'summary.json', 'comparison.json', 'alone/report.md', 'budget-off/report.md']) {
      assert.ok(existsSync(join(dir, file)), `${file} written; output:\n${output}`);
    }

    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.seed, 5);
    assert.deepEqual(
      summary.variants.map((v) => [v.name, v.ok]),
      [
        ['alone', true],
        ['budget-off', true],
      ],
    );
    const [alone, off] = summary.variants.map((v) => v.figures);
    assert.ok(alone && off, 'both variants measured a window');
    for (const figures of [alone, off]) {
      assert.ok(figures.windowMs > 5000, `the window: ${figures.windowMs} ms`);
      for (const vm of VICTIMS) {
        const v = figures.vms[vm];
        // 100 frames/s over the window, each timed by the receiving VM.
        assert.ok(v && v.received > 300 && v.latencySamples > 300, `${vm}: ${JSON.stringify(v)}`);
        assert.ok(v.p50Us !== null && v.p99Us !== null && v.p99Us >= v.p50Us && v.p50Us > 0, JSON.stringify(v));
      }
      for (const victim of ['victim-1', 'victim-2', 'victim-3']) {
        const t = figures.tenants[victim];
        assert.ok(t && t.framesIn > 300 && t.programNs > 0, `${victim} runs its program: ${JSON.stringify(t)}`);
      }
    }
    // The variant without the greedy tenant has no greedy tenant; the one with budgets off lets all its frames run.
    assert.equal(alone.vms['vm-gb'], undefined);
    assert.equal(alone.tenants['greedy'], undefined);
    assert.ok((off.vms['vm-gb']?.received ?? 0) > 3000, JSON.stringify(off.vms['vm-gb']));
    const greedy = off.tenants['greedy'];
    assert.ok(greedy && greedy.framesIn > 3000 && greedy.programNs > 0, JSON.stringify(greedy));
    assert.equal(greedy.cpuBudgetDrops, 0, 'a budget that never binds drops nothing');

    // The ratio is the worst victim's p99 with the greedy tenant over the same without it, as measured.
    const worst = (figures: typeof alone): number => Math.max(...VICTIMS.map((vm) => figures.vms[vm].p99Us!));
    const [ratio] = summary.comparisons;
    assert.deepEqual(
      [ratio?.name, ratio?.value, ratio?.baseline],
      ['victim_p99_budget_off_vs_alone', worst(off), worst(alone)],
    );
    assert.equal(ratio?.ratio, Math.round((worst(off) / worst(alone)) * 1000) / 1000);

    // The report shows both variants' figures side by side, and the ratio.
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(report, /^# Scenario noisy-neighbour$/m);
    for (const vm of VICTIMS) {
      const [a, o] = [alone.vms[vm], off.vms[vm]];
      assert.ok(
        report.includes(
          `| ${vm} | ${a.received} | ${a.p50Us} | ${a.p99Us} | ${o.received} | ${o.p50Us} | ${o.p99Us} |`,
        ),
        report,
      );
    }
    assert.ok(
      report.includes(
        `| victim_p99_budget_off_vs_alone | p99 one-way latency (µs), worst of the VMs | budget-off | alone | ${worst(off)} | ${worst(alone)} | ${ratio?.ratio} |`,
      ),
      report,
    );
  });
});

function runCli(args: string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [LAB_CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return new Promise((done) => child.once('close', (status) => done({ code: status ?? -1, output: output.join('') })));
}
