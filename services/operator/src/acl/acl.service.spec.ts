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

  it('never lets an earlier sync write stale rules after a later one has returned', async () => {
    // A teardown's sync reads the state before a new circuit is indexed, and its read is slow; meanwhile the circuit
    // is indexed and the connect's sync runs. Overlapping, the slow one would write the stale rules last.
    let state: AclSources = { passwordHash: hash, circuitIds: [] };
    let releaseSlowRead: () => void = () => undefined;
    const slowRead = new Promise<void>((resolve) => (releaseSlowRead = resolve));
    let reads = 0;
    const writes: string[][] = [];
    const repository = {
      readSources: async (): Promise<AclSources> => {
        const snapshot = state;
        if (reads++ === 0) await slowRead;
        return snapshot;
      },
      setUser: async (_user: string, rules: readonly string[]): Promise<void> => void writes.push([...rules]),
      deleteUser: async (): Promise<void> => undefined,
    };
    const service = new AclService(repository as unknown as AclRepository);
    const teardownSync = service.syncVm('vm-a1');
    state = { passwordHash: hash, circuitIds: ['c-new'] };
    const connectSync = service.syncVm('vm-a1');
    // The slow read ends once everything else that can run has run: overlapping, the connect's sync is done by then.
    setImmediate(releaseSlowRead);
    await connectSync;
    const granted = vmAclRules('vm-a1', { passwordSha256: hash }, ['c-new']);
    assert.deepEqual(writes.at(-1), granted, 'when the connect returns, the grant is in place');
    const writesWhenConnected = writes.length;
    await teardownSync;
    assert.equal(writes.length, writesWhenConnected, 'nothing is written after the connect returned');
  });
});
