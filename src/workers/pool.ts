/**
 * Worker pool for the per-packet path: one piscina pool of exactly one thread per shard, so that every packet of a
 * flow (both directions, sharded by the unordered address pair) meets the same conntrack, with no locks. A thread
 * that dies fails the task it held; piscina starts a new thread for the shard (with an empty conntrack shard, whose
 * flows are then picked up mid-flow).
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { VerdictTask, VerdictTaskResult, WorkerStats } from './verdict.worker.js';

/** The worker module beside this one: .ts when running from source (tests), .js from dist/. */
function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(self.endsWith('.ts') ? './verdict.worker.ts' : './verdict.worker.js', import.meta.url));
}

export interface PoolOptions {
  workers: number;
  /** heap limit of each worker (MiB) */
  workerHeapMb?: number;
}

export class ShardedPool {
  private readonly pools: Piscina[];
  /** per shard: the last task submitted; the next one starts only after it (conntrack needs batches in order) */
  private readonly tails: Array<Promise<unknown>>;
  constructor(readonly opts: PoolOptions) {
    const filename = workerFile();
    this.pools = Array.from(
      { length: opts.workers },
      () =>
        new Piscina({
          filename,
          minThreads: 1,
          maxThreads: 1,
          concurrentTasksPerWorker: 1,
          idleTimeout: 60_000,
          ...(opts.workerHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.workerHeapMb } } : {}),
        }),
    );
    this.tails = this.pools.map(() => Promise.resolve());
  }

  get size(): number {
    return this.pools.length;
  }

  /**
   * Runs a task on a shard's thread, strictly after the shard's previous task: piscina does not promise to run a
   * pool's queued tasks in submission order, and a shard's conntrack must see its packets in capture order.
   */
  run(shard: number, task: VerdictTask): Promise<VerdictTaskResult> {
    const pool = this.pools[shard]!;
    const p = this.tails[shard]!.then(
      () => pool.run(task) as Promise<VerdictTaskResult>,
      () => pool.run(task) as Promise<VerdictTaskResult>,
    );
    this.tails[shard] = p.catch(() => undefined);
    return p;
  }

  /** Each worker's counters (null for a worker that has classified nothing since it started). */
  async stats(): Promise<Array<WorkerStats | null>> {
    return Promise.all(this.pools.map((p) => p.run({ stats: true }) as Promise<WorkerStats | null>));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
