/**
 * The live dataplane, main-thread side: starts the dataplane thread (dataplane.worker.ts) on the TUNs of a
 * {@link LiveNetwork}, hands it new policy revisions, and turns what it posts back into flow records.
 *
 * Startup order (runtime.md §6, §8): the revision is compiled and published before the thread starts, and the thread
 * reads no packet before it holds the snapshot — until then the kernel queues (and eventually drops) the packets.
 * If the thread dies, nothing reads the TUNs any more: traffic stops (fail-closed) and `onError` is called.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ipWords, parseIP } from '../core/ip.js';
import { KpfError } from '../core/errors.js';
import { VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Published } from '../policy/revisions.js';
import { RecordContext, type FlowRecord } from '../replay/records.js';
import type { RecordBatch } from '../sources/reader.js';
import { snapshotHandle } from '../workers/transfer.js';
import type { DataplaneInit, LiveBatchMessage, LiveWorkerStats, WorkerPort, LiveCtSummary } from './dataplane.worker.js';
import type { Attachment } from './netns.js';

export { Dest } from './dataplane.worker.js';

export interface LiveDataplaneOptions {
  classifier?: ClassifierOptions;
  /** answer denied packets (TCP RST / ICMP admin-prohibited) */
  reject?: boolean;
  /** packets per batch (default 256) */
  batchMax?: number;
  /** poll timeout of the thread (ms): the latency of a stop or a revision swap (default 50) */
  pollMs?: number;
  /** label of the attachment that takes destinations nobody else owns (default `world`) */
  worldLabel?: string;
}

/** One batch as the main thread sees it. */
export interface LiveBatch {
  revision: number;
  records: RecordBatch;
  verdicts: VerdictBatch;
  /** per packet: index of the attachment it was read from */
  inPort: Int16Array;
  /** per packet: index of the attachment it was written to, or a Dest value */
  dest: Int16Array;
  rejects: number;
  /** conntrack figures, when the thread reported them with this batch (about once a second) */
  ct?: LiveCtSummary;
}

/** IPv4 text → u32; IPv6 text → 4 words joined with ':' (the worker's lookup keys). */
export function ipKey(a: string): { v4?: number; v6?: string } {
  const p = parseIP(a);
  if (!p) return {};
  const w = ipWords(p);
  if (p.family === 4) return { v4: w[3] >>> 0 };
  return { v6: w.map((x) => x >>> 0).join(':') };
}

function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(self.endsWith('.ts') ? './dataplane.worker.ts' : './dataplane.worker.js', import.meta.url));
}

export class LiveDataplane {
  private worker: Worker | undefined;
  private readonly control = new SharedArrayBuffer(4);
  private readonly channel = new MessageChannel();
  private readonly contexts = new Map<number, RecordContext>();
  private published: Published;
  private stoppedStats: LiveWorkerStats | undefined;
  private stopping = false;
  private exited: Promise<void> | undefined;
  private firstIndex = 0;
  /** batches received */
  batches = 0;
  /** called for every batch, in order */
  onBatch: ((b: LiveBatch) => void) | undefined;
  /** the thread failed or exited unexpectedly (traffic has stopped) */
  onError: ((e: Error) => void) | undefined;
  /** a revision is in force in the thread */
  onRevision: ((revision: number) => void) | undefined;

  constructor(
    readonly attachments: readonly Attachment[],
    published: Published,
    readonly opts: LiveDataplaneOptions = {},
  ) {
    this.published = published;
    this.contexts.set(published.revision, new RecordContext(published.compiled, published.snapshot));
  }

  /** The flow record of packet i of a batch (with the dictionary of the batch's revision). */
  record(b: LiveBatch, i: number): FlowRecord {
    const ctx = this.contexts.get(b.revision) ?? new RecordContext(this.published.compiled, this.published.snapshot);
    return ctx.record(b.records, b.verdicts, i);
  }

  /** The compile result of a revision still known (for flow-log labels). */
  get current(): Published {
    return this.published;
  }

