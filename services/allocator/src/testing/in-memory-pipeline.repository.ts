import type { LinkedPipeline } from '../pipeline/linked-pipeline';

/**
 * Stands in for PipelineRepository in unit tests, with the same compare-and-set rule. Pipelines are stored as JSON,
 * as in Redis, so a test sees exactly what a restarted allocator would read back.
 */
export class InMemoryPipelineRepository {
  stored: string | undefined;
  readonly versions: LinkedPipeline[] = [];
  /** Runs before each commit: lets a test slip in a concurrent change. */
  beforeCommit: (() => Promise<void>) | undefined;

  current(): Promise<LinkedPipeline | undefined> {
    return Promise.resolve(this.stored === undefined ? undefined : (JSON.parse(this.stored) as LinkedPipeline));
  }

  exists(): Promise<boolean> {
    return Promise.resolve(this.stored !== undefined);
  }

  async commit(next: LinkedPipeline): Promise<boolean> {
    await this.beforeCommit?.();
    const storedVersion = this.stored === undefined ? 0 : (JSON.parse(this.stored) as LinkedPipeline).version;
    if (storedVersion !== next.version - 1) return false;
    this.stored = JSON.stringify(next);
    this.versions.push(JSON.parse(this.stored) as LinkedPipeline);
    return true;
  }
}
