import { Inject, Injectable } from '@nestjs/common';
import {
  injectTraceIntoStreamFields,
  parseLinkedPipeline,
  REDIS_CLIENT,
  REDIS_KEYS,
  REDIS_PROTO_MAX_BULK_BYTES,
  ValidationError,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { LinkedPipeline } from './linked-pipeline';

/** The switch follows the versions stream; it needs only the latest, the rest is history for people. */
export const PIPELINE_HISTORY = 100;

/**
 * Compare-and-set: writes the new pipeline and appends it to the versions stream only if the stored version is still
 * the one the new pipeline follows. Both keys share the tag `{pipeline}`, so this is one slot on Redis Cluster.
 * KEYS: current, versions. ARGV: version, pipeline JSON, stream MAXLEN, then trace context field/value pairs.
 */
const COMMIT_SCRIPT = `
local raw = redis.call('GET', KEYS[1])
local stored = 0
if raw then stored = tonumber(cjson.decode(raw)['version']) end
if stored ~= tonumber(ARGV[1]) - 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
local entry = { 'version', ARGV[1], 'pipeline', ARGV[2] }
for i = 4, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(entry))
return 1
`;

/** All Redis I/O of the linked pipeline: the current version and the stream of versions the switch follows. */
@Injectable()
export class PipelineRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** The current pipeline; undefined before the first one was linked. */
  async current(): Promise<LinkedPipeline | undefined> {
    const raw = await this.redis.get(REDIS_KEYS.pipelineCurrent);
    // Written only by commit below: trusted, not validated again.
    return raw === null ? undefined : parseLinkedPipeline(raw);
  }

  /** Whether Redis holds a current pipeline: one look without reading it (it may be up to 1 MiB). */
  async exists(): Promise<boolean> {
    return (await this.redis.exists(REDIS_KEYS.pipelineCurrent)) === 1;
  }

  /**
   * Stores `next` as the current pipeline and appends it to the versions stream, both or neither. Returns false,
   * writing nothing, when the stored version is no longer `next.version - 1` (another change got there first).
   */
  async commit(next: LinkedPipeline): Promise<boolean> {
    const json = JSON.stringify(next);
    // Redis closes the connection on an argument over proto-max-bulk-len (redis-limits.ts): refuse it here instead.
    const bytes = Buffer.byteLength(json);
    if (bytes > REDIS_PROTO_MAX_BULK_BYTES) {
      throw new ValidationError(
        `the linked pipeline would be ${bytes} bytes, over the ${REDIS_PROTO_MAX_BULK_BYTES}-byte limit of one Redis argument; make programs smaller or remove some`,
        [`pipeline: ${bytes} > ${REDIS_PROTO_MAX_BULK_BYTES} bytes`],
      );
    }
    const trace = Object.entries(injectTraceIntoStreamFields()).flat();
    const written = await this.redis.eval(
      COMMIT_SCRIPT,
      2,
      REDIS_KEYS.pipelineCurrent,
      REDIS_KEYS.pipelineVersions,
      next.version,
      json,
      PIPELINE_HISTORY,
      ...trace,
    );
    return written === 1;
  }
}
