/**
 * Worker entry (piscina): one task = one batch of records of this worker's shard → a VerdictBatch.
 * Tiny and pure: it imports only core/, packet/, datapath/ and the replay's counts (replay/tally.ts), and a type of
 * sources/. The classifier (and its conntrack shard) lives as long as the thread; a new snapshot revision is swapped
 * in between batches.
 */
import { Classifier, VerdictBatch, type ClassifierOptions, type InPlaceTally, type PreparedClassifier } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { attachSnapshot, type SnapshotHandle } from './transfer.js';
import { Conntrack } from '../datapath/conntrack.js';
import { VerdictTally, establishedCounts, type TallyCounts } from '../replay/tally.js';
import { GatheredColumns } from './gather.js';
import type { RecordColumns } from '../sources/reader.js';
import { REGION_RECORDS, SLOT_BYTES, slotViews, type SlotRegions, type SlotViews } from '../replay/slot-layout.js';
import { RING_ENTRIES, RING_WORDS, RingFlag, RingState, RingWord, type RingBuffers } from '../replay/ring.js';

/** A batch's shared chunk and record columns (SharedArrayBuffer-backed), and what to do with them. */
export interface VerdictTask extends RecordColumns {
  snapshot: SnapshotHandle;
  options: ClassifierOptions;
  buf: Uint8Array;
  /**
   * the batch indices of this task's records (the worker gathers them from the columns above, workers/gather.ts);
   * when absent, the task's records are records [0, count) of the columns
   */
  index?: Uint32Array;
  /** records in the task */
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
  /** byte offset of the verdicts in `out` (default 0) */
  outByteOffset?: number;
  outStart?: number;
  /**
   * count the task's records too (replay/tally.ts; `flows`: the dropped flows as well) and return the counts: for a
   * replay whose output needs only counts, so that the main thread reads no verdict
   */
  tally?: { flows: boolean };
  /**
   * for a batch this thread classifies in its own memory (one worker): return the counts of the established packets,
   * counted in the module, and the list of the other records (Classifier.classifyInPlace's InPlaceTally), so that the
   * main thread counts the verdicts of those only (replay/tally.ts); ignored for a batch classified otherwise
   */
  listed?: boolean;
  /**
   * The batch's descriptors (datapath/wasm-core.ts Describer), which the main thread wrote into the same region of
   * this thread's module memory as the batch: the module reads them instead of parsing the frames. Only with a batch
   * classified in place; ignored otherwise.
   */
  desc?: Uint32Array;
  /** test hook: the worker exits while holding this task */
  crash?: boolean;
  /** test hook: the task throws (the thread goes on) */
  fail?: boolean;
}

export interface VerdictTaskResult {
  /** records classified */
  count: number;
  /** their counts, when the task asked for them; with `listed`, the counts of the records not listed */
  counts?: TallyCounts;
  /** with a task's `listed`: the indices of the records left to count (VerdictTally.add's list), in batch order */
  listed?: Uint32Array;
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
  /** tasks whose batch the worker classified in its own memory, where the main thread had read it */
  inPlaceBatches: number;
  /** of those, the batches the main thread had described (their task's `desc`) */
  describedBatches: number;
  /** of those, the batches taken from the replay's ring (replay/ring.ts), not each as a task of its own */
  ringBatches: number;
}

let classifier: Classifier | undefined;
/** the counts of a task's records (tasks with `tally`), with and without the dropped flows */
let tallyFlows: VerdictTally | undefined;
let tallyPlain: VerdictTally | undefined;
/** what classifyInPlace reports of a batch for a task with `listed` */
const inPlaceTally: InPlaceTally = { kept: false, established: 0, replies: 0, bytes: 0, list: new Uint32Array(0), listed: 0 };
/** the columns of a task's records, when the task lists them by index */
const gathered = new GatheredColumns();
let snapshot: Snapshot | undefined;
/**
 * The classifier's parts a `prepare` task built before the first batch (Classifier.prepare: conntrack tables, caches,
 * the fast path's instance), and the options they were built with
 */
let prepared: { options: string; parts: PreparedClassifier } | undefined;

/**
 * A task that builds the conntrack tables (tens of MB) and the rest of the classifier but its snapshot
 * (Classifier.prepare) while the main thread is still loading the manifests. With `arena`, the tables go in the
 * memory where the main thread of a 1-worker replay laid out its batch regions (replay/slot-layout.ts planRegions):
 * it reads its batches there, and the module classifies them where they are; the task returns the regions. Null
 * without them.
 */
