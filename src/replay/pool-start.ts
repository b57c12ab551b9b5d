/**
 * Starting a replay's worker pool, in a module of its own that imports little (piscina and the pool), so that a
 * command can start the threads before it loads anything else: a worker thread takes ~40 ms to boot (Node's own
 * bootstrap, then its modules), which the main thread spends loading its modules and the manifests. From a built
 * checkout it is in the replay's CLI bundle with piscina inlined (scripts/bundle.mjs, cli/boot.ts).
 */
import type { ClassifierOptions } from '../datapath/classify.js';
import { ShardedPool } from '../workers/pool.js';
import { DEFAULT_IN_FLIGHT } from './pool-limits.js';

export { DEFAULT_IN_FLIGHT, MAX_WORKERS } from './pool-limits.js';

/**
 * Starts the worker pool of a replay. A caller may start it early — before loading and compiling the manifests — so
 * that the threads boot on the other core meanwhile, and hand it to replay() (replay/engine.ts), which destroys it when done.
 */
export function startPool(options: { workers?: number; workerHeapMb?: number; classifier?: ClassifierOptions; inFlightPerWorker?: number }): ShardedPool {
  const workers = options.workers ?? 1;
  const pool = new ShardedPool({
    workers,
    // every batch in flight for a worker is queued at its thread (tasks still run one at a time, in order)
    queueDepth: options.inFlightPerWorker ?? DEFAULT_IN_FLIGHT,
    ...(options.workerHeapMb ? { workerHeapMb: options.workerHeapMb } : {}),
  });
  pool.prepare(options.classifier ?? {});
  return pool;
}
