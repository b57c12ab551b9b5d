/**
 * The WebAssembly fast path (src/wasm/fast4.ts, built into dist/wasm/fast4.wasm) and the memory it shares with the
 * conntrack tables.
 *
 *   Conntrack ── Arena over one WebAssembly.Memory ──┬── CtTable arrays (index, tuples, numbers, …) of both tables
 *                                                    ├── the timeout table
 *                                                    └── FAST_SCRATCH_BYTES for the FastCore below
 *   Classifier ── FastCore: the instance + its chunk buffers (record columns, bytes, a VerdictBatch, state, log)
 *                 and the decision memo (the general path's decisions for IPv4 TCP/UDP first packets, given again
 *                 to the next first packets from the same source to the same destination and port)
 *
 * Why: the established-connection path is most packets of a replay; in TypeScript it costs ~200 ns a packet (V8's
 * code around a handful of memory accesses), in WebAssembly ~60. Both sides use the same tables, so the TypeScript
 * general path and the WebAssembly loop hand packets to each other in capture order with no copying of state.
 *
 * `KPF_WASM=0` (or ConntrackOptions.wasm = false) keeps everything in TypeScript (plain typed arrays): the A/B
 * baseline, and the reference the equivalence tests compare with.
 */
import { readFileSync } from 'node:fs';
import { packageFile } from '../core/bundle.js';
import { KpfError } from '../core/errors.js';
import { fmix32i, mix32i } from '../core/hash.js';
import type { Snapshot } from './snapshot.js';

const WASM_FILE = packageFile(import.meta.url, 'dist/wasm/fast4.wasm');

let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled module (once per thread), or null when KPF_WASM=0. A missing build is an error, not a silent slow
 * path: `npm ci` / `npm run build` build it.
 */
export function fastModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  if (process.env.KPF_WASM === '0') return (compiled = null);
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM_FILE);
  } catch {
    throw new KpfError('KPF_ERR_INTERNAL', `the WebAssembly fast path ${WASM_FILE.pathname} is missing: run npm run build (or set KPF_WASM=0)`);
  }
  return (compiled = new WebAssembly.Module(bytes));
}

/**
 * Bump allocator of 64-byte-aligned regions in a WebAssembly.Memory (never grown: growing would detach every view).
 * The memory is shared (its buffer a SharedArrayBuffer), so that another thread can read batches into it (the
 * replay's main thread, for a worker's module: replay/engine.ts); {@link owns} tells a view into it from a view into
 * any other memory.
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly buffer: SharedArrayBuffer;
  /** the arena's identity: two random words at byte ID_AT */
  private readonly id: Uint32Array;
  private top = 1024;

  /** Largest memory an Arena is made for; beyond it the tables stay plain typed arrays (TypeScript path). */
  static readonly MAX_BYTES = 2 ** 31;
  /** where the identity words are: below 1024, which the module leaves alone (it has no data of its own) */
  private static readonly ID_AT = 960;

  /**
   * A new memory with room for `bytes` of allocations; or, given `over`, the arena another thread made and has
   * allocated `over.top` bytes of (its memory, identity and all: see {@link over}).
   */
  constructor(bytes: number, over?: { memory: WebAssembly.Memory; top: number }) {
    if (over !== undefined) {
      this.memory = over.memory;
      this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
      this.id = new Uint32Array(this.buffer, Arena.ID_AT, 2);
      if (!(this.buffer instanceof SharedArrayBuffer) || over.top < this.top || over.top % 64 !== 0 || over.top + bytes > this.buffer.byteLength) {
        throw new RangeError(`arena: ${bytes} bytes from ${over.top} do not fit a memory of ${this.buffer.byteLength}`);
      }
      this.top = over.top;
      return;
    }
    const pages = Math.ceil((bytes + 1024) / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.id = new Uint32Array(this.buffer, Arena.ID_AT, 2);
    // Math.random, not crypto.getRandomValues: the words only have to differ between arenas (V8 seeds each thread's
    // generator at random), and the first use of the Web Crypto API loads its modules, ~2.5 ms of a replay worker's
    // start-up, before its first batch
    this.id[0] = Math.random() * 2 ** 32;
    this.id[1] = Math.random() * 2 ** 32;
  }

  /**
   * The rest of an arena that another thread made (`memory`, with `top` bytes allocated there, a multiple of 64),
   * with room left for `bytes` more: its identity words stay as they are. A replay's main thread lays out a worker's
   * batch regions in a memory it makes, and the worker's tables take the rest (replay/slot-layout.ts planRegions).
   */
  static over(memory: WebAssembly.Memory, top: number, bytes: number): Arena {
    return new Arena(bytes, { memory, top });
  }

  /** Whether `buffer` is this arena's memory (e.g. the buffer of a view received from another thread). */
  owns(buffer: ArrayBufferLike): boolean {
    return Arena.sameIdentity(buffer, this.buffer);
  }

  /** Whether `buffer` is the memory of the arena over `own`: the same object, or its size and identity words. */
  static sameIdentity(buffer: ArrayBufferLike, own: SharedArrayBuffer): boolean {
    if (buffer === own) return true;
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== own.byteLength || own.byteLength < Arena.ID_AT + 8) return false;
    const a = new Uint32Array(buffer, Arena.ID_AT, 2);
    const b = new Uint32Array(own, Arena.ID_AT, 2);
    return a[0] === b[0] && a[1] === b[1];
  }

  /** Bytes an allocation of `bytes` takes (its rounding included). */
  static size(bytes: number): number {
    return (Math.max(bytes, 1) + 63) & ~63;
  }

  /** Bytes allocated so far (from address 0: the module's own first 1024 bytes count). */
  get used(): number {
    return this.top;
  }

  /** Byte offset of a new zero-filled region. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top += Arena.size(bytes);
    if (this.top > this.buffer.byteLength) throw new RangeError(`arena: ${this.top} bytes needed, ${this.buffer.byteLength} reserved`);
    return at;
  }

  int32(n: number): Int32Array {
    return new Int32Array(this.buffer, this.alloc(4 * n), n);
  }
  uint32(n: number): Uint32Array {
    return new Uint32Array(this.buffer, this.alloc(4 * n), n);
  }
  uint16(n: number): Uint16Array {
    return new Uint16Array(this.buffer, this.alloc(2 * n), n);
  }
  uint8(n: number): Uint8Array {
    return new Uint8Array(this.buffer, this.alloc(n), n);
  }
  float64(n: number): Float64Array {
    return new Float64Array(this.buffer, this.alloc(8 * n), n);
  }
}

/** FastCore.shardChunk's value for a record it leaves to workers/shard.ts shardOf (src/wasm/fast4.ts) */
export const SHARD_UNKNOWN = 255;