export interface PrepareTask {
  prepare: ClassifierOptions;
  /**
   * With one worker: the batch regions the main thread laid out in a memory it made, and the bytes they take there
   * (slot-layout.ts planRegions); the tables go in the rest of it
   */
  arena?: { memory: WebAssembly.Memory; top: number; starts: number[] };
}

/**
 * The long task of a 1-worker replay (replay/ring.ts): the batches the main thread posts in the ring, each read into
 * one of this thread's regions, classified in place in sequence order until the main thread posts STOP; returns the
 * batches classified.
 */
export interface RingTask {
  ring: RingBuffers;
  snapshot: SnapshotHandle;
  options: ClassifierOptions;
}

export default function classifyTask(task: VerdictTask | PrepareTask | RingTask | { stats: true }): VerdictTaskResult | WorkerStats | SlotRegions | { batches: number } | null {
  if ('stats' in task) return stats();
  if ('prepare' in task) return prepare(task);
  if ('ring' in task) return runRing(task);
  if (task.crash) process.exit(70);
  if (task.fail) throw new Error('failBatch: this batch fails (test hook)');
  const c = classifierFor(task);
  const out = new VerdictBatch(task.capacity, task.out, task.outByteOffset ?? 0);
  const n = task.count;
  const workers = task.workers ?? 1;
  const shards = workers > 1 ? task.shards ?? null : null;
  if (shards !== null && shards.length < n) throw new Error(`batch of ${n} records with ${shards.length} shards`);
  const outStart = task.outStart ?? 0;
  if (outStart + n > task.capacity) throw new Error(`records ${outStart}…${outStart + n} of a batch of ${task.capacity}`);
  if (task.index && (task.index.length < n || shards !== null)) throw new Error(`a task of ${n} records with ${task.index.length} indices${shards ? ' and shards' : ''}`);
  const cols = task.index ? gathered.gather(task, task.index, n) : task;
  let mine: number;
  if (shards === null && workers === 1 && !task.index && outStart === 0 && c.inPlace(task.buf, task.offsets, out)) {
    // a batch the main thread read into this thread's module memory (prepare's regions): classified where it is
    const listed = task.listed === true && !task.tally;
    mine = classifyHere(c, task.buf, task, n, out, listed, task.desc);
    const lt = inPlaceTally;
    if (listed && lt.kept) return { count: mine, counts: establishedCounts(lt), listed: lt.list.slice(0, lt.listed) };
  } else mine = c.classifyRecords(task.buf, n, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, cols.tsSec, cols.tsNsec, out, outStart, shards, task.shard ?? 0, workers);
  if (!task.tally) return { count: mine };
  if (shards !== null || workers > 1) throw new Error('a task that counts its records holds only its own');
  const t = task.tally.flows ? (tallyFlows ??= new VerdictTally(true)) : (tallyPlain ??= new VerdictTally(false));
  t.add(task.buf, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, out, outStart, n);
  return { count: mine, counts: t.take() };
}

/** The thread's classifier, made on the first batch (from `prepare`'s parts), with the task's snapshot attached. */
function classifierFor(task: { snapshot: SnapshotHandle; options: ClassifierOptions }): Classifier {
  if (!snapshot || snapshot.revision !== task.snapshot.revision) {
    snapshot = attachSnapshot(task.snapshot);
    if (classifier) classifier.setSnapshot(snapshot);
  }
  if (!classifier) {
    const parts = prepared && prepared.options === JSON.stringify(task.options) ? prepared.parts : undefined;
    prepared = undefined;
    classifier = new Classifier(snapshot, task.options, parts);
  }
  return classifier;
}

/**
 * Classifies n records of a batch that lies in this thread's memory where they are (Classifier.classifyInPlace),
 * counted for the stats; with `listed`, into {@link inPlaceTally}. Returns the records classified.
 */
function classifyHere(c: Classifier, buf: Uint8Array, cols: RecordColumns, n: number, out: VerdictBatch, listed: boolean, desc: Uint32Array | undefined): number {
  inPlaceBatches++;
  if (desc !== undefined) describedBatches++;
  return c.classifyInPlace(buf, n, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, cols.tsSec, cols.tsNsec, out, listed ? inPlaceTally : undefined, desc);
}

/** the regions `prepare` reserved, by start: their views, as the main thread's slots over them have them */
const regionViews = new Map<number, SlotViews>();

