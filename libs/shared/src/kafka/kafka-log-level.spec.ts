import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevel } from 'kafkajs';
import { KafkaStartupLogLevel, kafkaLogLevel } from './kafka-client.factory';

describe("kafkajs's log lines in a service's log", () => {
  it('are debug when kafkajs retries or restarts by itself: failed responses, retries, a consumer crash and restart', () => {
    const log = (fields: Record<string, unknown>) => ({ timestamp: '', logger: 'kafkajs', message: 'm', ...fields });
    assert.equal(
      kafkaLogLevel('Connection', logLevel.ERROR, log({ error: 'The group coordinator is not available' })),
      'debug',
    );
    assert.equal(kafkaLogLevel('Producer', logLevel.ERROR, log({ retryCount: 0, retryTime: 240 })), 'debug');
    assert.equal(
      kafkaLogLevel('Consumer', logLevel.ERROR, log({ retryCount: undefined, groupId: 'telemetry' })),
      'debug',
    );
    assert.equal(kafkaLogLevel('Admin', logLevel.WARN, log({ retryCount: 1 })), 'debug');
  });

  it('keep their level otherwise', () => {
    const log = { timestamp: '', logger: 'kafkajs', message: 'm' };
    assert.equal(kafkaLogLevel('Consumer', logLevel.ERROR, { ...log, groupId: 'g' }), 'error');
    assert.equal(kafkaLogLevel('ConsumerGroup', logLevel.WARN, log), 'warn');
    assert.equal(kafkaLogLevel('Connection', logLevel.INFO, log), 'info');
  });

  it("a client's own 'Kafka not reached' lines are debug until Kafka answers once, within the grace; warn after", () => {
    const starting = new KafkaStartupLogLevel(60_000);
    assert.equal(starting.level(), 'debug');
    starting.markReached();
    assert.equal(starting.level(), 'warn');
    assert.equal(new KafkaStartupLogLevel(0).level(), 'warn', 'a Kafka never reached is news once the grace is over');
  });
});
