import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { kafkaServerProperties } from './kafka.component';
import { DEFAULT_INFRA_PORTS, offsetPorts } from './ports';

describe('kafkaServerProperties', () => {
  it('describes a single loopback KRaft node on the given ports', () => {
    const properties = kafkaServerProperties(offsetPorts(DEFAULT_INFRA_PORTS, 1000), '/data/kafka');
    const settings = new Map(
      properties
        .trimEnd()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    );
    assert.equal(settings.get('process.roles'), 'broker,controller');
    assert.equal(settings.get('listeners'), 'PLAINTEXT://127.0.0.1:10092,CONTROLLER://127.0.0.1:10093');
    assert.equal(settings.get('controller.quorum.bootstrap.servers'), '127.0.0.1:10093');
    assert.equal(settings.get('log.dirs'), '/data/kafka');
    assert.equal(settings.get('offsets.topic.replication.factor'), '1');
    assert.equal(settings.get('group.initial.rebalance.delay.ms'), '0');
  });
});
