/**
 * Batched, bounded-memory capture reading shared by the pcap and pcapng readers.
 *
 *   file / stdin ──read()──▶ chunk buffer (default 1 MiB, grows up to maxBufferSize for one huge record)
 *                              │ records parsed in place: no per-packet copy
 *                              ▼
 *   RecordBatch { buf = the chunk, offsets[i] / capLens[i] / wireLens[i] / tsSec[i] / tsNsec[i] / linkTypes[i] … }
 *
 * One batch = the records that fit completely in one chunk (at most `maxBatch`). The partial record at the end of
 * a chunk is copied to the start of the next chunk. Every array of a batch sits in its own plain ArrayBuffer, so a
 * batch can be posted to a worker with {@link batchTransferList} (the reader never touches a batch it has handed
 * out, unless `reuse` is set: then the same buffers are recycled and a batch is valid only until the next
 * iteration step — zero allocation in the steady state).
 *
 * Damage: records before the damaged one are delivered in a batch first; the {@link CaptureFormatError} is thrown
 * by the following iteration step.
 */
import type { PcapWalkArgs } from '../datapath/wasm-core.js';
import { CaptureErrorCode, CaptureFormatError } from './errors.js';
import type { ByteSource } from './source.js';

/** The columns of a batch's records, one entry a record. */
export interface RecordColumns {
  /** offset in the batch's chunk of each record's captured bytes */
  offsets: Uint32Array;
  /** captured length (after snaplen cuts) */
  capLens: Uint32Array;
  /** original length on the wire (≥ capLen; P12 raised it when the file said less) */
  wireLens: Uint32Array;
  /** timestamp: whole seconds since 1970 (may be negative / > 2^32 after if_tsoffset) */
  tsSec: Float64Array;
  /** timestamp: nanoseconds 0…999,999,999 */
  tsNsec: Uint32Array;
  /** link type of each record (pcapng: that of its interface) */
  linkTypes: Uint16Array;
}

/** The memory of one batch: the chunk and the record columns (see {@link BatchArena}). */
export interface BatchMemory extends RecordColumns {
  /** chunk holding the packet bytes (a view on the batch's own ArrayBuffer) */
  buf: Uint8Array;
  /** pcapng interface id within its section (0 for pcap) */
  ifaces: Uint16Array;
  /** file byte offset of each record header / block */
  fileOffsets: Float64Array;
  /** the records' descriptors (datapath/wasm-core.ts Describer), where the arena's walker can write them */
  desc?: Uint32Array | null;
}

/** A batch of capture records; all arrays have at least `count` valid entries. */
export interface RecordBatch extends BatchMemory {
  /** number of records */
  count: number;
  /** 0-based index of the first record in the whole capture */
  firstIndex: number;
  /** true when the arena's walker wrote every record's descriptor into `desc` as it walked them */
  described?: boolean;
}

/** The ArrayBuffers of a batch, for `postMessage(batch, batchTransferList(batch))` / piscina `move`. */
export function batchTransferList(b: RecordBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const a of [b.buf, b.offsets, b.capLens, b.wireLens, b.tsSec, b.tsNsec, b.linkTypes, b.ifaces, b.fileOffsets]) {
    const ab = a.buffer as ArrayBuffer;
    if (!out.includes(ab)) out.push(ab);
  }
  return out;
}

/** Kinds of non-fatal anomalies (WARN rows of the P-table). */
export type CaptureWarningKind =
  | 'caplen_gt_len' // P12
  | 'len_absurd' // P13
  | 'snaplen_cut' // P11
  | 'ts_fraction' // §1: fraction ≥ 1 s, carried
  | 'time_regression'; // P30

/** One warning; only materialised when an `onWarning` callback is given. */
export interface CaptureWarning {
  kind: CaptureWarningKind;
  recordIndex: number;
  byteOffset: number;
  message: string;
}

/** Counters kept by every reader. */
export interface CaptureStats {
  /** records delivered */
  records: number;
  /** records with capLen < wireLen */
  truncatedRecords: number;
  /** bytes consumed from the input */
  bytes: number;
  /** pcapng blocks skipped (unknown types, NRB, ISB, DSB, …) */
  skippedBlocks: number;
  warnings: Record<CaptureWarningKind, number>;
}

