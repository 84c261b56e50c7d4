import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin, DescribeAclResponse } from 'kafkajs';
import { aclEntry, KAFKA_GRANTS, untilBrokerEnforces } from './kafka-acls';

/** What a broker answers to DescribeAcls when its authorizer holds the first `applied` grants of KAFKA_GRANTS. */
function brokerHolding(applied: number): DescribeAclResponse {
  return {
    throttleTime: 0,
    errorCode: 0,
    resources: KAFKA_GRANTS.slice(0, applied).map((grant) => {
      const { principal, host, operation, permissionType, ...resource } = aclEntry(grant);
      return { ...resource, acls: [{ principal, host, operation, permissionType }] };
    }),
  };
}

/** The broker's side stubbed: its answers over time are the behaviour's input, not the behaviour under test. */
function brokerApplyingAfter(calls: number): { client: Pick<Admin, 'describeAcls'>; asked: () => number } {
  let asked = 0;
  return {
    client: {
      describeAcls: () => Promise.resolve(brokerHolding(++asked > calls ? KAFKA_GRANTS.length : 1)),
    },
    asked: () => asked,
  };
}

describe('waiting for the broker to enforce the lab grants', () => {
  it('returns only once the broker lists every grant (KRaft applies committed ACLs a moment later)', async () => {
    const broker = brokerApplyingAfter(3);
    await untilBrokerEnforces(broker.client, 5_000);
    assert.equal(broker.asked(), 4);
  });

  it('fails after its deadline, naming the grants the broker still lacks', async () => {
    const broker = brokerApplyingAfter(Number.POSITIVE_INFINITY);
    await assert.rejects(untilBrokerEnforces(broker.client, 120), (error: Error) => {
      assert.match(error.message, /did not apply the lab's ACLs within 120 ms/);
      assert.match(error.message, /User:telemetry/);
      return true;
    });
  });
});
