/**
 * Replay: a capture through the compiled dataplane on worker threads, verdicts handed on in capture order.
 *
 *   reader (main thread) ─► batch ─► copy into shared memory ─► one task per worker: the whole batch
 *        ▲                                                          │
 *        │ back-pressure: at most `inFlight` batches outstanding    ▼ each worker decodes every record, classifies
 *   sink ◄── verdicts, in capture order, in one shared batch ◄──── those of its shard (address-pair hash after NAT)
 *
 * A worker that dies fails its task: the records it held get the default verdict (DROPPED WORKER_FAILED, or
 * FORWARDED with failOpen), counted; piscina replaces the thread. Memory is bounded by batch size × in-flight
 * batches and the table sizes, not by the capture.
 */
import { KpfError } from '../core/errors.js';
import { PacketVerdict, RuleRef, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { openCapture, type CaptureInput, type CaptureReader, type RecordBatch } from '../sources/capture.js';
import { CaptureFormatError } from '../sources/errors.js';
import { ShardedPool } from '../workers/pool.js';
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
  inFlightPerWorker: 4,
  classifier: {},
  failOpen: false,
});

/** One batch of records with their verdicts, in capture order. */
export interface ReplayBatch {
  /** the reader's batch (bytes and record arrays); valid during the sink call only */
  records: RecordBatch;
  /** the shared copy of the bytes the workers read (same offsets as records.buf) */
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
  /** per worker: whether its part succeeded */
  parts: Array<Promise<boolean>>;
}

function shared<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(src: T, n: number): T {
  const ctor = src.constructor as { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number };
  const out = new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT));
  out.set(src.subarray(0, n) as never);
  return out;
}

export async function replay(
  input: CaptureInput,
  snapshot: Snapshot,
  options: Partial<ReplayOptions>,
  sink: ReplaySink,
): Promise<ReplaySummary> {
  const opts: ReplayOptions = { ...DEFAULT_REPLAY, ...options };
  if (opts.batchSize < 1024) throw new KpfError('KPF_ERR_USAGE', `batch size ${opts.batchSize} is below 1024`, { exitCode: 2 });
  const t0 = performance.now();
  const reader = await openCapture(input, { maxBatch: opts.batchSize, reuse: true });
  const pool = new ShardedPool({ workers: opts.workers, ...(opts.workerHeapMb ? { workerHeapMb: opts.workerHeapMb } : {}) });
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

  const dispatch = (b: RecordBatch): Pending => {
    const n = b.count;
    const end = n === 0 ? 0 : b.offsets[n - 1]! + b.capLens[n - 1]!;
    const buf = shared(b.buf, end);
    const offsets = shared(b.offsets, n);
    const capLens = shared(b.capLens, n);
    const wireLens = shared(b.wireLens, n);
    const linkTypes = shared(b.linkTypes, n);
    const tsSec = shared(b.tsSec, n);
    const tsNsec = shared(b.tsNsec, n);
    const mySeq = seq++;
    const out = new SharedArrayBuffer(VerdictBatch.bytes(n));
    const verdicts = new VerdictBatch(n, out);
    // every worker gets the whole batch (shared memory, no copies) and classifies the records of its shard
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
          shard: w,
          workers: W,
          out,
          ...(crash ? { crash: true } : {}),
        })
        .then(
          () => true,
          () => {
            summary.workerFailures++;
            return false;
          },
        );
    });
    // the reader may reuse its buffers after this call: keep a private copy of what the sink needs
    const records: RecordBatch = {
      ...b,
      buf: new Uint8Array(buf.buffer, 0, end),
      offsets,
      capLens,
      wireLens,
      linkTypes,
      tsSec,
      tsNsec,
      ifaces: b.ifaces.slice(0, n),
      fileOffsets: b.fileOffsets.slice(0, n),
    };
    return { seq: mySeq, records, verdicts, parts };
  };

  const complete = async (p: Pending): Promise<void> => {
    const ok = await Promise.all(p.parts);
    const n = p.records.count;
    const out = p.verdicts;
    let defaulted = 0;
    if (ok.some((x) => !x)) {
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
