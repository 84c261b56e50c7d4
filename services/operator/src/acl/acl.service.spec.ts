import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CIRCUIT_KEYS,
  DependencyUnavailableError,
  PORT_KEYS,
  VM_KEYS,
  type VmCircuitGrant,
  vmAclRules,
} from '@tenantlab/shared';
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
/** Side-a grants of these circuits. */
const onA = (...ids: string[]): VmCircuitGrant[] => ids.map((id) => ({ id, side: 'a' }));

describe('vmAclRules', () => {
  it('is the rule list with the password hash in place of the clear password, circuits sorted', () => {
    const grants = onA('c-2', 'c-1');
    const clear = vmAclRules('vm-a1', { password: 'secret' }, grants);
    assert.deepEqual(
      vmAclRules('vm-a1', { passwordSha256: hash }, grants),
      clear.map((rule) => (rule === '>secret' ? `#${hash}` : rule)),
    );
    assert.deepEqual(clear, vmAclRules('vm-a1', { password: 'secret' }, onA('c-1', 'c-2')));
  });

  it('names exact keys, each with the commands of its direction, and no glob', () => {
    const rules = vmAclRules('vm-a1', { password: 'secret' }, [
      { id: 'c-1', side: 'a' },
      { id: 'c-2', side: 'b' },
    ]);
    assert.deepEqual(rules.slice(4), [
      '-@all',
      '+ping',
      '+client|setname',
      '+client|id',
      `(+xadd +xlen ~${PORT_KEYS.tx('vm-a1')} ~${CIRCUIT_KEYS.ring('c-1', 'a2b')} ~${CIRCUIT_KEYS.ring('c-2', 'b2a')})`,
      `(+xread +xtrim +xlen ~${PORT_KEYS.rx('vm-a1')} ~${VM_KEYS.inbox('vm-a1')} ~${CIRCUIT_KEYS.ring('c-1', 'b2a')} ~${CIRCUIT_KEYS.ring('c-2', 'a2b')})`,
      `(+exists +hget +hmget %R~${CIRCUIT_KEYS.control('c-1')} %R~${CIRCUIT_KEYS.control('c-2')})`,
    ]);
    assert.ok(!rules.join(' ').includes('*'));
  });

  it('gives both directions to a VM holding both sides of one circuit, and one control key', () => {
    const rules = vmAclRules('vm-a1', { password: 'secret' }, [
      { id: 'c-1', side: 'b' },
      { id: 'c-1', side: 'a' },
    ]);
    for (const direction of ['a2b', 'b2a'] as const) {
      assert.equal(rules.filter((rule) => rule.includes(`~${CIRCUIT_KEYS.ring('c-1', direction)}`)).length, 2);
    }
    assert.equal(rules.join(' ').split(`~${CIRCUIT_KEYS.control('c-1')}`).length, 2);
  });
});

describe('AclService.syncVm', () => {
  it('writes the rules of the current state once when nothing changes meanwhile', async () => {
    const repository = new ScriptedAclRepository([{ passwordHash: hash, circuits: onA('c-1') }]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes, [vmAclRules('vm-a1', { passwordSha256: hash }, onA('c-1'))]);
  });

  it('deletes the user of a VM that is not registered', async () => {
    const repository = new ScriptedAclRepository([{ circuits: [] }]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes, ['deleted']);
  });

  it('writes again when the state changed while it wrote, so the last write matches the latest state', async () => {
    const repository = new ScriptedAclRepository([
      { passwordHash: hash, circuits: onA('c-1') },
      { passwordHash: hash, circuits: onA('c-1', 'c-2') },
    ]);
    await new AclService(repository as unknown as AclRepository).syncVm('vm-a1');
    assert.deepEqual(repository.writes.at(-1), vmAclRules('vm-a1', { passwordSha256: hash }, onA('c-1', 'c-2')));
    assert.equal(repository.writes.length, 2);
  });

  it('gives up, retriably, when the state never settles', async () => {
    const churn = Array.from({ length: 10 }, (_, i) => ({ passwordHash: hash, circuits: onA(`c-${i}`) }));
    const repository = new ScriptedAclRepository(churn);
    await assert.rejects(
      new AclService(repository as unknown as AclRepository).syncVm('vm-a1'),
      (e: unknown) => e instanceof DependencyUnavailableError && e.retriable,
    );
  });

  it('never lets an earlier sync write stale rules after a later one has returned', async () => {
    // A teardown's sync reads the state before a new circuit is indexed, and its read is slow; meanwhile the circuit
    // is indexed and the connect's sync runs. Overlapping, the slow one would write the stale rules last.
    let state: AclSources = { passwordHash: hash, circuits: [] };
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
    state = { passwordHash: hash, circuits: onA('c-new') };
    const connectSync = service.syncVm('vm-a1');
    // The slow read ends once everything else that can run has run: overlapping, the connect's sync is done by then.
    setImmediate(releaseSlowRead);
    await connectSync;
    const granted = vmAclRules('vm-a1', { passwordSha256: hash }, onA('c-new'));
    assert.deepEqual(writes.at(-1), granted, 'when the connect returns, the grant is in place');
    const writesWhenConnected = writes.length;
    await teardownSync;
    assert.equal(writes.length, writesWhenConnected, 'nothing is written after the connect returned');
  });
});