/**
 * Writes a zero into every 4 KB page of `a` (zero-filled), so that each page is first touched by a write. For tables
 * read at random before they are written (the conntrack index, the decision memo): a page first read maps the shared
 * zero page, and the write that follows replaces it and must flush every CPU's TLB (an inter-processor interrupt,
 * ~10 µs on a VM), once per page; written first, it costs one plain fault.
 */
export function prefaultPages(a: ArrayBufferView): void {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < b.length; i += 4096) b[i] = 0;
}

/** `run` calls of {@link FastCore.warmUp} (each over the chunk's CHUNK records, all skipped) */
const WARM_UP_CALLS = 8;

/** Records per chunk: a batch is copied into the module's memory and classified this many records at a time. */
export const CHUNK = 4096;
/** Bytes of the chunk's frames copied whole (small frames); larger chunks copy each frame's first HEADER_BYTES. */
export const CHUNK_BYTES = 1 << 20;
/** Every header byte the fast path reads: Ethernet 14 + IPv4 20 + TCP flags at 13 (UDP length at 4–5). */
export const HEADER_BYTES = 48;
const DESC_BYTES = 256;
const STATE_BYTES = 128;
/** slots of the decision memo (src/wasm/fast4.ts memoFind), 64 bytes each */
export const MEMO_SLOTS = 32768;
const LOG_BYTES = CHUNK * 12;
/** VerdictBatch.bytes(CHUNK) (datapath/classify.ts: 32 bytes a record) */
const OUT_BYTES = CHUNK * 32;

/**
 * Bytes for the copy of the snapshot's arrays the module decides with (ipcache, policy map, endpoint and node
 * columns, the ClusterIP filter). Only the bytes copied are ever touched; a snapshot that does not fit is decided by
 * the general path alone (a policy map of ~100,000 entries fits).
 */
export const SNAP_BYTES = 16 << 20;
const SNAP_DESC_BYTES = 128;

/**
 * Policy-map entries whose per-rule counters (Classifier.entryPackets / entryBytes) live in the module's memory, so
 * that the module counts the packets it classifies itself; a snapshot with more entries is counted through the log.
 */
export const COUNTER_ENTRIES = 65536;

/** 32-bit words of a record's descriptor (src/wasm/fast4.ts describe) */
export const DESC_WORDS = 4;

/** Records of the largest batch whose tally list the module keeps (FastCore.tallyStart): replay/slot-layout.ts REGION_RECORDS */
export const TALLY_RECORDS = 16384;

/** Bytes of the arena the FastCore takes beside the tables. */
export const FAST_SCRATCH_BYTES = [
  DESC_BYTES,
  STATE_BYTES,
  CHUNK * 4,
  CHUNK * 4,
  CHUNK * 4,
  CHUNK * 2,
  CHUNK * 8,
  CHUNK * 4,
  CHUNK,
  CHUNK_BYTES,
  OUT_BYTES,
  LOG_BYTES,
  MEMO_SLOTS * 64,
  256 * 4,
  SNAP_DESC_BYTES,
  SNAP_BYTES,
  2 * 8 * COUNTER_ENTRIES,
  4 * TALLY_RECORDS,
]
  .map(Arena.size)
  .reduce((a, b) => a + b, 0);

// state block (src/wasm/fast4.ts S_*): f64 word 0 clock; u32 words from 4
const S_REGRESSIONS = 4;
const S_PACKETS = 5;
const S_FORWARDED = 6;
const S_ESTABLISHED = 7;
const S_REPLIES = 8;
const S_HITS_TCP = 9;
const S_HITS_OTHER = 10;
const S_LOG = 11;
const S_LAST_TABLE = 12;
const S_LAST_ENTRY = 13;
const S_LAST_KIND = 14;
const S_TICKED = 15;
const S_MEMO_HITS = 16;
const S_DROPPED = 17;
const S_EVALUATIONS = 18;
const S_PICKUPS = 19;
const S_MISSES_TCP = 20;
const S_MISSES_OTHER = 21;
const S_CREATES_TCP = 22;
const S_CREATES_OTHER = 23;
const S_REVISION = 24;
const S_DECIDED = 25;
const S_MEMO_NEW = 26;
const S_COUNTS = 27;
const S_COUNT_CAP = 28;
const S_TALLY_N = 29;
/** f64 word: the wire lengths of the established packets */
const S_EST_BYTES_F64 = 15;

