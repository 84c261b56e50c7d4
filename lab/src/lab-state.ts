import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ComponentKind = 'infra' | 'service' | 'vm' | 'relay';

export interface ComponentEntry {
  name: string;
  kind: ComponentKind;
  /** Where it answers: an http URL, redis://…, or host:port for Kafka. */
  url: string;
  pid: number;
  /** How often the lab started it again after it exited by itself (local mode: the runner; Docker: the engine). */
  restarts?: number;
}

/** What a running lab writes about itself, so `status` and `down` from another terminal can find it. */
export interface LabState {
  profile: string;
  /** The `lab up` process: stopping it stops the whole lab. */
  runnerPid: number;
  portOffset: number;
  /** How the lab runs: local processes (pid per component) or containers (compose project `tenantlab-<profile>`). */
  mode?: 'local' | 'docker';
  startedAt: string;
  /** Set once every component answered ready. */
  readyAt?: string;
  components: ComponentEntry[];
}

export function labDataDir(repoRoot: string, profile: string): string {
  return join(repoRoot, '.lab', profile);
}

function statePath(repoRoot: string, profile: string): string {
  return join(labDataDir(repoRoot, profile), 'lab.json');
}

/** Written atomically (rename), so a reader never sees half a file. */
export function writeLabState(repoRoot: string, state: LabState): void {
  const dir = labDataDir(repoRoot, state.profile);
  mkdirSync(dir, { recursive: true });
  const path = statePath(repoRoot, state.profile);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${path}.tmp`, path);
}

export function readLabState(repoRoot: string, profile: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(repoRoot, profile), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function clearLabState(repoRoot: string, profile: string): void {
  rmSync(statePath(repoRoot, profile), { force: true });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resident memory of a process in bytes, from /proc (Linux); undefined where /proc is not there. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
