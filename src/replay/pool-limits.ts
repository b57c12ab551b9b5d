/**
 * The worker pool's limits, in a module that imports nothing, so that a command can check its flags without loading
 * piscina (replay/pool-start.ts re-exports them).
 */

/**
 * Most worker threads a replay runs: shards are bytes (255 marks a shard not computed yet), and each worker holds its
 * own conntrack tables (~60 MB of address space, touched as they fill).
 */
export const MAX_WORKERS = 64;

/** tasks queued at each worker (ReplayOptions.inFlightPerWorker) */
export const DEFAULT_IN_FLIGHT = 4;