/** The record columns memoInsert reads (datapath/classify.ts VerdictBatch). */
export interface VerdictBatchLike {
  egress: Int32Array;
  ingress: Int32Array;
  srcEp: Int32Array;
  dstEp: Int32Array;
  srcId: Uint32Array;
  dstId: Uint32Array;
  backend: Int32Array;
  reason: Uint16Array;
  flags: Uint8Array;
}

/** What the FastCore needs of a conntrack table: its arrays (views into the arena) and its index mask. */
export interface FastTable {
  readonly wasmLayout: {
    idx: Int32Array;
    tup: Int32Array;
    fp: Uint16Array;
    kind: Uint8Array;
    state: Uint8Array;
    flags: Uint8Array;
    used: Uint8Array;
    rev: Uint32Array;
    rules: Uint32Array;
    num: Float64Array;
    verdict: Uint8Array;
    recHash: Int32Array;
    free: Int32Array;
    meta: Int32Array;
    capacity: number;
    nRules: number;
  };
  /**
   * How the table's index grows to a number of slots, when the module does it (set by the FastCore over the table:
   * src/wasm/fast4.ts rebuildIndex); unset, the table rehashes its slots itself.
   */
  indexRebuilder: ((slots: number) => void) | null;
}

/** Counters the module kept since the last {@link FastCore.takeCounters}. */
export interface FastCounters {
  regressions: number;
  packets: number;
  forwarded: number;
  established: number;
  replies: number;
  hitsTcp: number;
  hitsOther: number;
  memoHits: number;
  dropped: number;
  evaluations: number;
  pickups: number;
  missesTcp: number;
  missesOther: number;
  /** connections the module created (from the decision memo or its own decision), in each table */
  createsTcp: number;
  createsOther: number;
  /** of `packets`: first packets the module decided itself (drops and new connections) */
  decided: number;
  /** of `packets`: new connections created from the decision memo */
  memoNew: number;
}

/**
 * One instance of the module over a conntrack's arena, with the chunk buffers it reads and writes. Used by
 * datapath/classify.ts; see src/wasm/fast4.ts for what `run` does.
 */
export class FastCore {
  readonly offsets: Uint32Array;
  readonly capLens: Uint32Array;
  readonly wireLens: Uint32Array;
  readonly linkTypes: Uint16Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly shards: Uint8Array;
  readonly bytes: Uint8Array;
  /** the chunk's records (VerdictBatch layout, CHUNK records): buffer and byte offset */
  readonly outBuffer: SharedArrayBuffer;
  readonly outOffset: number;
  /** the count log: (egress, ingress, bytes) per established packet with a rule */
  readonly log: Int32Array;
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  /** the decision memo, as 32-bit words (16 a slot) and as 16- and 8-bit ones for the reason, flags and verdict */
  private readonly memo32: Uint32Array;
  private readonly memo16: Uint16Array;
  private readonly memo8: Uint8Array;
  /** drops by reason of the memo hits since the last takeCounters */
  private readonly drops: Uint32Array;
  /** the snapshot copy: its descriptor (src/wasm/fast4.ts SN_*), where it starts, and its bytes */
  private readonly snapDesc: Uint32Array;
  private readonly snapAt: number;
  private readonly snapBytes: Uint8Array;
  /** the per-rule counters' region: packets (COUNTER_ENTRIES f64), then bytes */
  private readonly countersAt: number;
  /** whether the module decides first packets under the current snapshot (false: it did not fit) */
  decides = false;
  readonly run: (i: number, end: number, rangeStart: number, shard: number, revision: number) => number;
  /**
   * The shards of chunk records [0, n) into `shards` (src/wasm/fast4.ts shardChunk): those of the common frames whose
   * addresses are certainly no ClusterIP (`vips` 0: the snapshot has none, or no Service NAT), SHARD_UNKNOWN for the
   * others.
   */
  readonly shardChunk: (n: number, rangeStart: number, workers: number, vips: number) => void;
  /** Writes the record columns established packets share (not the verdict) into chunk records [0, n), before `run` (src/wasm/fast4.ts). */
  readonly prefill: (n: number) => void;

