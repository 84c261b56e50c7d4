import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyUnavailableError, vmAclRules } from '@tenantlab/shared';
import { sha256Hex } from '../auth/vm-secrets';
import type { AclRepository, AclSources } from './acl.repository';
import { AclService } from './acl.service';

/** Stands in for Redis I/O only: serves the given sources in turn (the last one repeats) and records writes. */
class ScriptedAclRepository implements Pick<AclRepository, 'readSources' | 'setUser' | 'deleteUser'> {
  readonly writes: (readonly string[] | 'deleted')[] = [];

  constructor(private readonly sources: AclSources[]) {}

  async readSources(): Promise<AclSources> {
    return this.sources.length > 1 ? (this.sources.shift() as AclSources) : this.sources[0];
  }

  async setUser(_user: string, rules: readonly string[]): Promise<void> {
    this.writes.push(rules);
  }

  async deleteUser(): Promise<void> {
    this.writes.push('deleted');
  }
}

const hash = sha256Hex('secret');

describe('vmAclRules with a password hash', () => {
  it('is the rule list with the password hash in place of the clear password, circuits sorted', () => {
    const ids = ['c-2', 'c-1'];
    const clear = vmAclRules('vm-a1', { password: 'secret' }, ids);
    assert.deepEqual(
      vmAclRules('vm-a1', { passwordSha256: hash }, ids),
      clear.map((rule) => (rule === '>secret' ? `#${hash}` : rule)),
    );
    assert.deepEqual(clear.slice(-2), ['~circuit:{c-1}:*', '~circuit:{c-2}:*']);
  });
});

describe('AclService.syncVm', () => {
  it('writes the rules of the current state once when nothing changes meanwhile', async () => {
    const repository = new ScriptedAclRepository([{ passwordHash: hash, circuitIds: ['c-1'] }]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes, [vmAclRules('vm-a1', { passwordSha256: hash }, ['c-1'])]);
  });

  it('deletes the user of a VM that is not registered', async () => {
    const repository = new ScriptedAclRepository([{ circuitIds: [] }]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes, ['deleted']);
  });

  it('writes again when the state changed while it wrote, so the last write matches the latest state', async () => {
    const repository = new ScriptedAclRepository([
      { passwordHash: hash, circuitIds: ['c-1'] },
      { passwordHash: hash, circuitIds: ['c-1', 'c-2'] },
    ]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes.at(-1), vmAclRules('vm-a1', { passwordSha256: hash }, ['c-1', 'c-2']));
    assert.equal(repository.writes.length, 2);
  });

  it('gives up, retriably, when the state never settles', async () => {
    const churn = Array.from({ length: 10 }, (_, i) => ({ passwordHash: hash, circuitIds: [`c-${i}`] }));
    const repository = new ScriptedAclRepository(churn);
    await assert.rejects(
      new AclService(repository as unknown as AclRepository).syncVm('vm-a1'),
      (e: unknown) => e instanceof DependencyUnavailableError && e.retriable,
    );
  });
});
