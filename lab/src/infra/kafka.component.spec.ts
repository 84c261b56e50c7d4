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

  it('with users, takes only SASL clients (SCRAM on the broker listener) and refuses what no ACL allows', () => {
    const adminPassword = 'a'.repeat(48);
    const properties = kafkaServerProperties(offsetPorts(DEFAULT_INFRA_PORTS, 1000), '/data/kafka', {
      admin: adminPassword,
      switch: 'b'.repeat(48),
    });
    const settings = new Map(
      properties
        .trimEnd()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
    );
    assert.equal(settings.get('listeners'), 'BROKER://127.0.0.1:10092,CONTROLLER://127.0.0.1:10093');
    assert.equal(settings.get('listener.security.protocol.map'), 'BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT');
    assert.equal(settings.get('listener.name.broker.sasl.enabled.mechanisms'), 'SCRAM-SHA-512');
    assert.equal(settings.get('authorizer.class.name'), 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    assert.equal(settings.get('allow.everyone.if.no.acl.found'), 'false');
    assert.equal(settings.get('super.users'), 'User:admin');
    // Only the admin's password is in the file (for the broker's own connections); no other user's.
    assert.ok(properties.includes(adminPassword));
    assert.ok(!properties.includes('b'.repeat(48)));
    assert.ok(![...settings.keys()].some((key) => key.includes('PLAINTEXT://')));
  });
});
