/**
 * Starting a replay's worker pool, in a module of its own that imports little (piscina and the pool), so that a
 * command can start the threads before it loads anything else: a worker thread takes ~120 ms to boot (Node's own
 * bootstrap, then its modules), which the main thread spends loading its modules and the manifests.
 */
import type { ClassifierOptions } from '../datapath/classify.js';
import { ShardedPool } from '../workers/pool.js';

/**
 * Most worker threads a replay runs: shards are bytes (255 marks a shard not computed yet), and each worker holds its
 * own conntrack tables (~60 MB of address space, touched as they fill).
 */
export const MAX_WORKERS = 64;

/** tasks queued at each worker (ReplayOptions.inFlightPerWorker) */
export const DEFAULT_IN_FLIGHT = 4;

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
