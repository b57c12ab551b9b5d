/**
 * Replay: a capture through the compiled dataplane on worker threads, verdicts handed on in capture order.
 *
 *   reader (main thread) ─► batch ─► copy into shared memory, ─► one task per worker: the whole batch
 *        ▲                           shard of each record         │
 *        │ back-pressure: at most `inFlight` batches outstanding   ▼ each worker classifies the records of its
 *   sink ◄── verdicts, in capture order, in one shared batch ◄──── shard (address-pair hash after NAT)
 *
 * A worker that dies fails its task: the records it held get the default verdict (DROPPED WORKER_FAILED, or
 * FORWARDED with failOpen), counted; piscina replaces the thread. Memory is bounded by batch size × in-flight
 * batches and the table sizes, not by the capture.
 */
import { KpfError } from '../core/errors.js';
import { PacketVerdict, RuleRef, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { fastModule } from '../datapath/wasm-core.js';
import { openCapture, type CaptureInput, type CaptureReader, type RecordBatch } from '../sources/capture.js';
import { CaptureFormatError } from '../sources/errors.js';
import type { ShardedPool } from '../workers/pool.js';
import { DEFAULT_IN_FLIGHT, MAX_WORKERS, startPool } from './pool-start.js';
import { snapshotHandle } from '../workers/transfer.js';
import type { WorkerStats } from '../workers/verdict.worker.js';

/** kpf's own drop / forward reason for records whose worker failed (not a Cilium number). */
export const WORKER_FAILED = 1001;

export interface ReplayOptions {
  workers: number;
  /** records per batch (≥ 1024) */
  batchSize: number;
  /** batches in flight per worker */
  inFlightPerWorker: number;
  classifier: ClassifierOptions;
  failOpen: boolean;
  workerHeapMb?: number;
  /** test hook: batch sequence number whose task makes its first worker exit */
  crashBatch?: number;
}

export const DEFAULT_REPLAY: Readonly<ReplayOptions> = Object.freeze({
  workers: 1,
  batchSize: 4096,
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

export interface ReplaySink {
  /** Called once per batch, in capture order; may return a promise (back-pressure). */
  batch(b: ReplayBatch): void | Promise<void>;
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
}

interface Pending {
  seq: number;
  records: RecordBatch;
  /** the batch's verdicts, filled by the workers at the records' indices */
  verdicts: VerdictBatch;
  /** per worker: the records it classified, or -1 when its part failed */
  parts: Array<Promise<number>>;
  /** the shared memory it occupies until it is complete */
  slot: SharedSlot;
}

/**
 * One batch's worth of shared memory, reused from batch to batch (allocating SharedArrayBuffers per batch cost
 * more than classifying): the record bytes and columns the workers read, and the verdicts they write.
 */
class SharedSlot {
  buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly capLens: Uint32Array;
  readonly wireLens: Uint32Array;
  readonly linkTypes: Uint16Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly ifaces: Uint16Array;
  readonly fileOffsets: Float64Array;
  readonly out: SharedArrayBuffer;
  readonly verdicts: VerdictBatch;
  constructor(readonly capacity: number) {
    const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
    this.buf = new Uint8Array(sab(capacity * 128));
    this.offsets = new Uint32Array(sab(capacity * 4));
    this.capLens = new Uint32Array(sab(capacity * 4));
    this.wireLens = new Uint32Array(sab(capacity * 4));
    this.linkTypes = new Uint16Array(sab(capacity * 2));
    this.tsSec = new Float64Array(sab(capacity * 8));
    this.tsNsec = new Uint32Array(sab(capacity * 4));
    this.ifaces = new Uint16Array(capacity);
    this.fileOffsets = new Float64Array(capacity);
    this.out = sab(VerdictBatch.bytes(capacity));
    this.verdicts = new VerdictBatch(capacity, this.out);
  }

  /** Copies the reader's batch in (the reader reuses its buffers); grows the byte buffer when a batch needs more. */
  fill(b: RecordBatch, end: number): void {
    const n = b.count;
    if (end > this.buf.length) this.buf = new Uint8Array(new SharedArrayBuffer(Math.max(end, this.buf.length * 2)));
    this.buf.set(b.buf.subarray(0, end));
    this.offsets.set(b.offsets.subarray(0, n));
    this.capLens.set(b.capLens.subarray(0, n));
    this.wireLens.set(b.wireLens.subarray(0, n));
    this.linkTypes.set(b.linkTypes.subarray(0, n));
    this.tsSec.set(b.tsSec.subarray(0, n));
    this.tsNsec.set(b.tsNsec.subarray(0, n));
    this.ifaces.set(b.ifaces.subarray(0, n));
    this.fileOffsets.set(b.fileOffsets.subarray(0, n));
    // a verdict is never 0: a worker that fails leaves its records at 0 (see complete())
    this.verdicts.verdict.fill(0, 0, n);
    this.verdicts.count = n;
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
  let reader: CaptureReader;
  try {
    if (opts.batchSize < 1024) throw new KpfError('KPF_ERR_USAGE', `batch size ${opts.batchSize} is below 1024`, { exitCode: 2 });
    if (!(opts.workers >= 1 && opts.workers <= MAX_WORKERS)) throw new KpfError('KPF_ERR_USAGE', `${opts.workers} workers: 1 to ${MAX_WORKERS}`, { exitCode: 2 });
    if (startedPool && startedPool.size !== opts.workers) throw new KpfError('KPF_ERR_USAGE', `the pool has ${startedPool.size} workers, the options ask for ${opts.workers}`, { exitCode: 2 });
    // the workers' fast path: a missing build fails here, with its message, not as one worker failure per batch
    fastModule();
    reader = await openCapture(input, { maxBatch: opts.batchSize, reuse: true });
  } catch (e) {
    await startedPool?.destroy();
    throw e;
  }
  const pool = startedPool ?? startPool(opts);
  const handle = snapshotHandle(snapshot);
  const W = opts.workers;
  const pending: Pending[] = [];
  const maxInFlight = Math.max(1, W * opts.inFlightPerWorker);
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

  // shared slots: at most maxInFlight batches are pending, and a slot is free again once its batch is complete
  const free: SharedSlot[] = [];
  const dispatch = (b: RecordBatch): Pending => {
    const n = b.count;
    const end = n === 0 ? 0 : b.offsets[n - 1]! + b.capLens[n - 1]!;
    let slot = free.pop();
    if (!slot || slot.capacity < n) slot = new SharedSlot(Math.max(n, opts.batchSize));
    slot.fill(b, end);
    const mySeq = seq++;
    const { buf, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out, verdicts } = slot;
    // every worker gets the whole batch (shared memory, no copies), computes every record's shard (workers/shard.ts:
    // the same function in every worker, the common frame in WebAssembly) and classifies the records of its own
    const parts = Array.from({ length: W }, (_, w) => {
      const crash = opts.crashBatch === mySeq && w === 0;
      return pool
        .run(w, {
          snapshot: handle,
          options: opts.classifier,
          buf,
          offsets,
          capLens,
          wireLens,
          linkTypes,
          tsSec,
          tsNsec,
          count: n,
          capacity: slot.capacity,
          shard: w,
          workers: W,
          out,
          ...(crash ? { crash: true } : {}),
        })
        .then(
          (r: { count: number }) => r.count,
          () => {
            summary.workerFailures++;
            return -1;
          },
        );
    });
    const records: RecordBatch = {
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
    };
    return { seq: mySeq, records, verdicts, parts, slot };
  };

  const complete = async (p: Pending): Promise<void> => {
    const counts = await Promise.all(p.parts);
    const n = p.records.count;
    const out = p.verdicts;
    let defaulted = 0;
    if (!counts.includes(-1) && counts.reduce((a, c) => a + c, 0) !== n) {
      // the workers' shards partition the batch: anything else is a bug, not a verdict
      throw new KpfError('KPF_ERR_INTERNAL', `batch ${p.seq}: the workers classified ${counts.join(' + ')} of its ${n} records`);
    }
    if (counts.includes(-1)) {
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
    let fwd = 0;
    for (let i = 0; i < n; i++) if (out.verdict[i] === PacketVerdict.FORWARDED) fwd++;
    summary.forwarded += fwd;
    summary.dropped += n - fwd;
    summary.records += n;
    summary.defaultVerdicts += defaulted;
    await sink.batch({ records: p.records, verdicts: out, defaulted });
    free.push(p.slot);
  };

  try {
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
    summary.workers = await pool.stats();
  } finally {
    await pool.destroy();
  }
  const t1 = performance.now();
  summary.wallSeconds = (t1 - t0) / 1000;
  summary.steadySeconds = tSteady ? (t1 - tSteady) / 1000 : 0;
  return summary;
}
