/**
 * Replay: a capture through the compiled dataplane on worker threads, verdicts handed on in capture order.
 *
 *   reader (main thread) ─► batch, read into ─► with N > 1 workers: the shard of ─► one task per worker: its own
 *        ▲                  shared memory        each record (address-pair hash    records, gathered in one range
 *        │                                       after NAT), once                  │
 *        │ back-pressure: at most `inFlight` batches outstanding                    ▼ each worker classifies its range
 *   sink ◄── verdicts, put back in capture order ◄──────────────────────────────── into the same range of the output
 *
 * With one worker the shared memory is the worker's own module memory (regions its `prepare` task reserved): the worker
 * classifies each batch where the reader read it (datapath/classify.ts classifyInPlace).
 *
 * A worker that dies fails its task: the records it held get the default verdict (DROPPED WORKER_FAILED, or
 * FORWARDED with failOpen), counted; piscina replaces the thread. Memory is bounded by batch size × in-flight
 * batches and the table sizes, not by the capture.
 */
import { KpfError } from '../core/errors.js';
import { PacketVerdict, RuleRef, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { Describer, fastModule } from '../datapath/wasm-core.js';
import { BatchSharder } from './sharder.js';
import { openCapture, type CaptureInput, type CaptureReader, type RecordBatch } from '../sources/capture.js';
import type { BatchArena, BatchMemory } from '../sources/reader.js';
import { CaptureFormatError } from '../sources/errors.js';
import type { ShardedPool } from '../workers/pool.js';
import { DEFAULT_IN_FLIGHT, MAX_WORKERS, startPool } from './pool-start.js';
import { snapshotHandle } from '../workers/transfer.js';
import type { VerdictTaskResult, WorkerStats } from '../workers/verdict.worker.js';
import { GatheredColumns } from '../workers/gather.js';
import { VerdictTally, establishedCounts, type TallyCounts } from './tally.js';
import { RING_ENTRIES, RING_WORDS, RingFlag, RingState, RingWord, ringBuffers, type RingBuffers } from './ring.js';
import { REGION_RECORDS, SLOT_BYTES, slotLayout, slotViews, type SlotRegions } from './slot-layout.js';

/** kpf's own drop / forward reason for records whose worker failed (not a Cilium number). */
export const WORKER_FAILED = 1001;

export interface ReplayOptions {
  workers: number;
  /** records per batch (≥ 1024) */
  batchSize: number;
  /** tasks queued per worker: batches in flight are this + workers − 1 (each batch is one task for every worker) */
  inFlightPerWorker: number;
  classifier: ClassifierOptions;
  failOpen: boolean;
  workerHeapMb?: number;
  /** test hook: batch sequence number whose task makes its first worker exit */
  crashBatch?: number;
  /** test hook: batch sequence number whose classification throws in its first worker (the thread goes on) */
  failBatch?: number;
  /**
   * With one worker, read the batches into the worker's module memory, where it classifies them in place (default
   * true; false: into memory of the engine's own, which the worker copies from — the path of several workers)
   */
  inPlace?: boolean;
  /**
   * With batches classified in place, the main thread describes each batch for the worker's module (default true;
   * false: the module parses the frames itself; for tests and measurements)
   */
  describe?: boolean;
  /**
   * With batches classified in place, hand them to the worker through a ring of shared control words, which one long
   * task of the worker reads (replay/ring.ts; default true; false: a piscina task a batch)
   */
  ring?: boolean;
  /**
   * Return as soon as the workers' stats are in, with the pool's destruction under way (ReplaySummary.destroyed)
   * instead of done: the CLI prints its output while the threads exit. Errors still wait for it.
   */
  deferDestroy?: boolean;
}

export const DEFAULT_REPLAY: Readonly<ReplayOptions> = Object.freeze({
  workers: 1,
  batchSize: 16384,
  inFlightPerWorker: DEFAULT_IN_FLIGHT,
  classifier: {},
  failOpen: false,
});

/** One batch of records with their verdicts, in capture order. */
export interface ReplayBatch {
  /** the reader's batch (bytes and record arrays); valid during the sink call only */
  records: RecordBatch;
  /** the batch's verdicts; like `records`, valid during the sink call only (the shared memory is reused) */
  verdicts: VerdictBatch;
  /** records of this batch that got the default verdict after a worker failure */
  defaulted: number;
}

/** Where a replay's verdicts go, one call per batch in capture order (a call may return a promise: back-pressure). */
export interface ReplaySink {
  /** the batch's records and their verdicts */
  batch(b: ReplayBatch): void | Promise<void>;
  /**
   * For a sink that needs only counts (the summary, the metrics), called instead of `batch` when there are several
   * workers: each worker counts its own records (replay/tally.ts), so that the main thread, which then reads and
   * shards every record and is the busiest thread, reads no verdict. (With one worker, the busier thread is the
   * worker: the main thread counts, in `batch`.) `parts`: one per worker that had records, one for the records of a
   * failed worker.
   */
  counts?(parts: TallyCounts[], defaulted: number): void | Promise<void>;
  /** with `counts`: whether the dropped flows are counted too */
  trackFlows?: boolean;
  /**
   * For a sink that needs only counts, called instead of `batch` for a batch the one worker classified in its own
   * memory: `counts` are those of the established packets, which the worker's module counted as it classified them;
   * `list` holds the indices of the batch's other records, in order, whose verdicts the sink counts itself
   * (replay/tally.ts VerdictTally.add with a list). The main thread then reads the verdicts of ~14 % of the peers'
   * records instead of all of them. `desc`: the batch's record descriptors when the main thread described it
   * (datapath/wasm-core.ts Describer), which hold the dropped frames' flow keys the sink would parse.
   */
  listed?(b: ReplayBatch & { counts: TallyCounts; list: Uint32Array; desc?: Uint32Array }): void | Promise<void>;
  /** the capture's reader, once it has read the file's header (before the first batch) */
  opened?(reader: CaptureReader): void;
}

export interface ReplaySummary {
  records: number;
  forwarded: number;
  dropped: number;
  defaultVerdicts: number;
  workerFailures: number;
  /** the capture error that ended the read early, if any (records before it have their verdicts) */
  error?: CaptureFormatError | KpfError;
  wallSeconds: number;
  /** seconds from the first batch's dispatch to the end (steady state, without start-up) */
  steadySeconds: number;
  workers: Array<WorkerStats | null>;
  reader: CaptureReader['stats'];
  /** with ReplayOptions.deferDestroy: settles when the pool's threads have exited (await it before exiting) */
  destroyed?: Promise<void>;
}

/** The worker's ring (replay/ring.ts) as the engine holds it. */
interface Ring {
  buffers: RingBuffers;
  /** settles when the worker's long task has (returned after STOP, or the thread died) */
  ended: Promise<void>;
  /** the long task is over: posted batches not done failed */
  dead: boolean;
  /** STOP was posted: the long task returns after the batches before it */
  stopped: boolean;
}

/** Atomics.waitAsync (Node 20 has it; TypeScript's ES2022 library does not declare it) */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

interface Pending {
  seq: number;
  records: RecordBatch;
  /** the batch's verdicts, filled by the workers at the records' indices */
  verdicts: VerdictBatch;
  /** per worker: the records it classified (and their counts, for a counting sink), or null when its part failed */
  parts: Array<Promise<VerdictTaskResult | null>>;
  /** the shared memory it occupies until it is complete */
  slot: SharedSlot;
  /** the batch's descriptors, when the main thread described it (in `slot`) */
  desc: Uint32Array | null;
}

/**
 * One batch's worth of shared memory, reused from batch to batch (allocating SharedArrayBuffers per batch cost
 * more than classifying): the record bytes and columns the workers read, and the verdicts they write. The reader
 * reads and parses straight into it (it is the reader's arena, sources/reader.ts BatchArena), so a record's bytes
 * are copied once, by the read itself.
 */
class SharedSlot implements BatchMemory {
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly capLens: Uint32Array;
  readonly wireLens: Uint32Array;
  readonly linkTypes: Uint16Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly ifaces: Uint16Array;
  readonly fileOffsets: Float64Array;
  readonly out: SharedArrayBuffer;
  /** byte offset of the verdicts in `out` */
  readonly outByteOffset: number;
  readonly verdicts: VerdictBatch;
  /** the records' descriptors (datapath/wasm-core.ts Describer), in a region only */
  readonly desc: Uint32Array | null;
  /** the byte offset of its region in the worker's memory, or −1 */
  readonly regionStart: number;
  /**
   * Laid out by replay/slot-layout.ts in a SharedArrayBuffer of its own, or (`region`) in a region of a worker's
   * module memory, which that worker classifies in place.
   */
  constructor(
    readonly capacity: number,
    bytes: number,
    region?: { memory: SharedArrayBuffer; start: number },
  ) {
    const l = slotLayout(capacity, bytes);
    const m = region?.memory ?? new SharedArrayBuffer(l.bytes);
    const start = region?.start ?? 0;
    const v = slotViews(m, start, capacity, bytes);
    this.buf = v.buf;
    this.offsets = v.offsets;
    this.capLens = v.capLens;
    this.wireLens = v.wireLens;
    this.linkTypes = v.linkTypes;
    this.tsSec = v.tsSec;
    this.tsNsec = v.tsNsec;
    this.out = m;
    this.outByteOffset = start + l.out;
    this.ifaces = new Uint16Array(capacity);
    this.fileOffsets = new Float64Array(capacity);
    this.verdicts = v.out;
    this.desc = region ? v.desc : null;
    this.regionStart = region ? start : -1;
  }

  /**
   * With several workers: the batch's records gathered by shard (worker w's in one range), their batch indices, and
   * the range-ordered verdicts the workers write; made on first use.
   */
  gathered: Gathered | null = null;

  /** Readies the verdicts for a batch of n records: a verdict is never 0, and a worker that fails leaves its records at 0 (see complete()). */
  reset(n: number): void {
    this.verdicts.verdict.fill(0, 0, n);
    this.verdicts.count = n;
  }
}

/**
 * A batch's records by shard (see SharedSlot.gathered): the batch indices of worker w's records, in capture order, at
 * positions [start[w], start[w] + count[w]) of `index`; and the verdicts the workers write at the same positions.
 */
class Gathered {
  readonly shards: Uint8Array;
  /** batch index of the record at each position (shared: each worker reads its range and gathers its records) */
  readonly index: Uint32Array;
  readonly out: SharedArrayBuffer;
  readonly verdicts: VerdictBatch;
  /** per worker: first position and number of its records in the current batch */
  readonly start: Int32Array;
  readonly count: Int32Array;
  constructor(capacity: number, workers: number) {
    this.shards = new Uint8Array(capacity);
    this.index = new Uint32Array(new SharedArrayBuffer(Math.max(8, capacity * 4)));
    this.out = new SharedArrayBuffer(Math.max(8, VerdictBatch.bytes(capacity)));
    this.verdicts = new VerdictBatch(capacity, this.out);
    this.start = new Int32Array(workers);
    this.count = new Int32Array(workers);
  }

  /** Lists the n records of the batch (sharded into `shards`) by shard. @remarks per-record path: no allocation. */
  gather(n: number): void {
    const shards = this.shards;
    const count = this.count;
    const start = this.start;
    count.fill(0);
    for (let i = 0; i < n; i++) count[shards[i]!]!++;
    let at = 0;
    for (let w = 0; w < count.length; w++) {
      start[w] = at;
      at += count[w]!;
    }
    // start[] serves as each shard's next position, and is restored after
    const index = this.index;
    for (let i = 0; i < n; i++) {
      const w = shards[i]!;
      const j = start[w]!;
      start[w] = j + 1;
      index[j] = i;
    }
    for (let w = 0; w < count.length; w++) start[w] = start[w]! - count[w]!;
    this.verdicts.verdict.fill(0, 0, n);
    this.verdicts.count = n;
  }

  /** Puts the gathered verdicts back in batch order, into `out`. */
  scatter(out: VerdictBatch, n: number): void {
    const v = this.verdicts;
    const index = this.index;
    for (let j = 0; j < n; j++) out.copyRecord(v, j, index[j]!);
  }
}

/**
 * Replays a capture through the workers; `startedPool` (from {@link startPool}, with `options.workers` threads) is
 * used and destroyed, else a pool is started here.
 */
export async function replay(
  input: CaptureInput,
  snapshot: Snapshot,
  options: Partial<ReplayOptions>,
  sink: ReplaySink,
  startedPool?: ShardedPool,
): Promise<ReplaySummary> {
  const opts: ReplayOptions = { ...DEFAULT_REPLAY, ...options };
  const t0 = performance.now();
  // shared slots: at most maxInFlight batches are pending, the reader fills one more, and a slot is free again once
  // its batch is complete
  const free: SharedSlot[] = [];
  const slotOf = new WeakMap<Uint8Array, SharedSlot>();
  // with one worker, its batch regions (replay/slot-layout.ts): slots there are read into where the worker's module
  // classifies them
  let regions: SlotRegions | null = null;
  let describer: Describer | null = null;
  const takeSlot = (bytes: number, records: number): SharedSlot => {
    for (let k = free.length - 1; k >= 0; k--) {
      const s = free[k]!;
      if (s.buf.length >= bytes && s.capacity >= records) {
        free.splice(k, 1);
        return s;
      }
    }
    const r = regions;
    // (views over the memory's own buffer object, which the describing instance checks them against)
    const region = r !== null && r.starts.length > 0 && bytes <= r.chunk && records <= r.records ? { memory: r.memory.buffer as unknown as SharedArrayBuffer, start: r.starts.pop()! } : undefined;
    const s = region ? new SharedSlot(r!.records, r!.chunk, region) : new SharedSlot(Math.max(records, opts.batchSize), Math.max(bytes, SLOT_BYTES));
    slotOf.set(s.buf, s);
    return s;
  };
  const arena: BatchArena = { take: takeSlot };
  // (the reader walks plain pcap records in the module too, for the slots in the worker's memory: set below)
  let reader: CaptureReader;
  let pool: ShardedPool | undefined = startedPool;
  try {
    if (opts.batchSize < 1024) throw new KpfError('KPF_ERR_USAGE', `batch size ${opts.batchSize} is below 1024`, { exitCode: 2 });
    if (!(opts.workers >= 1 && opts.workers <= MAX_WORKERS)) throw new KpfError('KPF_ERR_USAGE', `${opts.workers} workers: 1 to ${MAX_WORKERS}`, { exitCode: 2 });
    if (startedPool && startedPool.size !== opts.workers) throw new KpfError('KPF_ERR_USAGE', `the pool has ${startedPool.size} workers, the options ask for ${opts.workers}`, { exitCode: 2 });
    // the workers' fast path: a missing build fails here, with its message, not as one worker failure per batch
    fastModule();
    pool ??= startPool(opts);
    if (opts.workers === 1 && opts.inPlace !== false) {
      // laid out by this thread when the pool was prepared: the first batches are read there while the worker boots
      const r = pool.plannedRegions(0);
      // a region holds a batch of up to r.records records read in chunks of r.chunk bytes
      if (r !== null && r.chunk >= SLOT_BYTES && r.records >= opts.batchSize) {
        regions = { ...r, starts: [...r.starts] };
        // the main thread walks and describes each batch it reads there, for the worker's module (datapath/wasm-core.ts
        // Describer)
        if (opts.describe !== false) describer = Describer.over(r.memory);
        if (describer !== null) arena.walker = describer;
      }
    }
    reader = await openCapture(input, { maxBatch: opts.batchSize, bufferSize: SLOT_BYTES, arena });
    sink.opened?.(reader);
  } catch (e) {
    await pool?.destroy();
    throw e;
  }
  const handle = snapshotHandle(snapshot);
  const W = opts.workers;
  const pending: Pending[] = [];
  let sharder: BatchSharder | undefined;
  const counting = sink.counts && W > 1 ? { counts: sink.counts.bind(sink), trackFlows: sink.trackFlows ?? false } : null;
  // one worker classifying in its own memory: it counts the established packets and lists the rest (sink.listed)
  const listing = W === 1 && regions !== null && sink.listed ? sink.listed.bind(sink) : null;
  let failTally: VerdictTally | undefined;
  let failCols: GatheredColumns | undefined;
  // each batch is one task for every worker (its records), so this keeps about inFlightPerWorker tasks queued at each
  // worker, with a batch more per extra worker for the main thread to read ahead (memory: batches × slot size)
  const maxInFlight = Math.max(1, opts.inFlightPerWorker + W - 1);
  const summary: ReplaySummary = {
    records: 0,
    forwarded: 0,
    dropped: 0,
    defaultVerdicts: 0,
    workerFailures: 0,
    wallSeconds: 0,
    steadySeconds: 0,
    workers: [],
    reader: reader.stats,
  };
  let seq = 0;
  let tSteady = 0;
  let ok = false;
  // the worker's ring (replay/ring.ts), started before the first batch is read (null when not used); once it is dead
  // or stopped, batches go as tasks again
  let ring: Ring | null = null;
  // (KPF_RING=0 turns it off too: the A/B of replay/ring.ts's measurement, as KPF_WASM=0 is the fast path's)
  const ringWanted = W === 1 && regions !== null && opts.ring !== false && process.env.KPF_RING !== '0';
  /** Whether batches go into the ring: neither stopped nor dead. */
  const ringOpen = (r: Ring): boolean => !r.stopped && !r.dead;
  const startRing = (): Ring => {
    const buffers = ringBuffers();
    const task = pool.runRing(0, { ring: buffers, snapshot: handle, options: opts.classifier });
    const r: Ring = { buffers, ended: Promise.resolve(), dead: false, stopped: false };
    // the thread died (or the task ended before STOP): every batch posted and not done fails, as a dead thread's tasks
    r.ended = task.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      r.dead = true;
      const ctl = buffers.ctl;
      for (let e = 0; e < RING_ENTRIES; e++) Atomics.notify(ctl, e * RING_WORDS + RingWord.STATE);
    });
    return r;
  };
  /** Posts STOP in batch `s`'s entry (free: the batches in flight are fewer than the entries): the long task returns. */
  const stopRing = (r: Ring, s: number): void => {
    const k = (s % RING_ENTRIES) * RING_WORDS + RingWord.STATE;
    Atomics.store(r.buffers.ctl, k, RingState.STOP);
    Atomics.notify(r.buffers.ctl, k);
    r.stopped = true;
  };
  /** Posts batch `s` (in `slot`) in the ring; resolves with its result, or null when the worker failed it. */
  const postRing = (r: Ring, s: number, slot: SharedSlot, n: number, flags: number): Promise<VerdictTaskResult | null> => {
    const { ctl, f64, lists } = r.buffers;
    const e = s % RING_ENTRIES;
    const k = e * RING_WORDS;
    if (Atomics.load(ctl, k + RingWord.STATE) !== RingState.FREE) throw new KpfError('KPF_ERR_INTERNAL', `batch ${s}: ring entry ${e} is in use`);
    ctl[k + RingWord.START] = slot.regionStart;
    ctl[k + RingWord.COUNT] = n;
    ctl[k + RingWord.FLAGS] = flags;
    Atomics.store(ctl, k + RingWord.STATE, RingState.POSTED);
    Atomics.notify(ctl, k + RingWord.STATE);
    const settle = async (): Promise<VerdictTaskResult | null> => {
      for (;;) {
        const state = Atomics.load(ctl, k + RingWord.STATE);
        if (state === RingState.DONE) {
          const listed = ctl[k + RingWord.LISTED]!;
          const result: VerdictTaskResult = { count: ctl[k + RingWord.CLASSIFIED]! };
          if (listed >= 0) {
            result.counts = establishedCounts({ established: ctl[k + RingWord.ESTABLISHED]!, replies: ctl[k + RingWord.REPLIES]!, bytes: f64[k / 2 + RingWord.BYTES64]! });
            result.listed = lists.slice(e * REGION_RECORDS, e * REGION_RECORDS + listed);
          }
          Atomics.store(ctl, k + RingWord.STATE, RingState.FREE);
          return result;
        }
        if (state === RingState.FAILED || r.dead) {
          if (state === RingState.FAILED) Atomics.store(ctl, k + RingWord.STATE, RingState.FREE);
          summary.workerFailures++;
          return null;
        }
        const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(ctl, k + RingWord.STATE, RingState.POSTED);
        if (w.async) await w.value;
      }
    };
    return settle();
  };

  /** The batch's records as the sink sees them: views of its slot's first n records. */
  const recordsOf = (b: RecordBatch, slot: SharedSlot, n: number, end: number): RecordBatch => ({
    ...b,
    buf: slot.buf.subarray(0, end),
    offsets: slot.offsets.subarray(0, n),
    capLens: slot.capLens.subarray(0, n),
    wireLens: slot.wireLens.subarray(0, n),
    linkTypes: slot.linkTypes.subarray(0, n),
    tsSec: slot.tsSec.subarray(0, n),
    tsNsec: slot.tsNsec.subarray(0, n),
    ifaces: slot.ifaces.subarray(0, n),
    fileOffsets: slot.fileOffsets.subarray(0, n),
  });

  const dispatch = (b: RecordBatch): Pending => {
    const n = b.count;
    const end = n === 0 ? 0 : b.offsets[n - 1]! + b.capLens[n - 1]!;
    // the reader read the batch into a slot (its arena)
    const slot = slotOf.get(b.buf);
    if (slot === undefined || slot.offsets !== b.offsets) throw new KpfError('KPF_ERR_INTERNAL', `batch ${seq}: its records are not in the replay's shared memory`);
    slot.reset(n);
    const mySeq = seq++;
    const { buf, verdicts } = slot;
    let g: Gathered | null = null;
    const desc = describer !== null && slot.desc !== null ? slot.desc : null;
    // (the reader's walk described the records as it walked them, unless some took its JavaScript loops)
    if (desc !== null && !(b.described === true && b.desc === desc)) describer!.describe(buf, slot.offsets, slot.capLens, slot.wireLens, slot.linkTypes, n, desc);
    if (W > 1) {
      // each worker is handed its own records, gathered in one range (replay/sharder.ts)
      g = slot.gathered ??= new Gathered(slot.capacity, W);
      sharder ??= new BatchSharder(snapshot, W, opts.classifier.decode);
      sharder.shard(buf, n, slot.offsets, slot.capLens, slot.wireLens, slot.linkTypes, g.shards);
      g.gather(n);
    }
    const rg = ring;
    // a batch that is not in a region (a record past a region's chunk): the ring stops after the batches before it,
    // and this batch and the rest go as tasks (queued behind the long task, so in order)
    if (rg !== null && ringOpen(rg) && slot.regionStart < 0) stopRing(rg, mySeq);
    if (rg !== null && ringOpen(rg)) {
      const flags = (desc !== null ? RingFlag.DESC : 0) | (listing ? RingFlag.LISTED : 0) | (opts.crashBatch === mySeq ? RingFlag.CRASH : 0) | (opts.failBatch === mySeq ? RingFlag.FAIL : 0);
      const part = postRing(rg, mySeq, slot, n, flags).then((r) => {
        if (r !== null && r.count !== n) throw new KpfError('KPF_ERR_INTERNAL', `batch ${mySeq}: worker 0 classified ${r.count} of its ${n} records`);
        return r;
      });
      return { seq: mySeq, records: recordsOf(b, slot, n, end), verdicts, parts: [part], slot, desc };
    }
    const parts = Array.from({ length: W }, (_, w) => {
      const crash = opts.crashBatch === mySeq && w === 0;
      const fail = opts.failBatch === mySeq && w === 0;
      const at = g ? g.start[w]! : 0;
      const count = g ? g.count[w]! : n;
      if (count === 0 && !crash) return Promise.resolve({ count: 0 });
      return pool
        .run(w, {
          snapshot: handle,
          options: opts.classifier,
          buf,
          offsets: slot.offsets,
          capLens: slot.capLens,
          wireLens: slot.wireLens,
          linkTypes: slot.linkTypes,
          tsSec: slot.tsSec,
          tsNsec: slot.tsNsec,
          ...(g ? { index: g.index.subarray(at, at + count) } : {}),
          count,
          capacity: slot.capacity,
          outStart: at,
          out: g ? g.out : slot.out,
          ...(g ? {} : { outByteOffset: slot.outByteOffset }),
          ...(counting ? { tally: { flows: counting.trackFlows } } : {}),
          ...(listing ? { listed: true } : {}),
          ...(desc !== null ? { desc } : {}),
          ...(crash ? { crash: true } : {}),
          ...(fail ? { fail: true } : {}),
        })
        .then(
          (r: VerdictTaskResult) => {
            // a worker classifies every record it is handed: anything else is a bug, not a verdict
            if (r.count !== count) throw new KpfError('KPF_ERR_INTERNAL', `batch ${mySeq}: worker ${w} classified ${r.count} of its ${count} records`);
            return r;
          },
          () => {
            summary.workerFailures++;
            return null;
          },
        );
    });
    return { seq: mySeq, records: recordsOf(b, slot, n, end), verdicts, parts, slot, desc };
  };

  const complete = async (p: Pending): Promise<void> => {
    const results = await Promise.all(p.parts);
    const n = p.records.count;
    const g = W > 1 ? p.slot.gathered! : null;
    // the verdicts the workers wrote: in batch order, or (several workers) in shard order, put back below
    const out = g ? g.verdicts : p.verdicts;
    const failed = results.includes(null);
    let defaulted = 0;
    if (failed) {
      // a failed worker's records are those it left without a verdict (a verdict is never 0)
      for (let i = 0; i < n; i++) {
        if (out.verdict[i] !== 0) continue;
        out.verdict[i] = opts.failOpen ? PacketVerdict.FORWARDED : PacketVerdict.DROPPED;
        out.reason[i] = WORKER_FAILED;
        out.flags[i] = 0;
        out.egress[i] = RuleRef.NOT_EVALUATED;
        out.ingress[i] = RuleRef.NOT_EVALUATED;
        out.srcEp[i] = out.dstEp[i] = 0;
        out.srcId[i] = out.dstId[i] = 0;
        out.backend[i] = -1;
        defaulted++;
      }
    }
    out.count = n;
    summary.records += n;
    summary.defaultVerdicts += defaulted;
    if (counting) {
      // the workers counted their records; those of a failed worker (default verdicts, and any it wrote before it
      // failed) are counted here
      const parts: TallyCounts[] = [];
      for (let w = 0; w < W; w++) {
        const r = results[w]!;
        if (r !== null) {
          if (r.counts) parts.push(r.counts);
          continue;
        }
        const at = g ? g.start[w]! : 0;
        const count = g ? g.count[w]! : n;
        const cols = g ? (failCols ??= new GatheredColumns()).gather(p.slot, g.index.subarray(at), count) : p.slot;
        failTally ??= new VerdictTally(counting.trackFlows);
        failTally.add(p.slot.buf, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, out, at, count);
        parts.push(failTally.take());
      }
      let fwd = 0;
      for (const c of parts) fwd += c.forwarded;
      summary.forwarded += fwd;
      summary.dropped += n - fwd;
      await counting.counts(parts, defaulted);
    } else if (listing && !failed && results[0]?.listed && results[0].counts) {
      // the worker counted the established packets; the other records are listed
      const { counts, listed: list } = results[0];
      if (counts.records + list.length !== n) throw new KpfError('KPF_ERR_INTERNAL', `batch ${p.seq}: ${counts.records} records counted and ${list.length} listed of ${n}`);
      let fwd = counts.forwarded;
      for (let j = 0; j < list.length; j++) if (out.verdict[list[j]!] === PacketVerdict.FORWARDED) fwd++;
      summary.forwarded += fwd;
      summary.dropped += n - fwd;
      await listing({ records: p.records, verdicts: p.verdicts, defaulted, counts, list, ...(p.desc !== null ? { desc: p.desc } : {}) });
    } else {
      let fwd = 0;
      for (let i = 0; i < n; i++) if (out.verdict[i] === PacketVerdict.FORWARDED) fwd++;
      summary.forwarded += fwd;
      summary.dropped += n - fwd;
      if (g) g.scatter(p.verdicts, n);
      await sink.batch({ records: p.records, verdicts: p.verdicts, defaulted });
    }
    free.push(p.slot);
  };

  try {
    // the ring's long task goes to the worker now, before the first batch is read: the worker attaches the snapshot
    // and makes its classifier meanwhile, and is waiting in the ring when the first batch is posted (from the first
    // batch on, that hand-over and set-up took ~1-1.5 ms before the worker started it)
    if (ringWanted) ring = startRing();
    try {
      for await (const b of reader) {
        if (b.count === 0) continue;
        if (seq === 0) tSteady = performance.now();
        pending.push(dispatch(b));
        while (pending.length >= maxInFlight) await complete(pending.shift()!);
      }
    } catch (e) {
      if (e instanceof CaptureFormatError || e instanceof KpfError) summary.error = e;
      else throw e;
    }
    while (pending.length) await complete(pending.shift()!);
    const rg = ring as Ring | null;
    if (rg !== null) {
      // every entry is free: the next one tells the worker's long task to return
      if (ringOpen(rg)) stopRing(rg, seq);
      await rg.ended;
    }
    summary.workers = await pool.stats();
    ok = true;
  } finally {
    // the threads' exit (~5 ms, their heaps torn down) overlaps the caller's output when it asked for that
    const destroyed = pool.destroy();
    if (ok && opts.deferDestroy === true) summary.destroyed = destroyed;
    else await destroyed;
  }
  const t1 = performance.now();
  summary.wallSeconds = (t1 - t0) / 1000;
  summary.steadySeconds = tSteady ? (t1 - tSteady) / 1000 : 0;
  return summary;
}
