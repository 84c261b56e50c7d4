import { InfraStartError } from './infra.errors';

/**
 * The broker's client authentication and authorization, one definition for both lab modes: the local lab writes
 * these into server.properties, Docker mode passes them to the Kafka container as KAFKA_* variables
 * (compose-file.ts). Clients authenticate on each listener of `clientListeners` with SASL/SCRAM-SHA-512 only; the
 * controller listener takes SASL/PLAIN with the admin user alone (KRaft cannot use SCRAM there: the controller needs
 * the credential before it has read the metadata log); the StandardAuthorizer refuses everything no ACL allows;
 * `admin` is the super user, and the broker talks to itself as admin over the first client listener.
 *
 * `adminPassword` goes into JAAS strings as it is: check a real one with assertSafeKafkaPassword first (Docker mode
 * passes a placeholder instead, which its entrypoint replaces with the admin password from a secret file).
 */
export function kafkaSecuritySettings(
  adminPassword: string,
  clientListeners: readonly string[] = ['broker'],
): Record<string, string> {
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule';
  const plain = 'org.apache.kafka.common.security.plain.PlainLoginModule';
  const perListener = Object.fromEntries(
    clientListeners.flatMap((listener) => [
      [`listener.name.${listener}.sasl.enabled.mechanisms`, 'SCRAM-SHA-512'],
      [
        `listener.name.${listener}.scram-sha-512.sasl.jaas.config`,
        `${scram} required username="admin" password="${adminPassword}";`,
      ],
    ]),
  );
  return {
    ...perListener,
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': `${plain} required username="admin" password="${adminPassword}" user_admin="${adminPassword}";`,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': 'false',
    'super.users': 'User:admin',
  };
}

/** The storage tool's argument that creates a SCRAM user when storage is formatted. */
export function scramUserArgument(name: string, password: string): string {
  return `SCRAM-SHA-512=[name=${name},password=${password}]`;
}

/** Passwords go into JAAS strings and the storage tool's --add-scram argument: only characters safe in both. */
export function assertSafeKafkaPassword(password: string): void {
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(password)) {
    throw new InfraStartError('a Kafka password must be 16-256 characters of A-Z a-z 0-9 _ -');
  }
}
