import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createValidationPipe } from '@tenantlab/shared';
import type { TenantVmConfig } from '../config/tenant-vm.config';
import type { VnicService } from '../vnic/vnic.service';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import { TrafficController } from './traffic.controller';
import { TrafficService } from './traffic.service';

/** A controller over the real service, with a vNIC stand-in that takes every frame and keeps each send's batch. */
function controllerWithVnic(): { controller: TrafficController; batches: (number | undefined)[] } {
  const batches: (number | undefined)[] = [];
  const vnic = {
    send: (_frames: readonly Buffer[], options?: { batch?: number }) => {
      batches.push(options?.batch);
      return Promise.resolve();
    },
    onFrames: () => () => undefined,
  } as unknown as VnicService;
  const service = new TrafficService({ VM_ID: 'vm-a' } as TenantVmConfig, vnic);
  return { controller: new TrafficController(service), batches };
}

/** Runs a body through the same pipe as the HTTP API, as `POST /traffic/generate` receives it. */
async function body(raw: object): Promise<GenerateTrafficDto> {
  return (await createValidationPipe().transform(raw, {
    type: 'body',
    metatype: GenerateTrafficDto,
  })) as GenerateTrafficDto;
}

describe('TrafficController', () => {
  it('sends in batches of 32 and seeds the Zipf PRNG with 1 when batch and seed are left out', async () => {
    const { controller, batches } = controllerWithVnic();
    const report = await controller.generate(
      await body({ to: ['vm-b'], protocol: 'udp', count: 100, size: 64, zipf: 1 }),
    );
    assert.equal(report.sent, 100);
    assert.ok(batches.length > 0, 'the vNIC was sent to');
    assert.deepEqual(new Set(batches), new Set([32]));
    assert.equal(report.zipf?.seed, 1);

    // Given explicitly, both are used as sent.
    const given = controllerWithVnic();
    const explicit = await given.controller.generate(
      await body({ to: ['vm-b'], protocol: 'udp', count: 100, size: 64, zipf: 1, batch: 7, seed: 9 }),
    );
    assert.deepEqual(new Set(given.batches), new Set([7]));
    assert.equal(explicit.zipf?.seed, 9);
  });
});