/** Reader tuning. */
export interface ReaderOptions {
  /** initial chunk size in bytes (default 1 MiB, minimum 64 KiB) */
  bufferSize?: number;
  /** hard maximum the chunk may grow to for one record (default 16 MiB + 64 KiB); beyond ⇒ TOO_LARGE */
  maxBufferSize?: number;
  /** maximum records per batch (default 16384) */
  maxBatch?: number;
  /** recycle buffers between batches (a batch is then valid only until the next step) */
  reuse?: boolean;
  /** called for each warning (P11–P13, P30, timestamp fractions) */
  onWarning?: (w: CaptureWarning) => void;
  /**
   * Where each batch's memory comes from instead of fresh allocations (`reuse` is then ignored): the replay engine
   * hands out recycled shared memory, so that records are read straight into what its workers read.
   */
  arena?: BatchArena;
}

/**
 * Memory for batches ({@link ReaderOptions.arena}): `take` gives a chunk of at least `bytes` bytes and columns for
 * at least `records` records that nobody else uses until its batch is done with (the caller's business).
 */
export interface BatchArena {
  take(bytes: number, records: number): BatchMemory;
  /** walks plain classic pcap records in compiled code when the batch's memory is its own (datapath/wasm-core.ts Describer) */
  walker?: PcapWalker;
}

/**
 * PcapReader.parsePlain's walk over a buffer and columns in the walker's memory (datapath/wasm-core.ts Describer):
 * the same records into the same columns, but the interface and file-offset columns; -1 when a view is not in its
 * memory.
 */
export interface PcapWalker {
  walkPcap(...args: PcapWalkArgs): number;
  walkEnd(): number;
  walkTruncated(): number;
  walkMaxSec(): number;
  walkMaxNsec(): number;
}

/** Largest caplen accepted (libpcap `max_snaplen_for_dlt`, MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;
/** Largest pcapng block accepted (P20). */
export const MAX_BLOCK = 16 * 1024 * 1024;

export const NEED = 0;
export const FULL = 1;
export const ERROR = 2;

/** Base of {@link PcapReader} and {@link PcapngReader}: buffer management and the batch iterator. */
export abstract class BatchReader implements AsyncIterable<RecordBatch> {
  abstract readonly format: 'pcap' | 'pcapng';
  readonly stats: CaptureStats = {
    records: 0,
    truncatedRecords: 0,
    bytes: 0,
    skippedBlocks: 0,
    warnings: { caplen_gt_len: 0, len_absurd: 0, snaplen_cut: 0, ts_fraction: 0, time_regression: 0 },
  };
  protected buf: Uint8Array;
  protected dv: DataView;
  /** unparsed bytes are buf[start, end); buf[0] is at file offset `base` */
  protected start = 0;
  protected end = 0;
  protected base = 0;
  protected eof = false;
  /** bytes needed from `start` to make progress (set by parse() when it returns NEED) */
  protected need = 0;
  protected pendingError: CaptureFormatError | null = null;
  protected headerDone = false;
  /** index of the next record */
  protected index = 0;
  private finished = false;
  private shared = false;
  private readonly maxBuffer: number;
  protected readonly maxBatch: number;
  private readonly reuse: boolean;
  private readonly onWarning: ((w: CaptureWarning) => void) | undefined;
  private readonly arena: BatchArena | undefined;
  /** the arena's walker, for PcapReader's plain records */
  protected readonly walker: PcapWalker | null;
  // current batch
  protected count = 0;
  protected offsets!: Uint32Array;
  protected capLens!: Uint32Array;
  protected wireLens!: Uint32Array;
  protected tsSec!: Float64Array;
  protected tsNsec!: Uint32Array;
  protected linkTypes!: Uint16Array;
  protected ifaces!: Uint16Array;
  protected fileOffsets!: Float64Array;
  /** the batch memory's descriptors (null: none), and whether every record of the batch got one from the walker */
  protected desc: Uint32Array | null = null;
  protected describedAll = false;
  private batchFirst = 0;
  /** the latest timestamp delivered (a record before it is a time regression) */
  protected maxSec = -Infinity;
  protected maxNsec = 0;

