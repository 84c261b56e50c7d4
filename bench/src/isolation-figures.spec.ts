import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackerRedisBytesMax, attackerTenantRedisBytesMax } from '@tenantlab/shared';
import { isolationFigures, type VictimRun } from './isolation.bench';

const victim = (fps: number, p99Us: number): VictimRun => ({
  fps,
  p50Us: p99Us / 2,
  p99Us,
  lost: 0,
  typical: { toTx: 0, switch: 0, toReader: 0 },
  tail: { toTx: 0, switch: 0, toReader: 0 },
});
const storm = { written: 1, seconds: 5, writtenPerSecond: 50_000, delivered: 0, overBound: 0, stormControl: 0 };

describe('the isolation bench report (keys and goals as the README lists them)', () => {
  it("gives the medians of the victim's runs under the storm over its runs alone, with the README's goals", () => {
    const figures = isolationFigures(
      {
        alone: [victim(2000, 100), victim(1990, 120), victim(1000, 900), victim(2010, 110)],
        storm: [victim(1800, 300), victim(1700, 220), victim(100, 5000), victim(1900, 260)],
      },
      [storm, storm],
    );
    assert.deepEqual(figures.goals, {
      victim_throughput_under_storm: { atLeast: 0.8 },
      victim_p99_under_storm: { atMost: 2.0 },
    });
    // Medians: alone 1995 f/s, p99 115 µs; storm 1750 f/s, p99 280 µs.
    assert.deepEqual(figures.ratios, {
      victim_throughput_under_storm: Math.round((1750 / 1995) * 1000) / 1000,
      victim_p99_under_storm: Math.round((280 / 115) * 1000) / 1000,
    });
    assert.equal(figures.metrics.victim_fps_under_storm, 1750);
    assert.equal(figures.baseline.victim_fps_alone, 1995);
  });

  it("reports the storm's storm-control drops and copies delivered per second of storm, medians over the runs", () => {
    const run = (stormControl: number, delivered: number, seconds: number) => ({
      ...storm,
      stormControl,
      delivered,
      seconds,
    });
    const figures = isolationFigures({ alone: [victim(1, 1)], storm: [victim(1, 1)] }, [
      run(50_000, 60_000, 5),
      run(90_000, 20_000, 10),
      run(10_000, 10_000, 1),
    ]);
    assert.equal(figures.metrics.storm_control_drops_per_s, 10_000);
    assert.equal(figures.metrics.storm_copies_delivered_per_s, 10_000);
  });

  it("reports attacker_redis_bytes_max as the bound at the operator's default quotas", () => {
    const figures = isolationFigures({ alone: [victim(1, 1)], storm: [victim(1, 1)] }, [storm]);
    assert.equal(figures.metrics.attacker_redis_bytes_max, attackerRedisBytesMax());
    assert.ok(figures.metrics.attacker_redis_bytes_max > 0);
    assert.equal(figures.metrics.attacker_tenant_redis_bytes_max, attackerTenantRedisBytesMax());
  });
});
