/**
 * Worker entry (piscina): one task = one batch of records of this worker's shard → a VerdictBatch.
 * Tiny and pure: it imports only core/, packet/ and datapath/. The classifier (and its conntrack shard) lives as
 * long as the thread; a new snapshot revision is swapped in between batches.
 */
import { Classifier, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { attachSnapshot, type SnapshotHandle } from './transfer.js';
import { Conntrack } from '../datapath/conntrack.js';

export interface VerdictTask {
  snapshot: SnapshotHandle;
  options: ClassifierOptions;
  /** the batch's shared chunk and record arrays (SharedArrayBuffer-backed) */
  buf: Uint8Array;
  offsets: Uint32Array;
  capLens: Uint32Array;
  wireLens: Uint32Array;
  linkTypes: Uint16Array;
  tsSec: Float64Array;
  tsNsec: Uint32Array;
  /** records in the batch */
  count: number;
  /** records the verdict buffer is laid out for (VerdictBatch columns), ≥ count */
  capacity: number;
  /**
   * this worker's shard and the number of shards (default 0 of 1: every record of the task is the worker's, which is
   * what the replay engine sends, having gathered each worker's records itself): the worker classifies the records
   * whose shard is its own
   */
  shard?: number;
  workers?: number;
  /**
   * with several shards: each record's shard (workers/shard.ts shardBatch); when absent, the worker computes the
   * shards itself (Classifier.classifyRecords)
   */
  shards?: Uint8Array;
  /**
   * the verdicts (VerdictBatch layout over a SharedArrayBuffer of `capacity` records): the worker writes record i's at
   * `outStart` + i (default 0)
   */
  out: SharedArrayBuffer;
  outStart?: number;
  /** test hook: the worker exits while holding this task */
  crash?: boolean;
}

export interface VerdictTaskResult {
  /** records classified */
  count: number;
}

/** What a worker has counted since it started (asked for once, at the end of a run). */
export interface WorkerStats {
  counters: Classifier['counters'];
  /** per policy-map entry of `revision` */
  entryPackets: Float64Array;
  entryBytes: Float64Array;
  dropsByReason: Float64Array;
  revision: number;
  conntrack: ReturnType<Classifier['ct']['stats']>;
  verdictCache: ReturnType<Classifier['vc']['stats']>;
  /**
   * the WebAssembly fast path (datapath/wasm-core.ts): packets it classified, of which drops and new connections
   * given by its decision memo (those consulted no verdict cache)
   */
  fastPath: { packets: number; dropMemoHits: number; createMemoHits: number; decided: number };
  fragments: ReturnType<Classifier['frags']['stats']>;
}

let classifier: Classifier | undefined;
let snapshot: Snapshot | undefined;
/** conntrack tables built by a `prepare` task before the first batch, and the options they were built with */
let prepared: { options: string; ct: Conntrack } | undefined;

/** A task that builds the conntrack tables (tens of MB) while the main thread is still loading the manifests. */
export interface PrepareTask {
  prepare: ClassifierOptions;
}

export default function classifyTask(task: VerdictTask | PrepareTask | { stats: true }): VerdictTaskResult | WorkerStats | null {
  if ('stats' in task) return stats();
  if ('prepare' in task) {
    if (!classifier) prepared = { options: JSON.stringify(task.prepare.conntrack ?? {}), ct: new Conntrack(task.prepare.conntrack ?? {}) };
    return null;
  }
  if (task.crash) process.exit(70);
  if (!snapshot || snapshot.revision !== task.snapshot.revision) {
    snapshot = attachSnapshot(task.snapshot);
    if (classifier) classifier.setSnapshot(snapshot);
  }
  if (!classifier) {
    const ct = prepared && prepared.options === JSON.stringify(task.options.conntrack ?? {}) ? prepared.ct : undefined;
    prepared = undefined;
    classifier = new Classifier(snapshot, task.options, ct);
  }
  const c = classifier;
  const out = new VerdictBatch(task.capacity, task.out);
  const n = task.count;
  const workers = task.workers ?? 1;
  const shards = workers > 1 ? task.shards ?? null : null;
  if (shards !== null && shards.length < n) throw new Error(`batch of ${n} records with ${shards.length} shards`);
  const outStart = task.outStart ?? 0;
  if (outStart + n > task.capacity) throw new Error(`records ${outStart}…${outStart + n} of a batch of ${task.capacity}`);
  const mine = c.classifyRecords(task.buf, n, task.offsets, task.capLens, task.wireLens, task.linkTypes, task.tsSec, task.tsNsec, out, outStart, shards, task.shard ?? 0, workers);
  return { count: mine };
}

function stats(): WorkerStats | null {
  const c = classifier;
  if (!c || !snapshot) return null;
  return {
    counters: { ...c.counters },
    entryPackets: c.entryPackets,
    entryBytes: c.entryBytes,
    dropsByReason: c.dropsByReason,
    revision: snapshot.revision,
    conntrack: c.ct.stats(),
    verdictCache: c.vc.stats(),
    fastPath: { packets: c.fastPathPackets, dropMemoHits: c.dropMemoHits, createMemoHits: c.createMemoHits, decided: c.decidedInWasm },
    fragments: c.frags.stats(),
  };
}
