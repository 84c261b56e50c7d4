import { describe, it } from 'node:test';
import { checkFaultsResults, runFaultsScenario } from '../scenario-faults';

/** Beside a user's lab (offset 0) and the local e2e lab (offset 10000), like the other containers tests. */
const PORT_OFFSET = 20_000;

describe('npm run lab -- run scenarios/faults.json (Docker mode)', () => {
  it('survives the switch killed, Kafka paused, Redis restarted empty and a port impaired, and accounts for every frame', async () => {
    checkFaultsResults(await runFaultsScenario('docker', PORT_OFFSET), 'docker');
  });
});