  constructor(arena: Arena, tcp: FastTable, other: FastTable, timeouts: Float64Array, reasonEstablished: number, reasonReply: number) {
    const mod = fastModule();
    if (mod === null) throw new Error('FastCore without the module');
    const desc = arena.uint32(DESC_BYTES / 4);
    const state = arena.alloc(STATE_BYTES);
    this.f64 = new Float64Array(arena.buffer, state, STATE_BYTES / 8);
    this.u32 = new Uint32Array(arena.buffer, state, STATE_BYTES / 4);
    this.offsets = arena.uint32(CHUNK);
    this.capLens = arena.uint32(CHUNK);
    this.wireLens = arena.uint32(CHUNK);
    this.linkTypes = arena.uint16(CHUNK);
    this.tsSec = arena.float64(CHUNK);
    this.tsNsec = arena.uint32(CHUNK);
    this.shards = arena.uint8(CHUNK);
    this.bytes = arena.uint8(CHUNK_BYTES);
    this.outBuffer = arena.buffer;
    this.outOffset = arena.alloc(OUT_BYTES);
    this.log = arena.int32(LOG_BYTES / 4);
    this.memo32 = arena.uint32(MEMO_SLOTS * 16);
    prefaultPages(this.memo32);
    this.memo16 = new Uint16Array(arena.buffer, this.memo32.byteOffset, MEMO_SLOTS * 32);
    this.memo8 = new Uint8Array(arena.buffer, this.memo32.byteOffset, MEMO_SLOTS * 64);
    this.drops = arena.uint32(256);
    this.snapDesc = arena.uint32(SNAP_DESC_BYTES / 4);
    this.tallyList = arena.uint32(TALLY_RECORDS);
    this.snapAt = arena.alloc(SNAP_BYTES);
    this.snapBytes = new Uint8Array(arena.buffer, this.snapAt, SNAP_BYTES);
    this.countersAt = arena.alloc(2 * 8 * COUNTER_ENTRIES);
    for (const [t, tab] of [tcp, other].entries()) {
      const l = tab.wasmLayout;
      const o = (t * 128) / 4;
      desc[o] = l.idx.byteOffset;
      desc[o + 1] = l.tup.byteOffset;
      desc[o + 2] = l.fp.byteOffset;
      desc[o + 3] = l.kind.byteOffset;
      desc[o + 4] = l.state.byteOffset;
      desc[o + 5] = l.flags.byteOffset;
      desc[o + 6] = l.used.byteOffset;
      desc[o + 7] = l.rev.byteOffset;
      desc[o + 8] = l.rules.byteOffset;
      desc[o + 9] = l.num.byteOffset;
      desc[o + 10] = 0; // unused: the index's mask is in meta (it grows)
      desc[o + 11] = l.nRules;
      desc[o + 12] = l.verdict.byteOffset;
      desc[o + 13] = l.recHash.byteOffset;
      desc[o + 14] = l.free.byteOffset;
      desc[o + 15] = l.meta.byteOffset;
      desc[o + 16] = l.capacity;
      for (const a of [l.idx, l.tup, l.fp, l.kind, l.state, l.flags, l.used, l.rev, l.rules, l.num, l.verdict, l.recHash, l.free, l.meta]) {
        if (a.buffer !== arena.buffer) throw new Error('FastCore: a table array is not in the arena');
      }
    }
    if (timeouts.buffer !== arena.buffer) throw new Error('FastCore: the timeout table is not in the arena');
    const inst = new WebAssembly.Instance(mod, { env: { memory: arena.memory } });
    const x = inst.exports as unknown as {
      setLayout(...a: number[]): void;
      run(i: number, end: number, rangeStart: number, shard: number, revision: number): number;
      shardChunk(n: number, rangeStart: number, workers: number, vips: number): void;
      prefill(n: number): void;
      setInput(offsets: number, capLens: number, wireLens: number, linkTypes: number, tsSec: number, tsNsec: number, bytes: number, bytesLen: number, out: number, records: number): void;
      rebuildIndex(d: number, slots: number): void;
      setTally(at: number): void;
      setDesc(at: number): void;
    };
    x.setLayout(
      desc.byteOffset,
      state,
      timeouts.byteOffset,
      CHUNK,
      this.offsets.byteOffset,
      this.capLens.byteOffset,
      this.wireLens.byteOffset,
      this.linkTypes.byteOffset,
      this.tsSec.byteOffset,
      this.tsNsec.byteOffset,
      this.shards.byteOffset,
      this.bytes.byteOffset,
      this.outOffset,
      this.log.byteOffset,
      reasonEstablished,
      reasonReply,
      this.memo32.byteOffset,
      MEMO_SLOTS,
      this.drops.byteOffset,
      this.snapDesc.byteOffset,
    );
    // the tables' indexes grow in the module (any instance over this memory will do)
    for (const [t, tab] of [tcp, other].entries()) tab.indexRebuilder = (slots: number) => x.rebuildIndex(desc.byteOffset + t * 128, slots);
    this.run = x.run;
    this.shardChunk = x.shardChunk;
    this.prefill = x.prefill;
    this.setInput = x.setInput;
    this.setTally = x.setTally;
    this.setDesc = x.setDesc;
    this.memoryBuffer = arena.buffer;
  }

  private readonly setTally: (at: number) => void;
  /** the tally list ({@link tallyStart}): records by index, the first {@link tallyCount} of them */
  readonly tallyList: Uint32Array;

  /**
   * Starts counting a batch of `records` records for a tally (replay/tally.ts): from here `run` adds the wire length
   * of every established packet it classifies to {@link establishedBytes} (their counts are the counters'
   * `established` and `replies`), and lists every other record it classifies in {@link tallyList}; the caller lists
   * those it declines ({@link tallyAdd}). False (and nothing kept) for a batch larger than the list.
   */
  tallyStart(records: number): boolean {
    this.u32[S_TALLY_N] = 0;
    this.f64[S_EST_BYTES_F64] = 0;
    if (records > TALLY_RECORDS) return false;
    this.setTally(this.tallyList.byteOffset);
    return true;
  }

