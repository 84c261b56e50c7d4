import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { metricsTokenMatches, metricsTokenSha256 } from './metrics-token';
import { runtimeRegistry } from './metrics.module';
import { samplesByKey, scrapedCounter, scrapedGauge } from './scraped-metrics';

describe('metrics token', () => {
  const token = 'a'.repeat(64);

  it('matches the token whose sha256 the service holds, and nothing else', () => {
    const hash = metricsTokenSha256(token);
    assert.equal(metricsTokenMatches(hash, token), true);
    assert.equal(metricsTokenMatches(hash, 'b'.repeat(64)), false);
    // The hash is what every process (tenant VMs too) is given: presenting it opens nothing.
    assert.equal(metricsTokenMatches(hash, hash), false);
  });

  it('refuses every token when no hash is configured', () => {
    assert.equal(metricsTokenMatches(undefined, token), false);
    assert.equal(metricsTokenMatches(undefined, ''), false);
  });
});

describe('scraped metrics', () => {
  it("read the service's own counters at each scrape, dropping label values that went away", async () => {
    const registry = new Registry();
    let totals: Record<string, { frames: number }> = { 'tenant-a': { frames: 3 }, 'tenant-b': { frames: 5 } };
    scrapedCounter({
      registry,
      name: 'test_frames_total',
      help: 'frames',
      labelNames: ['tenant'],
      read: () => samplesByKey('tenant', totals, (c) => c.frames),
    });
    scrapedGauge({ registry, name: 'test_waiting', help: 'waiting', labelNames: [], read: () => [[{}, 7]] });
    let text = await registry.metrics();
    assert.match(text, /^test_frames_total\{tenant="tenant-a"\} 3$/m);
    assert.match(text, /^test_frames_total\{tenant="tenant-b"\} 5$/m);
    assert.match(text, /^# TYPE test_frames_total counter$/m);
    assert.match(text, /^test_waiting 7$/m);
    totals = { 'tenant-a': { frames: 10 } };
    text = await registry.metrics();
    assert.match(text, /^test_frames_total\{tenant="tenant-a"\} 10$/m);
    assert.doesNotMatch(text, /tenant-b/);
  });
});

describe('runtime registry', () => {
  it("has the runtime's metrics, and no gauge named like a counter (promtool refuses those)", async () => {
    const text = await runtimeRegistry().metrics();
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    assert.match(text, /^# TYPE nodejs_active_resources gauge$/m);
    const misnamed = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter(
      ([, name, type]) => name.endsWith('_total') && type !== 'counter',
    );
    assert.deepEqual(
      misnamed.map(([, name]) => name),
      [],
    );
  });
});
