/**
 * `kpf watch`'s engine: frames captured by libpcap (through `cap`) get the verdicts the compiled policies would give
 * them — audit only, nothing is enforced — with the dataplane and flow records of `kpf replay`.
 *
 *   cap 'packet' (event loop) ─► copy into the open batch (≤ batchMax frames, ≤ flushMs old)
 *        ─► classifier thread (watch.worker.ts: conntrack + policy, one revision) ─► verdicts, in capture order
 *        ─► RecordContext.record ─► onRecords (the CLI prints jsonLine / compactLine / jsonpbLine)
 *
 * The event loop only copies bytes and formats lines; classification runs on the worker thread. At most
 * `maxInFlight` batches wait for the worker: past that, frames are counted as `overflow` and not classified
 * (they still happened on the wire; watch never holds packets back).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KpfError } from '../core/errors.js';
import { PacketVerdict, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Published } from '../policy/revisions.js';
import { RecordContext, type FlowRecord } from '../replay/records.js';
import type { RecordBatch } from '../sources/reader.js';
import { snapshotHandle } from '../workers/transfer.js';
import { linkTypeOf, loadCap, type CapHandle } from './cap.js';
import { batchTransfer, type WatchBatchMessage, type WatchVerdictMessage } from './watch.worker.js';

export interface WatchOptions {
  iface: string;
  /** BPF filter of libpcap ('' for everything) */
  filter?: string;
  /** stop after this many frames */
  count?: number;
  classifier?: ClassifierOptions;
  /** frames per batch (default 1024) */
  batchMax?: number;
  /** a batch is handed to the worker at the latest this long after its first frame (default 50 ms) */
  flushMs?: number;
  /** batches waiting for the worker before frames are counted as overflow (default 64) */
  maxInFlight?: number;
  /** kernel capture buffer (default 8 MiB) */
  pcapBufferBytes?: number;
}

export interface WatchStats {
  captured: number;
  classified: number;
  forwarded: number;
  dropped: number;
  /** frames not classified because the worker fell behind */
  overflow: number;
  batches: number;
}

const SNAP = 65535;

/** Cap objects whose open() failed: never collected (see start()). */
const FAILED_OPENS: CapHandle[] = [];

function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(self.endsWith('.ts') ? './watch.worker.ts' : './watch.worker.js', import.meta.url));
}

interface OpenBatch {
  arena: Uint8Array;
  used: number;
  count: number;
  offsets: Uint32Array;
  capLens: Uint32Array;
  wireLens: Uint32Array;
  tsSec: Float64Array;
  tsNsec: Uint32Array;
}

export class WatchSession {
  readonly stats: WatchStats = { captured: 0, classified: 0, forwarded: 0, dropped: 0, overflow: 0, batches: 0 };
  /** link type (pcap LINKTYPE) of the device, known after start() */
  linkType = -1;
  linkTypeName = '';
  /** records of one batch, in capture order */
  onRecords: ((records: FlowRecord[]) => void) | undefined;
  /** the worker failed: capture stops */
  onError: ((e: Error) => void) | undefined;
  /** --count reached */
  onDone: (() => void) | undefined;