  /** Lists record j (one the general path classified) after those listed so far. */
  tallyAdd(j: number): void {
    const n = this.u32[S_TALLY_N]!;
    this.tallyList[n] = j;
    this.u32[S_TALLY_N] = n + 1;
  }

  /** Ends the list {@link tallyStart} began: `run` lists no record from here. */
  tallyStop(): void {
    this.setTally(0);
  }

  /** records in {@link tallyList} */
  get tallyCount(): number {
    return this.u32[S_TALLY_N]!;
  }

  /** the wire lengths of the established packets `run` classified since {@link tallyStart} */
  get establishedBytes(): number {
    return this.f64[S_EST_BYTES_F64]!;
  }

  private readonly setInput: (offsets: number, capLens: number, wireLens: number, linkTypes: number, tsSec: number, tsNsec: number, bytes: number, bytesLen: number, out: number, records: number) => void;
  private readonly setDesc: (at: number) => void;
  private readonly memoryBuffer: SharedArrayBuffer;
  /** whether `run` reads a batch in place ({@link useBatch}) rather than the chunk buffers */
  private inPlace = false;

  /**
   * Points `run` at a batch that lies in this memory — its frames' bytes, record columns and VerdictBatch, as the
   * replay's main thread reads them there for a worker (replay/engine.ts) — so that its records are classified where
   * they are: no staging, no copy of the verdicts out. Records are then indexed as in the batch ([0, count), frame
   * offsets relative to `bytes`, `rangeStart` 0); `prefill` and `run` write `out`. With `desc`, the batch's
   * descriptors that {@link Describer.describe} wrote for exactly these views (4 words a record, `run` reads them
   * instead of parsing the frames). {@link useChunk} goes back. Throws when a view is not in this memory.
   */
  useBatch(bytes: Uint8Array, offsets: Uint32Array, capLens: Uint32Array, wireLens: Uint32Array, linkTypes: Uint16Array, tsSec: Float64Array, tsNsec: Uint32Array, out: VerdictBatchLike & { buffer: ArrayBufferLike; capacity: number }, desc?: Uint32Array): void {
    for (const b of [bytes.buffer, offsets.buffer, capLens.buffer, wireLens.buffer, linkTypes.buffer, tsSec.buffer, tsNsec.buffer, out.buffer, desc?.buffer ?? out.buffer]) {
      if (!Arena.sameIdentity(b, this.memoryBuffer)) throw new Error('FastCore.useBatch: a view outside the module memory');
    }
    if (desc !== undefined && desc.length < DESC_WORDS * out.capacity) throw new Error(`FastCore.useBatch: ${desc.length / DESC_WORDS} descriptors for ${out.capacity} records`);
    this.setInput(offsets.byteOffset, capLens.byteOffset, wireLens.byteOffset, linkTypes.byteOffset, tsSec.byteOffset, tsNsec.byteOffset, bytes.byteOffset, bytes.byteLength, out.egress.byteOffset, out.capacity);
    this.setDesc(desc?.byteOffset ?? 0);
    this.inPlace = true;
  }

  /**
   * Has V8 compile `run` with its optimizing compiler before the first batch. WebAssembly starts in V8's baseline
   * compiler, and a function is recompiled (in the background) once it has run enough: for `run` that was during the
   * first batch, on two cores already busy. Here `run` loops over the chunk with every record of another shard, which
   * it skips untouched (it reads only their shard column: no table, counter or record changes), enough times to spend
   * that budget (~0.5 ms), while the replay's main thread is still loading the manifests; the worker's first batch
   * went from ~9 to ~7 ms (medians of 10, alternating).
   */
  warmUp(): void {
    this.useChunk();
    this.shards.fill(0);
    for (let k = 0; k < WARM_UP_CALLS; k++) this.run(0, CHUNK, 0, 1, -1);
  }

  /** Points `run` back at the chunk buffers {@link stage} fills (after {@link useBatch}). */
  useChunk(): void {
    if (!this.inPlace) return;
    this.setDesc(0);
    this.setInput(this.offsets.byteOffset, this.capLens.byteOffset, this.wireLens.byteOffset, this.linkTypes.byteOffset, this.tsSec.byteOffset, this.tsNsec.byteOffset, this.bytes.byteOffset, 0xffffffff, this.outOffset, CHUNK);
    this.inPlace = false;
  }

  /**
   * Per-rule counters for a snapshot of `entries` policy-map entries, in the module's memory, zeroed: the packets and
   * the bytes of each entry (the module counts the packets it classifies into them; so does the caller). Null when
   * they do not fit: the module then logs its counts for the caller ({@link log}).
   */
  countersFor(entries: number): [Float64Array, Float64Array] | null {
    if (entries > COUNTER_ENTRIES) {
      this.u32[S_COUNTS] = 0;
      return null;
    }
    const buf = this.outBuffer;
    const packets = new Float64Array(buf, this.countersAt, entries);
    const bytes = new Float64Array(buf, this.countersAt + 8 * COUNTER_ENTRIES, entries);
    packets.fill(0);
    bytes.fill(0);
    this.u32[S_COUNTS] = this.countersAt;
    this.u32[S_COUNT_CAP] = COUNTER_ENTRIES;
    return [packets, bytes];
  }

