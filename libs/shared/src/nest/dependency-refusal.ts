/**
 * Redis replies that mean "not now" or "not you" from the store itself, not a bug in the command: a wrong password
 * (the lab's secrets changed under a running service), too many clients, a dataset still loading after a restart,
 * memory full under `noeviction`, a replica or cluster not serving. Anything else Redis answers (WRONGTYPE, a syntax
 * error) is this service's fault and stays a 500.
 */
const REDIS_REFUSALS = [
  'WRONGPASS',
  'NOAUTH',
  'NOPERM',
  'LOADING',
  'OOM',
  'BUSY',
  'MASTERDOWN',
  'READONLY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MISCONF',
  'ERR max number of clients reached',
];

/**
 * ioredis's own errors when it has no usable connection (it gave up retrying, or was closed under the call, or the
 * connection dropped under a pipeline, which it never sends again in part).
 */
const REDIS_CONNECTION_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Command aborted due to connection close',
];

/** Socket errors Node raises when the dependency's address does not answer. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** A refusal is quoted in an answer: cut, so a huge or hostile message cannot be echoed whole. */
const MAX_REASON_CHARS = 200;

/**
 * When `exception` is Redis or Kafka refusing or not answering, the reason to answer with (503, retriable): the
 * caller did nothing wrong and the same call may work once the dependency is back. Undefined for anything else.
 */
export function dependencyRefusal(exception: unknown): string | undefined {
  if (!(exception instanceof Error)) return undefined;
  const reason = exception.message.slice(0, MAX_REASON_CHARS);
  if (exception.name === 'ReplyError' && REDIS_REFUSALS.some((prefix) => exception.message.startsWith(prefix))) {
    return `Redis refused the command: ${reason}; try again once Redis is back to normal`;
  }
  if (exception.name === 'MaxRetriesPerRequestError' || REDIS_CONNECTION_MESSAGES.includes(exception.message)) {
    return `Redis did not answer: ${reason}; try again once it is reachable`;
  }
  if (exception.name.startsWith('KafkaJS')) {
    return `Kafka refused or did not answer: ${reason}; try again once it is reachable`;
  }
  const code = (exception as NodeJS.ErrnoException).code;
  if (code !== undefined && SOCKET_CODES.has(code)) {
    return `a dependency did not answer (${code}); try again once it is reachable`;
  }
  return undefined;
}