  /** Starts the thread; resolves once it holds the revision and reads the TUNs. */
  start(): Promise<void> {
    if (this.worker) throw new KpfError('KPF_ERR_LIVE', 'dataplane already started');
    const worldLabel = this.opts.worldLabel ?? 'world';
    const ports: WorkerPort[] = this.attachments.map((a) => {
      const v4: number[] = [];
      const v6: string[] = [];
      for (const ipText of a.ips) {
        const key = ipKey(ipText);
        if (key.v4 !== undefined) v4.push(key.v4);
        if (key.v6 !== undefined) v6.push(key.v6);
      }
      return { fd: a.fd, v4, v6 };
    });
    const init: DataplaneInit = {
      snapshot: snapshotHandle(this.published.snapshot),
      options: this.opts.classifier ?? {},
      ports,
      world: this.attachments.findIndex((a) => a.label === worldLabel),
      reject: this.opts.reject === true,
      batchMax: this.opts.batchMax ?? 256,
      pollMs: this.opts.pollMs ?? 50,
      control: this.control,
      port: this.channel.port2,
    };
    const w = new Worker(workerFile(), { workerData: { kpfLive: true, init }, transferList: [this.channel.port2] });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      this.exited = new Promise<void>((done) => w.once('exit', () => done()));
      w.on('message', (m: { type: string } & Record<string, unknown>) => {
        if (m.type === 'ready') {
          ready = true;
          resolve();
        } else if (m.type === 'batch') this.deliver(m as unknown as LiveBatchMessage);
        else if (m.type === 'revision') this.onRevision?.(m['revision'] as number);
        else if (m.type === 'stopped') this.stoppedStats = m['stats'] as LiveWorkerStats;
        else if (m.type === 'error') {
          const e = new KpfError('KPF_ERR_LIVE', `dataplane thread failed: ${String(m['message'])}`);
          if (!ready) reject(e);
          else this.onError?.(e);
        }
      });
      w.on('error', (e) => {
        const err = new KpfError('KPF_ERR_LIVE', `dataplane thread failed: ${e.message}`, { cause: e });
        if (!ready) reject(err);
        else this.onError?.(err);
      });
      w.on('exit', (code) => {
        if (!ready) reject(new KpfError('KPF_ERR_LIVE', `dataplane thread exited (code ${code}) before it was ready`));
        else if (!this.stopping) this.onError?.(new KpfError('KPF_ERR_LIVE', `dataplane thread exited unexpectedly (code ${code}); no traffic is forwarded`));
      });
    });
  }

  private deliver(m: LiveBatchMessage): void {
    this.batches++;
    const n = m.count;
    const records: RecordBatch = {
      buf: new Uint8Array(m.buf),
      count: n,
      offsets: m.offsets,
      capLens: m.lens,
      wireLens: m.lens,
      tsSec: m.tsSec,
      tsNsec: m.tsNsec,
      linkTypes: new Uint16Array(n).fill(101),
      ifaces: m.inPort as unknown as Uint16Array,
      firstIndex: this.firstIndex,
      fileOffsets: new Float64Array(n),
    };
    this.firstIndex += n;
    const verdicts = new VerdictBatch(n, m.verdicts);
    verdicts.count = n;
    this.onBatch?.({ revision: m.revision, records, verdicts, inPort: m.inPort, dest: m.dest, rejects: m.rejects, ...(m.ct ? { ct: m.ct } : {}) });
  }

  /**
   * Publishes a new revision to the thread: it is swapped in between two batches (a batch is classified under one
   * revision). Flow records of the new revision's batches use its dictionary.
   */
  setRevision(p: Published): void {
    if (p.revision === this.published.revision) return;
    this.contexts.set(p.revision, new RecordContext(p.compiled, p.snapshot));
    // keep the previous revision's dictionary for batches still in flight; drop older ones
    for (const r of [...this.contexts.keys()]) if (r !== p.revision && r !== this.published.revision) this.contexts.delete(r);
    this.published = p;
    this.channel.port1.postMessage({ type: 'snapshot', handle: snapshotHandle(p.snapshot) });
  }

  /** Stops reading (within one poll timeout), waits for the thread to end; returns its counters. */
  async stop(timeoutMs = 5000): Promise<LiveWorkerStats | undefined> {
    if (!this.worker) return undefined;
    this.stopping = true;
    Atomics.store(new Int32Array(this.control), 0, 1);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const r = await Promise.race([this.exited!.then(() => 'exited' as const), timer]);
    if (r === 'timeout') await this.worker.terminate();
    this.channel.port1.close();
    return this.stoppedStats;
  }
}
