import { describe, it } from 'node:test';
import { CONTAINERS_PORT_OFFSET } from '../lab-process';
import { checkFaultsResults, runFaultsScenario } from '../scenario-faults';

describe('npm run lab -- run scenarios/faults.json (Docker mode)', () => {
  it('survives the switch killed, Kafka paused, Redis restarted empty and a port impaired, and accounts for every frame', async () => {
    checkFaultsResults(await runFaultsScenario('docker', CONTAINERS_PORT_OFFSET), 'docker');
  });
});
