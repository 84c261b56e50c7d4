import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chooseMode, type DockerProbes } from './lab-mode';

function probes(engine: boolean, compose: boolean, missingImages: string[] = []): DockerProbes {
  return {
    engineAnswers: () => engine,
    composeCommand: () => (compose ? ['/usr/bin/docker-compose'] : undefined),
    missingLabImages: () => Promise.resolve(missingImages),
  };
}

describe('chooseMode: which mode `lab up` runs in, and the one line saying why', () => {
  it('picks Docker only when an engine answers, Compose is installed and every image is there', async () => {
    const choice = await chooseMode('auto', probes(true, true));
    assert.equal(choice.mode, 'docker');
    assert.equal(choice.problem, undefined);
  });

  it('falls back to local processes naming what is missing, and how to get it', async () => {
    const noEngine = await chooseMode('auto', probes(false, true));
    assert.equal(noEngine.mode, 'local');
    assert.match(noEngine.reason, /no Docker engine answers .*npm run lab -- engine/);
    const noCompose = await chooseMode('auto', probes(true, false));
    assert.equal(noCompose.mode, 'local');
    assert.match(noCompose.reason, /Compose is not installed/);
    const noImages = await chooseMode('auto', probes(true, true, ['tenantlab/kafka:local']));
    assert.equal(noImages.mode, 'local');
    assert.match(noImages.reason, /images missing: tenantlab\/kafka:local .*npm run lab -- images/);
  });

  it('keeps --mode docker, with the problem that stops it, instead of silently running local processes', async () => {
    const choice = await chooseMode('docker', probes(false, true));
    assert.equal(choice.mode, 'docker');
    assert.match(choice.problem ?? '', /no Docker engine answers/);
    assert.deepEqual(await chooseMode('docker', probes(true, true)), {
      mode: 'docker',
      reason: 'asked for with --mode docker',
    });
  });

  it('runs local processes with --mode local whatever Docker offers', async () => {
    const choice = await chooseMode('local', probes(true, true));
    assert.equal(choice.mode, 'local');
    assert.match(choice.reason, /--mode local/);
  });
});
