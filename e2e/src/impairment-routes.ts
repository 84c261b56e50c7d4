import assert from 'node:assert/strict';
import { labDataDir, type LabState, OPERATOR_ADMIN_TOKEN_SECRET, readLabSecret } from '@tenantlab/lab';
import { type ImpairmentCleared, type ImpairmentView, requestJson } from '@tenantlab/shared';
import { E2E_PROFILE, labAdminRequest, REPO_ROOT, urlOf } from './lab-process';

/** What the lab CLI printed and how it exited. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/**
 * The README's promises on port impairments' routes and CLI (docs/readme-behaviours.md, "Port impairments"), on a
 * running e2e lab: `lab impair` sets, `--show` shows and `--clear` removes a VM's impairment through the operator; the
 * operator's admin routes and the switch's routes answer 400 naming the field of a bad spec, 404 for a VM the registry
 * does not know (operator) or that has no port (switch), and `DELETE` 200 when there was none. Leaves `vm` unimpaired.
 */
export async function checkImpairmentRoutesAndCli(
  state: LabState,
  vm: string,
  runLab: (args: string[]) => Promise<CliRun>,
): Promise<void> {
  const operator = urlOf(state, 'operator');
  const sw = urlOf(state, 'switch');
  const adminToken = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), OPERATOR_ADMIN_TOKEN_SECRET);
  assert.ok(adminToken, 'the lab has an operator admin token');
  const asAdmin = <T>(method: 'GET' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    requestJson<T & ErrorBody>(method, url, body, 5000, { authorization: `Bearer ${adminToken}` });
  const cli = async (...args: string[]): Promise<unknown> => {
    const result = await runLab(['impair', vm, ...args, '--profile', E2E_PROFILE]);
    assert.equal(result.status, 0, `lab impair ${args.join(' ')}: ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as unknown;
  };

  // The CLI: set, show (the switch's view through the operator), clear, clear again (200 when there was none).
  const set = (await cli('--delay', '5', '--loss', '0.01', '--seed', '7')) as ImpairmentView;
  assert.equal(set.vm, vm);
  assert.deepEqual(
    set.impairment && [set.impairment.delayMs, set.impairment.lossRate, set.impairment.seed],
    [5, 0.01, 7],
  );
  const onSwitch = await labAdminRequest<ImpairmentView>('GET', `${sw}/ports/${vm}/impairment`);
  assert.equal(onSwitch.status, 200);
  assert.equal(onSwitch.body.impairment?.delayMs, 5, 'the switch holds what the CLI set');
  const shown = (await cli('--show')) as ImpairmentView;
  assert.deepEqual(shown.impairment, set.impairment);
  const cleared = (await cli('--clear')) as ImpairmentCleared;
  assert.equal(cleared.vm, vm);
  assert.equal(typeof cleared.flushed, 'number');
  assert.deepEqual(await cli('--clear'), { vm, flushed: 0 }, 'clearing again: 200, nothing flushed');
  assert.equal(((await cli('--show')) as ImpairmentView).impairment, null);

  // 400 over HTTP naming the field and its rule, at the operator and at the switch; nothing set by it.
  for (const [where, answer] of [
    ['operator', await asAdmin('PUT', `${operator}/vms/${vm}/impairment`, { lossRate: 2 })],
    ['switch', await labAdminRequest<ErrorBody>('PUT', `${sw}/ports/${vm}/impairment`, { lossRate: 2 })],
  ] as const) {
    assert.equal(answer.status, 400, `${where}: ${JSON.stringify(answer.body)}`);
    assert.match(answer.body.error?.message ?? '', /lossRate.*from 0 to 1/, where);
  }
  assert.equal((await asAdmin<ImpairmentView>('GET', `${operator}/vms/${vm}/impairment`)).body.impairment, null);

  // 404: a VM the operator's registry does not know; a VM with no port on the switch.
  const nobody = 'vm-nobody';
  for (const method of ['PUT', 'GET', 'DELETE'] as const) {
    const body = method === 'PUT' ? { delayMs: 1 } : undefined;
    const viaOperator = await asAdmin(method, `${operator}/vms/${nobody}/impairment`, body);
    assert.equal(viaOperator.status, 404, `operator ${method}: ${JSON.stringify(viaOperator.body)}`);
    const atSwitch = await labAdminRequest<ErrorBody>(method, `${sw}/ports/${nobody}/impairment`, body);
    assert.equal(atSwitch.status, 404, `switch ${method}: ${JSON.stringify(atSwitch.body)}`);
    assert.match(atSwitch.body.error?.message ?? '', /has no port on the switch/);
  }

  // DELETE 200 when there was none, over HTTP at both.
  const none = await asAdmin<ImpairmentCleared>('DELETE', `${operator}/vms/${vm}/impairment`);
  assert.deepEqual([none.status, none.body], [200, { vm, flushed: 0 }]);
  const noneAtSwitch = await labAdminRequest<ImpairmentCleared>('DELETE', `${sw}/ports/${vm}/impairment`);
  assert.deepEqual([noneAtSwitch.status, noneAtSwitch.body], [200, { vm, flushed: 0 }]);
}
