import { CONSUMER_GROUPS, ensureTopics, TOPICS } from '@tenantlab/shared';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
  type AclEntry,
} from 'kafkajs';

/** One grant: a Kafka user may do `operation` on a topic or a consumer group (literal names, never prefixes). */
export interface KafkaGrant {
  user: string;
  operation: 'write' | 'read';
  resource: { topic: string } | { group: string };
}

/**
 * Who may produce and consume what, and nothing more: the switch publishes traces, counters, program events and its
 * status; the allocator its status; telemetry reads status, traces and events with its own consumer group. Any
 * other user (a made-up one, a tenant's) is refused by the authorizer; `admin` is the super user (lab tools, tests).
 */
export const KAFKA_GRANTS: readonly KafkaGrant[] = [
  ...[TOPICS.componentStatus, TOPICS.packetTraces, TOPICS.switchCounters, TOPICS.programEvents].map(
    (topic): KafkaGrant => ({ user: 'switch', operation: 'write', resource: { topic } }),
  ),
  { user: 'allocator', operation: 'write', resource: { topic: TOPICS.componentStatus } },
  ...[TOPICS.componentStatus, TOPICS.packetTraces, TOPICS.programEvents].map((topic): KafkaGrant => ({
    user: 'telemetry',
    operation: 'read',
    resource: { topic },
  })),
  { user: 'telemetry', operation: 'read', resource: { group: CONSUMER_GROUPS.telemetry } },
];

function aclEntry(grant: KafkaGrant): AclEntry {
  const topic = 'topic' in grant.resource;
  return {
    resourceType: topic ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: 'topic' in grant.resource ? grant.resource.topic : grant.resource.group,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${grant.user}`,
    host: '*',
    operation: grant.operation === 'write' ? AclOperationTypes.WRITE : AclOperationTypes.READ,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/**
 * As admin, creates the lab's topics (the services may not create any) and the ACLs of KAFKA_GRANTS. Both are
 * idempotent, so a restarted broker that kept its metadata gets the same again.
 */
export async function applyKafkaAcls(port: number, admin: { username: string; password: string }): Promise<void> {
  const kafka = new Kafka({
    clientId: 'tenantlab-acls',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-512', username: admin.username, password: admin.password },
    retry: { retries: 5 },
  });
  await ensureTopics(kafka);
  const client = kafka.admin();
  await client.connect();
  try {
    await client.createAcls({ acl: KAFKA_GRANTS.map(aclEntry) });
  } finally {
    await client.disconnect();
  }
}
