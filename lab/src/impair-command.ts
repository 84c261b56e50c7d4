import { type ImpairmentSpec, parseImpairmentSpec, requestJson } from '@tenantlab/shared';
import { OPERATOR_ADMIN_TOKEN_SECRET } from './lab-identity';
import { readLabSecret } from './lab-secrets';
import { isProcessAlive, labDataDir, readLabState } from './lab-state';

/** The flags of `lab impair`, as parseArgs gives them (strings), and the spec field each sets. */
export const IMPAIR_FLAGS = {
  delay: 'delayMs',
  jitter: 'jitterMs',
  loss: 'lossRate',
  reorder: 'reorderRate',
  rate: 'rateFramesPerSecond',
  seed: 'seed',
} as const satisfies Record<string, keyof ImpairmentSpec>;

export type ImpairFlags = Partial<Record<keyof typeof IMPAIR_FLAGS, string>>;

/** The spec the flags say, checked by the same rules as the API (a flag that is not a number is named). */
export function impairmentFromFlags(flags: ImpairFlags): ImpairmentSpec {
  const spec: Record<string, number> = {};
  for (const [flag, field] of Object.entries(IMPAIR_FLAGS)) {
    const value = flags[flag as keyof ImpairFlags];
    if (value === undefined) continue;
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) throw new Error(`--${flag} must be a number, not "${value}"`);
    spec[field] = number;
  }
  return parseImpairmentSpec(spec, 'impair');
}

/**
 * `lab impair VM [--delay MS] [--jitter MS] [--loss P] [--reorder P] [--rate FPS] [--seed N]`, `--clear` or `--show`:
 * sets, removes or shows a VM's port impairment through the operator's admin API, with the lab's admin token.
 */
export async function impairCommand(
  repoRoot: string,
  profile: string,
  vm: string | undefined,
  flags: ImpairFlags,
  mode: 'set' | 'clear' | 'show',
): Promise<number> {
  if (!vm) throw new Error('lab impair needs a VM id: npm run lab -- impair vm-a2 --delay 5 --loss 0.01');
  const state = readLabState(repoRoot, profile);
  const operator = state?.components.find((c) => c.name === 'operator')?.url;
  if (!state || !operator || (!isProcessAlive(state.runnerPid) && state.mode !== 'docker')) {
    console.error(`No lab "${profile}" is running. Start one with \`npm run lab\`.`);
    return 3;
  }
  const token = readLabSecret(labDataDir(repoRoot, profile), OPERATOR_ADMIN_TOKEN_SECRET);
  if (!token) throw new Error(`the lab "${profile}" has no operator admin token in .lab/${profile}`);
  const method = mode === 'set' ? 'PUT' : mode === 'clear' ? 'DELETE' : 'GET';
  const body = mode === 'set' ? impairmentFromFlags(flags) : undefined;
  const answer = await requestJson(method, `${operator}/vms/${encodeURIComponent(vm)}/impairment`, body, 10_000, {
    authorization: `Bearer ${token}`,
  });
  console.log(JSON.stringify(answer.body, null, 2));
  return answer.status === 200 ? 0 : 1;
}