  /** Of the records {@link stage} copied: how many are of the shard asked for, and the batch index of the last one. */
  stagedOwn = 0;
  stagedLastOwn = -1;

  /**
   * Copies records [c0, c0 + n) of a batch into the chunk buffers, for `run` and `shardChunk`: their columns, and the
   * frames' bytes — whole when the chunk's frames lie within CHUNK_BYTES, else each frame's first HEADER_BYTES (all
   * the module reads). With `shards`, only the frames of records of shard `shard` are copied (and counted in
   * {@link stagedOwn}); a frame outside `buf` gets capLen 0, which the module declines. Returns the batch offset of
   * the chunk's first byte (`rangeStart` of run and shardChunk).
   */
  stage(buf: Uint8Array, c0: number, n: number, offsets: Uint32Array, capLens: Uint32Array, wireLens: Uint32Array, linkTypes: Uint16Array, shards: Uint8Array | null, shard: number): number {
    const blen = buf.length;
    const caps = this.capLens;
    let lo = blen;
    let hi = 0;
    let own = 0;
    let lastOwn = -1;
    caps.set(capLens.subarray(c0, c0 + n));
    for (let k = 0; k < n; k++) {
      const r = c0 + k;
      if (shards !== null && shards[r] !== shard) continue;
      own++;
      lastOwn = r;
      const o = offsets[r]!;
      const e = o + capLens[r]!;
      if (e > blen) caps[k] = 0;
      else {
        if (o < lo) lo = o;
        if (e > hi) hi = e;
      }
    }
    this.stagedOwn = own;
    this.stagedLastOwn = lastOwn;
    if (own === 0) return 0;
    let rangeStart = 0;
    if (hi <= lo) {
      // no frame lies in the buffer: nothing for the module to read
    } else if (hi - lo <= CHUNK_BYTES) {
      this.bytes.set(buf.subarray(lo, hi));
      this.offsets.set(offsets.subarray(c0, c0 + n));
      rangeStart = lo;
    } else {
      const bytes = this.bytes;
      for (let k = 0; k < n; k++) {
        const r = c0 + k;
        this.offsets[k] = k * HEADER_BYTES;
        if (shards !== null && shards[r] !== shard) continue;
        const o = offsets[r]!;
        const m = Math.min(caps[k]!, HEADER_BYTES);
        const at = k * HEADER_BYTES;
        for (let j = 0; j < m; j++) bytes[at + j] = buf[o + j]!;
      }
    }
    this.wireLens.set(wireLens.subarray(c0, c0 + n));
    this.linkTypes.set(linkTypes.subarray(c0, c0 + n));
    return rangeStart;
  }

  get clock(): number {
    return this.f64[0]!;
  }
  set clock(v: number) {
    this.f64[0] = v;
  }
  /** 1 when the module classified a record since the flag was cleared */
  get ticked(): number {
    return this.u32[S_TICKED]!;
  }
  clearTicked(): void {
    this.u32[S_TICKED] = 0;
  }
  /** table (0 TCP, 1 other), entry and index-record kind of the last record the module classified */
  get lastTable(): number {
    return this.u32[S_LAST_TABLE]!;
  }
  get lastEntry(): number {
    return this.u32[S_LAST_ENTRY]!;
  }
  get lastKind(): number {
    return this.u32[S_LAST_KIND]!;
  }
  /** entries in the count log */
  get logCount(): number {
    return this.u32[S_LOG]!;
  }
  clearLog(): void {
    this.u32[S_LOG] = 0;
  }

  /** The counters since the last call, reset to 0. */
  takeCounters(into: FastCounters): FastCounters {
    const u = this.u32;
    into.regressions = u[S_REGRESSIONS]!;
    into.packets = u[S_PACKETS]!;
    into.forwarded = u[S_FORWARDED]!;
    into.established = u[S_ESTABLISHED]!;
    into.replies = u[S_REPLIES]!;
    into.hitsTcp = u[S_HITS_TCP]!;
    into.hitsOther = u[S_HITS_OTHER]!;
    into.memoHits = u[S_MEMO_HITS]!;
    into.dropped = u[S_DROPPED]!;
    into.evaluations = u[S_EVALUATIONS]!;
    into.pickups = u[S_PICKUPS]!;
    into.missesTcp = u[S_MISSES_TCP]!;
    into.missesOther = u[S_MISSES_OTHER]!;
    into.createsTcp = u[S_CREATES_TCP]!;
    into.createsOther = u[S_CREATES_OTHER]!;
    into.decided = u[S_DECIDED]!;
    into.memoNew = u[S_MEMO_NEW]!;
    for (let k = S_REGRESSIONS; k <= S_HITS_OTHER; k++) u[k] = 0;
    for (let k = S_MEMO_HITS; k <= S_CREATES_OTHER; k++) u[k] = 0;
    u[S_DECIDED] = 0;
    u[S_MEMO_NEW] = 0;
    return into;
  }

