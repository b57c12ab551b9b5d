/**
 * Worker pool for the per-packet path: one piscina pool of exactly one thread per shard, so that every packet of a
 * flow (both directions, sharded by the unordered address pair) meets the same conntrack, with no locks. A thread
 * that dies fails the tasks it held (see `queueDepth`); piscina starts a new thread for the shard (with an empty
 * conntrack shard, whose flows are then picked up mid-flow).
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { freshBundle } from '../core/bundle.js';
import type { ClassifierOptions } from '../datapath/classify.js';
import type { PrepareTask, RingTask, VerdictTask, VerdictTaskResult, WorkerStats } from './verdict.worker.js';
import { planRegions, type PlannedRegions, type SlotRegions } from '../replay/slot-layout.js';

/**
 * The thread script: the worker module beside this one, .ts when running from source (tests); from dist/, when its
 * one-file bundle and the thread script's own are fresh, `verdict.thread.cjs`, which runs that bundle with V8's code
 * cache (core/bundle.ts: a thread then loads 2 files instead of ~40 modules, ~10-30 ms less of its boot, compiles
 * nothing a replay before it compiled, and starts no ES module loader), else the worker module's .js.
 */
export function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return fileURLToPath(new URL('./verdict.worker.ts', import.meta.url));
  const fresh = freshBundle(new URL('./verdict.worker.bundle.cjs', import.meta.url)) && freshBundle(new URL('./verdict.thread.cjs', import.meta.url));
  return fileURLToPath(new URL(fresh ? './verdict.thread.cjs' : './verdict.worker.js', import.meta.url));
}

export interface PoolOptions {
  workers: number;
  /** heap limit of each worker (MiB) */
  workerHeapMb?: number;
  /**
   * Tasks handed to a thread before it finishes the one it runs (piscina's `concurrentTasksPerWorker`; default 1).
   * The task function is synchronous, so queued tasks still run one at a time, in order, from the thread's message
   * port; but the thread starts the next batch as soon as it is done, instead of idling until the main thread has
   * seen the result and posted the next task (with the main thread busy reading, that bubble cost ~10 % of a replay).
   * A thread that dies fails every task it holds.
   */
  queueDepth?: number;
}

export class ShardedPool {
  private readonly pools: Piscina[];
  constructor(readonly opts: PoolOptions) {
    const filename = workerFile();
    this.pools = Array.from(
      { length: opts.workers },
      () =>
        new Piscina({
          filename,
          minThreads: 1,
          maxThreads: 1,
          concurrentTasksPerWorker: Math.max(1, opts.queueDepth ?? 1),
          stricterFIFO: true,
          idleTimeout: 60_000,
          ...(opts.workerHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.workerHeapMb } } : {}),
        }),
    );
  }

  get size(): number {
    return this.pools.length;
  }

  /**
   * Runs a task on a shard's thread. Tasks of a shard run in submission order (`stricterFIFO`: without it piscina
   * puts a task it could not hand to the busy thread at the tail of its queue, behind later ones), so a shard's
   * conntrack sees its packets in capture order while further batches wait queued in the thread's pool.
   */
  run(shard: number, task: VerdictTask): Promise<VerdictTaskResult> {
    return this.pools[shard]!.run(task) as Promise<VerdictTaskResult>;
  }

  /**
   * Runs shard `shard`'s ring (replay/ring.ts): one task that classifies the batches posted in it until STOP; it
   * rejects when the thread dies.
   */
  runRing(shard: number, task: RingTask): Promise<{ batches: number }> {
    return this.pools[shard]!.run(task) as Promise<{ batches: number }>;
  }

  /**
   * Has every thread build its conntrack tables now, ahead of the first batch (a failure here is ignored: the first
   * batch then builds them, and reports any error itself).
   */
  prepare(options: ClassifierOptions): void {
    // with one thread, its module memory gets batch regions for the main thread to read into (replay/engine.ts), laid
    // out here in a memory made here, so that the main thread can read into them before the thread has booted
    const plan = this.pools.length === 1 ? planRegions(options) : null;
    this.planned = plan;
    const arena = plan !== null ? { arena: { memory: plan.memory, top: plan.top, starts: plan.starts } } : {};
    this.prepared = this.pools.map((p) => (p.run({ prepare: options, ...arena } satisfies PrepareTask) as Promise<SlotRegions | null>).catch(() => null));
  }

  private prepared: Array<Promise<SlotRegions | null>> = [];
  private planned: PlannedRegions | null = null;

  /**
   * The batch regions this thread laid out for shard `shard` in {@link prepare} (one worker only), known at once, or
   * null. A worker that failed its `prepare` fails the batches read there (they get the default verdict), as a thread
   * that dies does. The regions are valid for that thread; a thread that replaces it has its own memory and
   * classifies batches read there like any other.
   */
  plannedRegions(shard: number): Readonly<SlotRegions> | null {
    return shard === 0 ? this.planned : null;
  }

  /**
   * The worker's answer to its `prepare`: the planned regions, in the memory it put its tables in; null when none
   * were planned, or the task failed.
   */
  regions(shard: number): Promise<SlotRegions | null> {
    return this.prepared[shard] ?? Promise.resolve(null);
  }

  /** Each worker's counters (null for a worker that has classified nothing since it started). */
  async stats(): Promise<Array<WorkerStats | null>> {
    return Promise.all(this.pools.map((p) => p.run({ stats: true }) as Promise<WorkerStats | null>));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
