import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { ensureInfraInstalled, type InfraInstallation } from './install-infra';

// A cold machine builds Jaeger from source first; the test is about the runs after that.
const INSTALL_TIMEOUT_MS = 20 * 60_000;

/**
 * The README: the lab's installs "do nothing extra when it is already there". Once Redis,
 * Kafka and Jaeger are in ~/.cache/tenantlab (the first install may have to put them there), installing again runs no
 * install step and only checks what is there.
 */
describe('installing Redis, Kafka and Jaeger when they are already installed', () => {
  let first: InfraInstallation;

  before(
    async () => {
      first = await ensureInfraInstalled((message) => console.log(`# ${message}`));
    },
    { timeout: INSTALL_TIMEOUT_MS },
  );

  it('installs nothing and returns the same installation', { timeout: 60_000 }, async () => {
    for (let run = 0; run < 2; run++) {
      const messages: string[] = [];
      const again = await ensureInfraInstalled((message) => messages.push(message));
      assert.deepEqual(again, first);
      assert.deepEqual(
        messages.filter((message) => /install/i.test(message)),
        [],
        'no install step ran',
      );
    }
  });
});
