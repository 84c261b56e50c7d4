import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { JsonLogger, parseEnv, type UtilityReportMessage } from '@tenantlab/shared';
import type { EachMessagePayload, Kafka } from 'kafkajs';
import { allocatorEnv } from '../config/allocator.config';
import type { ReallocationLoop } from './reallocation-loop';
import { UtilityReportsConsumer } from './utility-reports.consumer';

/** The allocator's config with every default as parsed (only its callers set). */
const config = parseEnv(allocatorEnv, { CALLER_TOKENS: `admin=${'b'.repeat(64)}` });

/** A Kafka client whose consumer is never started here: the test hands messages to the consumer itself. */
const kafka = {
  consumer: () => ({ on: () => undefined, events: { GROUP_JOIN: 'join', CRASH: 'crash' } }),
} as unknown as Kafka;

function message(tenant: string, window: number): EachMessagePayload {
  const report: UtilityReportMessage = {
    tenant,
    program: 'flow_table',
    window,
    windowEndMs: 1000 * window,
    windowMs: 1000,
    slots: 64,
    packets: 100,
    misses: 10,
    utility: 0.9,
    pipelineVersion: 1,
    installedAtMs: 0,
  };
  return {
    topic: 'allocator.utility-reports',
    partition: 0,
    message: { value: Buffer.from(JSON.stringify(report)), offset: String(window), headers: {} },
  } as unknown as EachMessagePayload;
}

describe('UtilityReportsConsumer: a window is decided once its reports stop coming for REALLOCATION_SETTLE_MS', () => {
  let taken: string[];
  let rejected: string[];
  let logged: { level: string; msg: string }[];
  let decisions: number;
  let consumer: { handle(payload: EachMessagePayload): Promise<void> };

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    taken = [];
    rejected = [];
    logged = [];
    decisions = 0;
    const loop = {
      take: (report: UtilityReportMessage) => void taken.push(report.tenant),
      reject: (_partition: number, offset: string, reason: string) => void rejected.push(`${offset}: ${reason}`),
      decidePending: () => Promise.resolve(void (decisions += 1)),
    } as unknown as ReallocationLoop;
    consumer = new UtilityReportsConsumer(
      kafka,
      config,
      loop,
      new JsonLogger(
        'allocator',
        'warn',
        (line) => void logged.push(JSON.parse(line) as { level: string; msg: string }),
      ),
    ) as unknown as typeof consumer;
  });

  afterEach(() => mock.timers.reset());

  it('waits 300 ms by default after the last report, each report starting the wait again', async () => {
    assert.equal(config.REALLOCATION_SETTLE_MS, 300);
    await consumer.handle(message('tenant-a', 1));
    mock.timers.tick(299);
    assert.equal(decisions, 0, 'not before 300 ms without a report');
    // A report of the same window 299 ms after the first: the window is still arriving.
    await consumer.handle(message('tenant-b', 1));
    mock.timers.tick(299);
    assert.equal(decisions, 0, 'the wait starts again at each report');
    mock.timers.tick(1);
    assert.equal(decisions, 1, 'decided 300 ms after the last report');
    assert.deepEqual(taken, ['tenant-a', 'tenant-b'], 'with both reports taken');
    mock.timers.tick(10_000);
    assert.equal(decisions, 1, 'once');
  });

  it('counts a message that is not a report, logs it at warn with its place and reason, and decides nothing', async () => {
    const garbage = message('tenant-a', 1);
    garbage.message.value = Buffer.from('{"tenant":"tenant-a"}');
    garbage.message.offset = '41';
    await consumer.handle(garbage);
    assert.equal(rejected.length, 1);
    assert.match(rejected[0] ?? '', /^41: /);
    assert.deepEqual(
      logged.map((line) => line.level),
      ['warn'],
    );
    assert.match(logged[0]?.msg ?? '', /^skipped a message on allocator\.utility-reports at partition 0 offset 41: /);
    mock.timers.tick(10_000);
    assert.deepEqual([taken, decisions], [[], 0], 'nothing taken, no window decided');
  });
});
