import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type AclEntry,
  type Admin,
  type Kafka,
  ResourcePatternTypes,
} from 'kafkajs';
import { ensureTopics } from './ensure-topics';
import { CONSUMER_GROUPS, TOPICS } from './topics';

/** One grant: a Kafka user may do `operation` on a topic or a consumer group (literal names, never prefixes). */
export interface KafkaGrant {
  user: string;
  operation: 'write' | 'read';
  resource: { topic: string } | { group: string };
}

/**
 * Who may produce and consume what, and nothing more: the switch publishes traces, counters, program events, utility
 * reports and its status; the allocator its status and reallocation decisions, and reads utility reports; telemetry reads status, traces and events with its own consumer group. Any
 * other user (a made-up one, a tenant's) is refused by the authorizer; `admin` is the super user (lab tools, tests).
 * The same grants in both lab modes: the local lab runner applies them, in Docker mode the `kafka-setup` container.
 */
export const KAFKA_GRANTS: readonly KafkaGrant[] = [
  ...[
    TOPICS.componentStatus,
    TOPICS.packetTraces,
    TOPICS.switchCounters,
    TOPICS.programEvents,
    TOPICS.utilityReports,
  ].map((topic): KafkaGrant => ({ user: 'switch', operation: 'write', resource: { topic } })),
  { user: 'allocator', operation: 'write', resource: { topic: TOPICS.componentStatus } },
  // Seed 004's loop: the allocator reads the switch's utility reports in its own group and publishes its decisions.
  { user: 'allocator', operation: 'read', resource: { topic: TOPICS.utilityReports } },
  { user: 'allocator', operation: 'read', resource: { group: CONSUMER_GROUPS.allocator } },
  { user: 'allocator', operation: 'write', resource: { topic: TOPICS.reallocationDecisions } },
  ...[TOPICS.componentStatus, TOPICS.packetTraces, TOPICS.programEvents].map((topic): KafkaGrant => ({
    user: 'telemetry',
    operation: 'read',
    resource: { topic },
  })),
  { user: 'telemetry', operation: 'read', resource: { group: CONSUMER_GROUPS.telemetry } },
];

/** The Kafka users of a lab besides `admin`, the super user: each service that uses Kafka, as itself. */
export const KAFKA_SERVICE_USERS = ['switch', 'allocator', 'telemetry'] as const;

export function aclEntry(grant: KafkaGrant): AclEntry {
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

/** How long a broker may take to apply ACLs the controller committed before the lab says it failed. */
const GRANTS_APPLIED_TIMEOUT_MS = 30_000;
const GRANTS_POLL_MS = 50;

function grantKey(entry: AclEntry): string {
  return [entry.resourceType, entry.resourceName, entry.principal, entry.operation, entry.permissionType].join('|');
}

/** The grants of KAFKA_GRANTS that the broker answering `describeAcls` does not enforce yet. */
async function grantsNotYetApplied(client: Pick<Admin, 'describeAcls'>): Promise<string[]> {
  const described = await client.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const present = new Set(
    described.resources.flatMap((resource) => resource.acls.map((acl) => grantKey({ ...resource, ...acl }))),
  );
  return KAFKA_GRANTS.map(aclEntry)
    .map(grantKey)
    .filter((key) => !present.has(key));
}

/**
 * In KRaft, CreateAcls returns once the controller committed the ACLs; each broker's authorizer applies them when it
 * replays the metadata log, a moment later. A service that starts in that moment is refused for good (kafkajs does
 * not retry TOPIC_AUTHORIZATION_FAILED), so the lab is not ready until the broker lists every grant itself.
 */
export async function untilBrokerEnforces(
  client: Pick<Admin, 'describeAcls'>,
  timeoutMs = GRANTS_APPLIED_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await grantsNotYetApplied(client);
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka's broker did not apply the lab's ACLs within ${timeoutMs} ms (missing: ${missing.join(', ')})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, GRANTS_POLL_MS));
  }
}

/**
 * With `kafka` a client of the admin (super) user: creates the lab's topics (the services may not create any) and
 * the ACLs of KAFKA_GRANTS. Both are idempotent, so a restarted broker that kept its metadata gets the same again.
 */
export async function applyKafkaGrants(kafka: Kafka): Promise<void> {
  await ensureTopics(kafka);
  const client = kafka.admin();
  await client.connect();
  try {
    await client.createAcls({ acl: KAFKA_GRANTS.map(aclEntry) });
    await untilBrokerEnforces(client);
  } finally {
    await client.disconnect();
  }
}