  constructor(
    protected readonly src: ByteSource,
    opts: ReaderOptions = {},
  ) {
    const size = Math.max(65536, opts.bufferSize ?? 1 << 20);
    this.maxBuffer = Math.max(size, opts.maxBufferSize ?? MAX_BLOCK + 65536);
    this.maxBatch = Math.max(1, opts.maxBatch ?? 16384);
    this.arena = opts.arena;
    this.walker = opts.arena?.walker ?? null;
    this.reuse = this.arena === undefined && (opts.reuse ?? false);
    this.onWarning = opts.onWarning;
    if (this.arena) {
      const m = this.arena.take(size, this.maxBatch);
      this.buf = m.buf;
      this.useArrays(m);
    } else {
      this.buf = new Uint8Array(size);
      this.allocArrays();
    }
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Parses the file header (pcap) / first Section Header Block (pcapng). NEED | ERROR | FULL (= done). */
  protected abstract parseHeader(): number;
  /** Parses records from buf[start, end) into the batch; NEED (see `need`), FULL or ERROR (`pendingError`). */
  protected abstract parseRecords(): number;
  /** Called at end of input with buf[start, end) unparsed; returns the error to raise, if any. */
  protected abstract atEof(): CaptureFormatError | null;

  /** Reads and validates the file header; throws CaptureFormatError. Called by openCapture(). */
  async open(): Promise<void> {
    while (!this.headerDone) {
      const r = this.parseHeader();
      if (r === ERROR) break;
      if (r === FULL) {
        this.headerDone = true;
        break;
      }
      if (this.eof) {
        this.pendingError ??= this.atEof();
        break;
      }
      if (!this.makeRoom()) break;
      await this.fill();
    }
    if (this.pendingError) {
      await this.src.close();
      throw this.pendingError;
    }
  }

  /** Closes the input (also done automatically when iteration ends or breaks). */
  close(): Promise<void> {
    return this.src.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    try {
      if (!this.headerDone) await this.open();
      for (;;) {
        if (this.pendingError) throw this.pendingError;
        if (this.finished) return;
        this.beginBatch();
        for (;;) {
          const r = this.parseRecords();
          if (r !== NEED) break;
          if (this.eof) {
            this.pendingError = this.atEof();
            if (!this.pendingError) this.finished = true;
            break;
          }
          if (this.need > this.buf.length - this.start) {
            if (this.count > 0) break; // hand out what we have; the next batch makes room
            if (!this.makeRoom()) break;
          }
          await this.fill();
        }
        if (this.count > 0) yield this.takeBatch();
      }
    } finally {
      await this.src.close();
    }
  }

  /** Fills buf[end…] from the source; sets `eof` on 0. */
  protected async fill(): Promise<void> {
    const n = await this.src.read(this.buf, this.end, this.buf.length - this.end);
    if (n === 0) this.eof = true;
    else this.end += n;
  }

  /** Moves buf[start, end) to the front, growing the buffer if `need` does not fit; false + pendingError if the
   *  record exceeds maxBufferSize. */
  protected makeRoom(): boolean {
    if (this.need > this.maxBuffer) {
      this.pendingError = new CaptureFormatError(
        CaptureErrorCode.TOO_LARGE,
        `record of ${this.need} bytes exceeds the reader's maximum buffer of ${this.maxBuffer} bytes`,
        this.index,
        this.base + this.start,
      );
      return false;
    }
    const len = this.end - this.start;
    if (this.need > this.buf.length || this.shared) {
      let size = this.buf.length;
      while (size < this.need) size = Math.min(this.maxBuffer, size * 2);
      let nb: Uint8Array;
      if (this.arena) {
        // the next batch's memory: its chunk and its columns
        const m = this.arena.take(size, this.maxBatch);
        nb = m.buf;
        this.useArrays(m);
      } else nb = new Uint8Array(size);
      nb.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = nb;
      this.dv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
      this.shared = false;
    } else if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.base += this.start;
    this.start = 0;
    this.end = len;
    return true;
  }

  private allocArrays(): void {
    const n = this.maxBatch;
    this.offsets = new Uint32Array(n);
    this.capLens = new Uint32Array(n);
    this.wireLens = new Uint32Array(n);
    this.tsSec = new Float64Array(n);
    this.tsNsec = new Uint32Array(n);
    this.linkTypes = new Uint16Array(n);
    this.ifaces = new Uint16Array(n);
    this.fileOffsets = new Float64Array(n);
    this.desc = null;
  }

  private useArrays(m: BatchMemory): void {
    this.offsets = m.offsets;
    this.capLens = m.capLens;
    this.wireLens = m.wireLens;
    this.tsSec = m.tsSec;
    this.tsNsec = m.tsNsec;
    this.linkTypes = m.linkTypes;
    this.ifaces = m.ifaces;
    this.fileOffsets = m.fileOffsets;
    this.desc = m.desc ?? null;
  }

  private beginBatch(): void {
    if (this.shared) {
      // the previous batch owns the old chunk (or, with reuse, is done with it): move the tail
      if (this.reuse) {
        this.shared = false;
        this.makeRoom();
      } else {
        this.need = 0;
        this.makeRoom(); // a fresh chunk (and, from an arena, fresh columns) because `shared`
        if (!this.arena) this.allocArrays();
      }
    }
    this.count = 0;
    this.describedAll = true;
    this.batchFirst = this.index;
  }

  private takeBatch(): RecordBatch {
    this.shared = true;
    const b: RecordBatch = {
      buf: this.buf,
      count: this.count,
      offsets: this.offsets,
      capLens: this.capLens,
      wireLens: this.wireLens,
      tsSec: this.tsSec,
      tsNsec: this.tsNsec,
      linkTypes: this.linkTypes,
      ifaces: this.ifaces,
      firstIndex: this.batchFirst,
      fileOffsets: this.fileOffsets,
    };
    if (this.desc !== null && this.describedAll) {
      b.desc = this.desc;
      b.described = true;
    }
    this.stats.records += this.count;
    this.stats.bytes = this.base + this.start;
    return b;
  }

  /** Appends one record to the current batch. @remarks per-record path: no allocation. */
  protected push(off: number, cap: number, wire: number, sec: number, nsec: number, lt: number, iface: number, fileOff: number): void {
    this.describedAll = false;
    const i = this.count;
    this.offsets[i] = off;
    this.capLens[i] = cap;
    this.wireLens[i] = wire;
    this.tsSec[i] = sec;
    this.tsNsec[i] = nsec;
    this.linkTypes[i] = lt;
    this.ifaces[i] = iface;
    this.fileOffsets[i] = fileOff;
    if (cap < wire) this.stats.truncatedRecords++;
    if (sec > this.maxSec || (sec === this.maxSec && nsec >= this.maxNsec)) {
      this.maxSec = sec;
      this.maxNsec = nsec;
    } else {
      this.warn('time_regression', 'timestamp earlier than a previous record', fileOff);
    }
    this.count = i + 1;
    this.index++;
  }

  /**
   * Accounts for `n` records a subclass wrote into the batch columns itself (as {@link push} does for one): the
   * records index, the truncated ones, and the latest timestamp (none of them a time regression).
   */
  protected delivered(n: number, truncated: number, maxSec: number, maxNsec: number): void {
    this.index += n;
    this.stats.truncatedRecords += truncated;
    this.maxSec = maxSec;
    this.maxNsec = maxNsec;
  }

  /** Counts a warning and reports it to `onWarning`. Not on the normal path. */
  protected warn(kind: CaptureWarningKind, message: string, fileOff: number): void {
    this.stats.warnings[kind]++;
    if (this.onWarning) this.onWarning({ kind, recordIndex: this.index, byteOffset: fileOff, message });
  }

  /** Records a fatal error at the current record. */
  protected fail(code: CaptureErrorCode, detail: string, fileOff: number): number {
    this.pendingError = new CaptureFormatError(code, detail, this.index, fileOff);
    return ERROR;
  }
}