  /**
   * Copies what the module decides with out of a snapshot (the arrays datapath/decide.ts reads for an IPv4 TCP/UDP
   * first packet; Service frontends stay with the general path, the module only reads the ClusterIP filter) and the
   * --ct-pickup mode (0 off, 1 on, 2 either). A snapshot larger than SNAP_BYTES is not copied: the module then leaves
   * first packets to the memo and the general path.
   */
  setSnapshot(s: Snapshot, pickup: number): void {
    const pm = s.policy;
    const parts: ArrayBufferView[] = [
      new Uint8Array(s.ipcache.buffer),
      s.ipIdentity,
      s.ipEndpoint,
      s.ipNode,
      s.endpointNode,
      pm.k0,
      pm.k1,
      pm.k2,
      pm.slot,
      pm.maskId,
      pm.maskAny,
      pm.isolated,
      s.services.vipFilter,
    ];
    let need = 0;
    for (const p of parts) need += Arena.size(p.byteLength);
    const d = this.snapDesc;
    d.fill(0);
    this.decides = need <= SNAP_BYTES;
    if (!this.decides) return;
    const at: number[] = [];
    let o = 0;
    for (const p of parts) {
      this.snapBytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
      at.push(this.snapAt + o);
      o += Arena.size(p.byteLength);
    }
    d[1] = s.flags >>> 0;
    d[2] = at[0]!;
    d[3] = at[1]!;
    d[4] = at[2]!;
    d[5] = at[3]!;
    d[6] = at[4]!;
    d[7] = at[5]!;
    d[8] = at[6]!;
    d[9] = at[7]!;
    d[10] = at[8]!;
    d[11] = pm.mask >>> 0;
    d[12] = at[9]!;
    d[13] = at[10]!;
    d[14] = at[11]!;
    d[15] = at[12]!;
    d[16] = s.services.vipMask >= 0 ? 1 : 0;
    d[17] = pickup;
    d[0] = 1;
  }

  /** The snapshot revision the module stamps on the entries it creates. */
  set revision(r: number) {
    this.u32[S_REVISION] = r >>> 0;
  }

  /** Adds the memo hits' drops by reason to `into` and resets them. */
  takeDrops(into: Float64Array): void {
    const d = this.drops;
    for (let r = 0; r < 256; r++) {
      if (d[r] === 0) continue;
      into[r]! += d[r]!;
      d[r] = 0;
    }
  }

  /**
   * Memoizes the general path's decision for a connection's first packet (see src/wasm/fast4.ts memoFind): the
   * packet's IPv4 tuple (`fp` = 4 << 8 | proto, address words and ports word as uint32), its class (0 bare SYN, 1
   * other TCP, 2 UDP) and record `i` of `rec` — a drop, or a new connection allowed without NAT. The key leaves the
   * source port out unless the record has a Service backend (chosen by a hash of the whole tuple). A slot holds one
   * key: a newer decision replaces it.
   */
  memoInsert(fp: number, cls: number, src: number, dst: number, ports: number, rec: VerdictBatchLike, i: number, verdict: number): void {
    const bySport = rec.backend[i]! >= 0;
    const m = (memoHash(fp, cls, src, dst, ports & 0xffff) & (MEMO_SLOTS - 1)) * 16;
    const w = this.memo32;
    w[m] = (fp | (cls << 16) | (bySport ? MEMO_BY_SPORT : 0) | MEMO_VALID) >>> 0;
    w[m + 1] = src >>> 0;
    w[m + 2] = dst >>> 0;
    w[m + 3] = (bySport ? ports : ports & 0xffff) >>> 0;
    w[m + 4] = rec.egress[i]! >>> 0;
    w[m + 5] = rec.ingress[i]! >>> 0;
    w[m + 6] = rec.srcEp[i]! >>> 0;
    w[m + 7] = rec.dstEp[i]! >>> 0;
    w[m + 8] = rec.srcId[i]!;
    w[m + 9] = rec.dstId[i]!;
    w[m + 10] = rec.backend[i]! >>> 0;
    this.memo16[m * 2 + 22] = rec.reason[i]!;
    this.memo8[m * 4 + 46] = rec.flags[i]!;
    this.memo8[m * 4 + 47] = verdict;
  }

  /** Forgets every memoized decision (the snapshot changed). */
  clearMemo(): void {
    this.memo32.fill(0);
  }
}

const MEMO_VALID = 0x80000000;
const MEMO_BY_SPORT = 0x40000000;

/** The decision memo's slot hash of (fp, class, source, destination, destination port) (src/wasm/fast4.ts memoHash). */
export function memoHash(fp: number, cls: number, src: number, dst: number, dport: number): number {
  let h = mix32i(0x6d656d6f, fp | (cls << 16));
  h = mix32i(h, src | 0);
  h = mix32i(h, dst | 0);
  h = mix32i(h, dport);
  return fmix32i(h);
}

/**
 * What a walk of plain classic-pcap records takes ({@link Describer.walkPcap}, sources/reader.ts PcapWalker): the
 * buffer, the bytes [start, end) to walk, the byte order, the batch's count so far and its limit, the snaplen, the
 * fractions' unit, the latest time, the columns, the link type, and where to describe the records (null: nowhere).
 */
export type PcapWalkArgs = [
  buf: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  count: number,
  max: number,
  snaplen: number,
  nanos: boolean,
  maxSec: number,
  maxNsec: number,
  offsets: Uint32Array,
  capLens: Uint32Array,
  wireLens: Uint32Array,
  tsSec: Float64Array,
  tsNsec: Uint32Array,
  linkTypes: Uint16Array,
  linkType: number,
  desc: Uint32Array | null,
];

