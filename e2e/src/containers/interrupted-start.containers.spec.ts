import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dockerBinary, readLabState } from '@tenantlab/lab';
import { CONTAINERS_PORT_OFFSET, eventually, LAB_CLI, REPO_ROOT } from '../lab-process';

/** Its own profile, on the containers tier's ports (its files run one at a time). */
const PROFILE = 'containers-interrupt';
const PROJECT = `tenantlab-${PROFILE}`;
const LAB = { name: 'interrupt', tenants: [{ id: 'tenant-a', vms: ['vm-a1'] }] };

function projectContainers(): string[] {
  const result = spawnSync(dockerBinary(), ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`docker ps: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean);
}

/**
 * Ctrl-C while a Docker lab starts: containers outlive the runner, so an interrupted start must remove what it had
 * started (it used to exit at once, leaving them running and a state file behind).
 */
describe('an interrupted Docker start (`lab up --mode docker`, Ctrl-C before it is ready)', () => {
  const labDir = mkdtempSync(join(tmpdir(), 'interrupt-lab-'));
  after(() => {
    rmSync(labDir, { recursive: true, force: true });
    // Whatever the outcome, leave nothing of this profile behind for the next file.
    spawnSync(process.execPath, [LAB_CLI, 'down', '--profile', PROFILE], { cwd: REPO_ROOT, timeout: 120_000 });
  });

  it('removes the containers it started and leaves no state file', { timeout: 300_000 }, async () => {
    const labFile = join(labDir, 'lab.json');
    writeFileSync(labFile, JSON.stringify(LAB));
    const args = ['up', '--mode', 'docker', '--quiet', '--lab', labFile, '--profile', PROFILE];
    const child = spawn(process.execPath, [LAB_CLI, ...args, '--port-offset', String(CONTAINERS_PORT_OFFSET)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    // Interrupt once a first container is healthy (so there are containers to remove) and before the lab is ready.
    const seen = await eventually('a first container healthy', 240_000, async () => {
      if (child.exitCode !== null) return 'exited';
      return / healthy at /.test(output.join('')) ? 'healthy' : undefined;
    });
    assert.equal(seen, 'healthy', `lab up exited before a container was healthy:\n${output.join('')}`);
    assert.ok(!output.join('').includes('is ready'), `interrupted before ready:\n${output.join('')}`);
    assert.ok(projectContainers().length > 0, 'containers were started');
    child.kill('SIGINT');
    assert.equal(await exited, 130, output.join(''));
    assert.match(output.join(''), /removing the containers started/);
    assert.deepEqual(projectContainers(), [], `no container of ${PROJECT} is left:\n${output.join('')}`);
    assert.equal(readLabState(REPO_ROOT, PROFILE), undefined, 'no state file is left');
  });
});
