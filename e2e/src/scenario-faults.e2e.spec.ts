import { describe, it } from 'node:test';
import { checkFaultsResults, runFaultsScenario } from './scenario-faults';

describe('npm run lab -- run scenarios/faults.json (local mode)', () => {
  it('survives the switch killed, Kafka paused, Redis restarted empty and a port impaired, and accounts for every frame', async () => {
    checkFaultsResults(await runFaultsScenario('local'), 'local');
  });
});