/**
 * The module's `describe` in a thread other than the one whose module classifies: the replay's main thread of a
 * 1-worker replay, over the worker's module memory, where it has just read and walked a batch (replay/engine.ts). It
 * writes each record's descriptor — the fields `run` would parse from the record's columns and frame, or zeros where
 * `run` would decline the record — into the batch's region, and the worker's `run` reads them there
 * ({@link FastCore.useBatch} with `desc`): the parse moves from the replay's long pole (the worker) to the thread
 * that has the frames in its caches. The instance has no tables: `describe` only reads its input and writes the
 * descriptors.
 */
export class Describer {
  private readonly setInput: (offsets: number, capLens: number, wireLens: number, linkTypes: number, tsSec: number, tsNsec: number, bytes: number, bytesLen: number, out: number, records: number) => void;
  private readonly describeAt: (n: number, rangeStart: number, at: number) => void;
  private readonly buffer: SharedArrayBuffer;

  /** Null when the module is off (KPF_WASM=0). */
  static over(memory: WebAssembly.Memory): Describer | null {
    const mod = fastModule();
    return mod === null ? null : new Describer(mod, memory);
  }

  private constructor(mod: WebAssembly.Module, memory: WebAssembly.Memory) {
    const x = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as {
      setInput(offsets: number, capLens: number, wireLens: number, linkTypes: number, tsSec: number, tsNsec: number, bytes: number, bytesLen: number, out: number, records: number): void;
      describe(n: number, rangeStart: number, at: number): void;
      walkPcap(...a: number[]): number;
      walkEnd(): number;
      walkTruncated(): number;
      walkMaxSec(): number;
      walkMaxNsec(): number;
    };
    this.setInput = x.setInput;
    this.describeAt = x.describe;
    this.walk = x.walkPcap;
    this.walkEnd = x.walkEnd;
    this.walkTruncated = x.walkTruncated;
    this.walkMaxSec = x.walkMaxSec;
    this.walkMaxNsec = x.walkMaxNsec;
    this.buffer = memory.buffer as unknown as SharedArrayBuffer;
  }

  private readonly walk: (...a: number[]) => number;
  /** after {@link walkPcap}: the buffer offset it stopped at, the truncated records, the latest time */
  readonly walkEnd: () => number;
  readonly walkTruncated: () => number;
  readonly walkMaxSec: () => number;
  readonly walkMaxNsec: () => number;

  /**
   * sources/pcap.ts PcapReader.parsePlain's walk in the module (src/wasm/fast4.ts walkPcap): the records of `buf` from
   * `start` (`end` bytes in it) into the columns from index `count`, while they are the plain case and fewer than
   * `max`; returns the new count (the rest in {@link walkEnd} …), or -1 when a view is not in this memory (the caller
   * walks in JavaScript). The interface and file-offset columns are the caller's. With `desc`, the walked records'
   * descriptors too, at their indices ({@link describe}'s).
   */
  walkPcap(...[buf, start, end, le, count, max, snaplen, nanos, maxSec, maxNsec, offsets, capLens, wireLens, tsSec, tsNsec, linkTypes, linkType, desc]: PcapWalkArgs): number {
    const own = this.buffer;
    if (buf.buffer !== own || offsets.buffer !== own || capLens.buffer !== own || wireLens.buffer !== own || tsSec.buffer !== own || tsNsec.buffer !== own || linkTypes.buffer !== own) return -1;
    if (!(end <= buf.length && max <= offsets.length && max <= capLens.length && max <= wireLens.length && max <= tsSec.length && max <= tsNsec.length && max <= linkTypes.length)) return -1;
    const d = desc !== null && desc.buffer === own && desc.length >= DESC_WORDS * max ? desc.byteOffset : 0;
    if (desc !== null && d === 0) return -1;
    return this.walk(buf.byteOffset, start, end, le ? 1 : 0, count, max, snaplen, nanos ? 1 : 0, maxSec, maxNsec, offsets.byteOffset, capLens.byteOffset, wireLens.byteOffset, tsSec.byteOffset, tsNsec.byteOffset, linkTypes.byteOffset, linkType, d);
  }

  /**
   * The descriptors of records [0, n) of a batch (frame offsets relative to `bytes`, as FastCore.useBatch takes
   * them) into `desc` [0, 4n). Throws when a view is not in this memory or `desc` is too short.
   */
  describe(bytes: Uint8Array, offsets: Uint32Array, capLens: Uint32Array, wireLens: Uint32Array, linkTypes: Uint16Array, n: number, desc: Uint32Array): void {
    for (const b of [bytes.buffer, offsets.buffer, capLens.buffer, wireLens.buffer, linkTypes.buffer, desc.buffer]) {
      if (!Arena.sameIdentity(b, this.buffer)) throw new Error('Describer: a view outside the module memory');
    }
    if (n > offsets.length || n > capLens.length || n > wireLens.length || n > linkTypes.length || DESC_WORDS * n > desc.length) throw new Error(`Describer: ${n} records for shorter views`);
    // (the time columns and the records' verdicts are run's: describe reads neither)
    this.setInput(offsets.byteOffset, capLens.byteOffset, wireLens.byteOffset, linkTypes.byteOffset, 0, 0, bytes.byteOffset, bytes.byteLength, 0, n);
    this.describeAt(n, 0, desc.byteOffset);
  }
}