  private cap: CapHandle | undefined;
  private worker: Worker | undefined;
  private readonly ctx: RecordContext;
  private open: OpenBatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private inFlight = 0;
  private firstIndex = 0;
  private capturing = false;
  private drained: (() => void) | undefined;
  private readonly batchMax: number;
  private readonly flushMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly published: Published,
    private readonly opts: WatchOptions,
  ) {
    this.ctx = new RecordContext(published.compiled, published.snapshot);
    this.batchMax = Math.max(1, opts.batchMax ?? 1024);
    this.flushMs = Math.max(1, opts.flushMs ?? 50);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
  }

  /** Starts the classifier thread, then opens the device; resolves once frames are being captured. */
  async start(): Promise<void> {
    const capMod = loadCap();
    const iface = this.opts.iface;
    // the binding crashes when an object whose open() failed is collected (it stops a poll handle it never
    // started): a device that does not exist is refused before open(), and a failed Cap is kept referenced
    let known = existsSync(`/sys/class/net/${iface}`);
    if (!known) {
      try {
        known = capMod.Cap.deviceList().some((d) => d.name === iface);
      } catch {
        known = false;
      }
    }
    if (!known) throw new KpfError('KPF_ERR_WATCH', `cannot capture on ${iface}: no such device`);
    await this.startWorker();
    const cap = new capMod.Cap();
    const buffer = Buffer.alloc(SNAP + 1);
    let name: string;
    try {
      name = cap.open(iface, this.opts.filter ?? '', this.opts.pcapBufferBytes ?? 8 << 20, buffer);
    } catch (e) {
      FAILED_OPENS.push(cap);
      await this.stopWorker();
      const msg = e instanceof Error ? e.message : String(e);
      const hint = /permi|denied|EPERM|socket: Operation not permitted/i.test(msg) ? ' (capturing needs root or CAP_NET_RAW)' : '';
      throw new KpfError('KPF_ERR_WATCH', `cannot capture on ${iface}: ${msg}${hint}`);
    }
    try {
      this.linkType = linkTypeOf(name);
    } catch (e) {
      cap.close();
      await this.stopWorker();
      throw e;
    }
    this.linkTypeName = name;
    cap.setMinBytes?.(0);
    this.cap = cap;
    this.capturing = true;
    cap.on('packet', (nbytes, truncated) => this.frame(buffer, nbytes, truncated));
  }

  private startWorker(): Promise<void> {
    const w = new Worker(workerFile(), {
      workerData: { kpfWatch: true, init: { snapshot: snapshotHandle(this.published.snapshot), options: this.opts.classifier ?? {} } },
    });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'ready') {
          ready = true;
          resolve();
        } else if (m.type === 'verdicts') this.deliver(m as unknown as WatchVerdictMessage);
        else if (m.type === 'error') {
          const e = new KpfError('KPF_ERR_WATCH', `classifier thread failed: ${m.message}`);
          if (!ready) reject(e);
          else this.fail(e);
        }
      });
      w.on('error', (e) => {
        const err = new KpfError('KPF_ERR_WATCH', `classifier thread failed: ${e.message}`, { cause: e });
        if (!ready) reject(err);
        else this.fail(err);
      });
      w.on('exit', (code) => {
        if (!ready) reject(new KpfError('KPF_ERR_WATCH', `classifier thread exited (code ${code}) before it was ready`));
        else if (this.inFlight > 0) this.fail(new KpfError('KPF_ERR_WATCH', `classifier thread exited (code ${code}) with ${this.inFlight} batches pending`));
      });
    });
  }

  private fail(e: Error): void {
    this.stopCapture();
    this.inFlight = 0;
    this.drained?.();
    this.onError?.(e);
  }

  private newBatch(): OpenBatch {
    const n = this.batchMax;
    return {
      arena: new Uint8Array(Math.min(64 << 20, Math.max(1 << 20, n * 2048))),
      used: 0,
      count: 0,
      offsets: new Uint32Array(n),
      capLens: new Uint32Array(n),
      wireLens: new Uint32Array(n),
      tsSec: new Float64Array(n),
      tsNsec: new Uint32Array(n),
    };
  }

  /** One frame from the binding: copied into the open batch (the binding reuses its buffer). */
  private frame(buffer: Buffer, nbytes: number, truncated: boolean): void {
    if (!this.capturing) return;
    const limit = this.opts.count;
    if (limit !== undefined && this.stats.captured >= limit) return;
    this.stats.captured++;
    if (this.inFlight >= this.maxInFlight) {
      this.stats.overflow++;
    } else {
      let b = this.open;
      if (b && b.used + nbytes > b.arena.length) {
        this.flush();
        b = undefined;
      }
      if (!b) {
        b = this.newBatch();
        this.open = b;
        this.timer = setTimeout(() => this.flush(), this.flushMs);
      }
      const i = b.count++;
      b.arena.set(buffer.subarray(0, nbytes), b.used);
      b.offsets[i] = b.used;
      b.capLens[i] = nbytes;
      // the binding copies at most its buffer (one byte more than the snap length): a cut frame is marked truncated
      b.wireLens[i] = truncated ? nbytes + 1 : nbytes;
      const wall = performance.timeOrigin + performance.now();
      const sec = Math.floor(wall / 1000);
      b.tsSec[i] = sec;
      b.tsNsec[i] = Math.min(999_999_999, Math.max(0, Math.round((wall - sec * 1000) * 1e6)));
      b.used += (nbytes + 7) & ~7;
      if (b.count >= this.batchMax) this.flush();
    }
    if (limit !== undefined && this.stats.captured >= limit) {
      this.stopCapture();
      this.onDone?.();
    }
  }

  /** Hands the open batch to the worker. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const b = this.open;
    this.open = undefined;
    if (!b || b.count === 0 || !this.worker) return;
    const n = b.count;
    const buf = b.arena.buffer.slice(0, b.used) as ArrayBuffer;
    const m: WatchBatchMessage = {
      type: 'batch',
      id: this.nextId++,
      count: n,
      buf,
      offsets: b.offsets.slice(0, n),
      capLens: b.capLens.slice(0, n),
      wireLens: b.wireLens.slice(0, n),
      linkTypes: new Uint16Array(n).fill(this.linkType),
      tsSec: b.tsSec.slice(0, n),
      tsNsec: b.tsNsec.slice(0, n),
    };
    this.inFlight++;
    this.stats.batches++;
    this.worker.postMessage(m, batchTransfer(m));
  }

  private deliver(m: WatchVerdictMessage): void {
    this.inFlight--;
    const b = m.batch;
    const n = b.count;
    const records: RecordBatch = {
      buf: new Uint8Array(b.buf),
      count: n,
      offsets: b.offsets,
      capLens: b.capLens,
      wireLens: b.wireLens,
      tsSec: b.tsSec,
      tsNsec: b.tsNsec,
      linkTypes: b.linkTypes,
      ifaces: new Uint16Array(n),
      firstIndex: this.firstIndex,
      fileOffsets: new Float64Array(n),
    };
    this.firstIndex += n;
    const v = new VerdictBatch(n, m.verdicts);
    v.count = n;
    const out: FlowRecord[] = [];
    for (let i = 0; i < n; i++) {
      if (v.verdict[i] === PacketVerdict.FORWARDED) this.stats.forwarded++;
      else this.stats.dropped++;
      out.push(this.ctx.record(records, v, i));
    }
    this.stats.classified += n;
    this.onRecords?.(out);
    if (this.inFlight === 0) this.drained?.();
  }

  private stopCapture(): void {
    if (!this.capturing) return;
    this.capturing = false;
    const cap = this.cap;
    this.cap = undefined;
    if (cap) {
      cap.removeAllListeners('packet');
      // closing from inside the binding's packet callback is deferred by the binding itself
      setImmediate(() => {
        try {
          cap.close();
        } catch {
          /* already closed */
        }
      });
    }
  }

  /** Stops capturing, classifies what was captured, ends the worker. Idempotent. */
  async stop(timeoutMs = 10_000): Promise<WatchStats> {
    this.stopCapture();
    this.flush();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        t.unref();
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await this.stopWorker();
    return this.stats;
  }

  private async stopWorker(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    w.removeAllListeners('exit');
    await w.terminate();
  }

  /** The compile result in force (for jsonpb labels). */
  get compiled(): Published['compiled'] {
    return this.published.compiled;
  }
}