function runRing(task: RingTask): { batches: number } {
  const c = classifierFor(task);
  const { ctl, f64, lists } = task.ring;
  for (let seq = 0; ; seq++) {
    const e = seq % RING_ENTRIES;
    const k = e * RING_WORDS;
    let state: number;
    // (with a timeout, so that a thread whose main thread went away is not parked for good)
    while ((state = Atomics.load(ctl, k + RingWord.STATE)) === RingState.FREE) Atomics.wait(ctl, k + RingWord.STATE, RingState.FREE, 1000);
    if (state === RingState.STOP) return { batches: seq };
    if (state !== RingState.POSTED) throw new Error(`ring entry ${e}: state ${state} for batch ${seq}`);
    const flags = ctl[k + RingWord.FLAGS]!;
    if ((flags & RingFlag.CRASH) !== 0) process.exit(70);
    const v = regionViews.get(ctl[k + RingWord.START]!);
    const n = ctl[k + RingWord.COUNT]!;
    let done: number = RingState.DONE;
    try {
      if (v === undefined || !c.inPlace(v.buf, v.offsets, v.out)) throw new Error(`ring entry ${e}: no region of this thread at ${ctl[k + RingWord.START]}`);
      if ((flags & RingFlag.FAIL) !== 0) throw new Error('failBatch: this batch fails (test hook)');
      ringBatches++;
      const listed = (flags & RingFlag.LISTED) !== 0;
      ctl[k + RingWord.CLASSIFIED] = classifyHere(c, v.buf, v, n, v.out, listed, (flags & RingFlag.DESC) !== 0 ? v.desc : undefined);
      const lt = inPlaceTally;
      if (listed && lt.kept) {
        ctl[k + RingWord.ESTABLISHED] = lt.established;
        ctl[k + RingWord.REPLIES] = lt.replies;
        f64[k / 2 + RingWord.BYTES64] = lt.bytes;
        lists.set(lt.list.subarray(0, lt.listed), e * REGION_RECORDS);
        ctl[k + RingWord.LISTED] = lt.listed;
      } else ctl[k + RingWord.LISTED] = -1;
    } catch {
      // as a task that throws: the batch's unclassified records get the default verdict, and the thread goes on
      done = RingState.FAILED;
    }
    Atomics.store(ctl, k + RingWord.STATE, done);
    Atomics.notify(ctl, k + RingWord.STATE);
  }
}

/** batches classified in place (datapath/classify.ts classifyInPlace), for the stats */
let inPlaceBatches = 0;
/** of those, the batches with descriptors */
let describedBatches = 0;
/** of those, the batches from the ring */
let ringBatches = 0;

function prepare(task: PrepareTask): SlotRegions | null {
  if (classifier) return null;
  // the tables in the rest of the memory the main thread laid the regions out in (replay/slot-layout.ts planRegions)
  const given = task.arena;
  const ct = new Conntrack(task.prepare.conntrack ?? {}, 0, given);
  const a = ct.arena;
  if (given !== undefined && a !== null) for (const at of given.starts) regionViews.set(at, slotViews(a.buffer, at, REGION_RECORDS, SLOT_BYTES));
  // the rest of the classifier but its snapshot, so that the first batch only attaches that
  prepared = { options: JSON.stringify(task.prepare), parts: Classifier.prepare(task.prepare, ct) };
  // the fast path's main loop compiled by V8's optimizing compiler while the main thread loads the manifests
  prepared.parts.core?.warmUp();
  if (given === undefined || a === null) return null;
  return { memory: a.memory, starts: given.starts, records: REGION_RECORDS, chunk: SLOT_BYTES };
}

function stats(): WorkerStats | null {
  const c = classifier;
  if (!c || !snapshot) return null;
  return {
    counters: { ...c.counters },
    // copies: the counters may be views into the fast path's memory, which a structured clone would copy whole
    entryPackets: c.entryPackets.slice(),
    entryBytes: c.entryBytes.slice(),
    dropsByReason: c.dropsByReason,
    revision: snapshot.revision,
    conntrack: c.ct.stats(),
    verdictCache: c.vc.stats(),
    fastPath: { packets: c.fastPathPackets, dropMemoHits: c.dropMemoHits, createMemoHits: c.createMemoHits, decided: c.decidedInWasm },
    fragments: c.frags.stats(),
    inPlaceBatches,
    describedBatches,
    ringBatches,
  };
}
