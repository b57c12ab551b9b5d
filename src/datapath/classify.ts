/**
 * The per-packet pipeline of one worker: frame → verdict, with conntrack, fragments, the verdict cache and Service
 * NAT, on one pinned policy revision (Snapshot) at a time.
 *
 *   decode ─► non-IP? ──────────────────────────────► FORWARDED (non_ip) │ DROPPED (--non-ip=drop)
 *      │ malformed ─────────────────────────────────► DROPPED (decode status → drop reason)
 *      ▼
 *   non-first fragment ─► fragments table ──────────► the first fragment's verdict │ DROPPED FRAG_NOT_FOUND
 *      ▼
 *   ICMP error ─► conntrack RELATED ────────────────► the flow's verdict │ INVALID: DROPPED if isolated
 *      ▼
 *   conntrack ─► ORIGINAL/TRANSLATED/REPLY ─────────► FORWARDED (established / reply)  [--on-policy-change=reevaluate:
 *      │                                                re-decided when the entry is from an older revision]
 *      ▼ MISS (or mid-flow pickup)
 *   decide (decide.ts: bypasses, DNAT, ipcache, egress, ingress; verdict cache in front of the policy maps)
 *      ▼
 *   ALLOW/BYPASS ─► conntrack entry (with NAT tuple) ─► FORWARDED          DROP ─► DROPPED (no entry)
 *
 * Results go to a {@link VerdictBatch} (struct of arrays, transferable). Time is the packet's (capture clock or wall
 * clock), in nanoseconds.
 * @remarks hot path (classify): no allocation, no closures.
 */
import { DecodeStatus, DropReason, dropReasonOf } from '../core/enums.js';
import { FlowKey } from '../core/flow-key.js';
import { decode } from '../packet/decode.js';
import { Fast4 } from '../packet/fast4.js';
import { decodeInner } from '../packet/inner.js';
import type { DecodeOptions } from '../packet/options.js';
import { defaultDecodeOptions } from '../packet/options.js';
import { Conntrack, CtNat, CtResult, isIcmpError, type ConntrackOptions } from './conntrack.js';
import { Decision, Verdict, Why, decide } from './decide.js';
import { FragResult, FragmentTable } from './fragments.js';
import { LOOKUP_NOT_ISOLATED } from './policy-map.js';
import { SemanticsBits, type Snapshot } from './snapshot.js';
import { VerdictCache } from './verdict-cache.js';
import { CHUNK, CHUNK_BYTES, FastCore, HEADER_BYTES, SHARD_UNKNOWN, type FastCounters } from './wasm-core.js';
import { shardBatch, shardOf } from '../workers/shard.js';

/** Verdict of a packet (Hubble's numbers: FORWARDED 1, DROPPED 2). */
export const PacketVerdict = { FORWARDED: 1, DROPPED: 2 } as const;

/** Why a packet was FORWARDED (DROPPED packets carry a Cilium DropReason number instead). */
export const ForwardReason = {
  ...Why,
  ESTABLISHED: 7,
  REPLY: 8,
  RELATED: 9,
  NON_IP: 10,
  FRAGMENT: 11,
  /** conntrack INVALID (bad flags, ICMP error without a flow) on a direction that is not isolated */
  NOT_ISOLATED_INVALID: 12,
} as const;

export const ForwardReasonName: Record<number, string> = {
  [Why.POLICY]: 'policy',
  [Why.LOOPBACK]: 'loopback',
  [Why.NODE_INGRESS]: 'node_ingress',
  [Why.HAIRPIN]: 'hairpin',
  [Why.ICMPV6_ND]: 'icmpv6_nd',
  [Why.ICMP_ALLOW]: 'icmp_allow',
  7: 'established',
  8: 'reply',
  9: 'related',
  10: 'non_ip',
  11: 'fragment',
  12: 'not_isolated',
};

/**
 * What {@link Classifier.classifyInPlace} reports of a batch for counting its verdicts (replay/tally.ts) without
 * reading every record: the established packets the module classified — `established` FORWARDED with reason
 * ESTABLISHED and no flag, `replies` FORWARDED with reason REPLY and the REPLY flag, `bytes` their wire lengths — and
 * the index of every other record, in batch order, in `list` [0, `listed`). `kept` false: no list was kept (a batch
 * larger than the list), and the counts are 0.
 */
export interface InPlaceTally {
  kept: boolean;
  established: number;
  replies: number;
  bytes: number;
  list: Uint32Array;
  listed: number;
}

/** Bits of VerdictBatch.flags. */
export const PacketFlag = {
  /** a reply of a tracked connection */
  REPLY: 1,
  /** Service NAT applied (backend column valid) */
  NAT: 2,
  /** policy was evaluated for this packet (first packet of a connection, or re-evaluation) */
  NEW: 4,
  /** the capture cut the packet short (caplen < len) */
  TRUNCATED: 8,
  /** the connection was picked up mid-flow */
  PICKUP: 16,
  /** counted as a bypass (not subject to policy) */
  BYPASS: 32,
} as const;

/** Rule reference values in VerdictBatch.egress / .ingress besides a policy-map entry index. */
export const RuleRef = { DENIED: -1, NOT_ISOLATED: -2, NOT_EVALUATED: -3 } as const;

/**
 * Per-packet results of one batch, as columns over one buffer (32 bytes a record), which may be a
 * SharedArrayBuffer that several workers fill at disjoint indices:
 *
 *   egress i32 │ ingress i32 │ srcEp i32 │ dstEp i32 │ srcId u32 │ dstId u32 │ backend i32 │ reason u16 │ verdict u8 │ flags u8
 *   (each column `capacity` long, in this order)
 *
 * egress/ingress hold the policy-map entry that allowed the direction, or a RuleRef value.
 */
export class VerdictBatch {
  count = 0;
  readonly buffer: ArrayBufferLike;
  readonly egress: Int32Array;
  readonly ingress: Int32Array;
  readonly srcEp: Int32Array;
  readonly dstEp: Int32Array;
  readonly srcId: Uint32Array;
  readonly dstId: Uint32Array;
  readonly backend: Int32Array;
  readonly reason: Uint16Array;
  readonly verdict: Uint8Array;
  readonly flags: Uint8Array;

  /** Bytes needed for `capacity` records. */
  static bytes(capacity: number): number {
    return Math.max(1, capacity) * 32;
  }

  /**
   * A batch over `buffer` (e.g. a SharedArrayBuffer from another thread) from byte `byteOffset` (a multiple of 8),
   * or over a new ArrayBuffer.
   */
  constructor(
    readonly capacity: number,
    buffer?: ArrayBufferLike,
    byteOffset = 0,
  ) {
    const c = Math.max(1, capacity);
    const b = buffer ?? new ArrayBuffer(VerdictBatch.bytes(c));
    const o = byteOffset;
    this.buffer = b;
    this.egress = new Int32Array(b, o, c);
    this.ingress = new Int32Array(b, o + 4 * c, c);
    this.srcEp = new Int32Array(b, o + 8 * c, c);
    this.dstEp = new Int32Array(b, o + 12 * c, c);
    this.srcId = new Uint32Array(b, o + 16 * c, c);
    this.dstId = new Uint32Array(b, o + 20 * c, c);
    this.backend = new Int32Array(b, o + 24 * c, c);
    this.reason = new Uint16Array(b, o + 28 * c, c);
    this.verdict = new Uint8Array(b, o + 30 * c, c);
    this.flags = new Uint8Array(b, o + 31 * c, c);
  }

  /** Copies record `from` of `src` to record `to` of this batch. */
  copyRecord(src: VerdictBatch, from: number, to: number): void {
    this.egress[to] = src.egress[from]!;
    this.ingress[to] = src.ingress[from]!;
    this.srcEp[to] = src.srcEp[from]!;
    this.dstEp[to] = src.dstEp[from]!;
    this.srcId[to] = src.srcId[from]!;
    this.dstId[to] = src.dstId[from]!;
    this.backend[to] = src.backend[from]!;
    this.reason[to] = src.reason[from]!;
    this.verdict[to] = src.verdict[from]!;
    this.flags[to] = src.flags[from]!;
  }

  /** Copies records [from, from + n) of `src` to [to, to + n) of this batch. */
  copyRecords(src: VerdictBatch, from: number, n: number, to: number): void {
    this.egress.set(src.egress.subarray(from, from + n), to);
    this.ingress.set(src.ingress.subarray(from, from + n), to);
    this.srcEp.set(src.srcEp.subarray(from, from + n), to);
    this.dstEp.set(src.dstEp.subarray(from, from + n), to);
    this.srcId.set(src.srcId.subarray(from, from + n), to);
    this.dstId.set(src.dstId.subarray(from, from + n), to);
    this.backend.set(src.backend.subarray(from, from + n), to);
    this.reason.set(src.reason.subarray(from, from + n), to);
    this.verdict.set(src.verdict.subarray(from, from + n), to);
    this.flags.set(src.flags.subarray(from, from + n), to);
  }
}

export interface ClassifierOptions {
  conntrack?: ConntrackOptions;
  verdictCacheMax?: number;
  fragMax?: number;
  /** --ct-pickup: a first packet that cannot open a connection (TCP non-SYN): evaluate as observed, either way, or refuse */
  pickup?: 'observed' | 'either' | 'off';
  /** --no-frag-tracking: every fragment is dropped */
  fragTracking?: boolean;
  decode?: DecodeOptions;
}

/** Counters of one classifier (summed over workers by the caller). */
export interface ClassifierCounters {
  packets: number;
  forwarded: number;
  dropped: number;
  policyEvaluations: number;
  established: number;
  replies: number;
  related: number;
  pickups: number;
  reevaluated: number;
  vcHits: number;
  vcMisses: number;
}

const REF_BIAS = 3; // CT rule refs hold (entry | RuleRef) + 3, so 0 means "not evaluated"

/** A classifier's parts built ahead of its snapshot ({@link Classifier.prepare}). */
export interface PreparedClassifier {
  ct: Conntrack;
  vc: VerdictCache;
  frags: FragmentTable;
  core: FastCore | null;
}

export class Classifier {
  readonly key = new FlowKey();
  private readonly inner = new FlowKey();
  private readonly rev = new FlowKey();
  private readonly d = new Decision();
  private readonly nat = new CtNat();
  readonly ct: Conntrack;
  readonly vc: VerdictCache;
  readonly frags: FragmentTable;
  private snap: Snapshot;
  private readonly pickup: number;
  private readonly fragTracking: boolean;
  private readonly decodeOpts: DecodeOptions;
  /** per policy-map entry: packets and bytes it allowed (current snapshot) */
  entryPackets: Float64Array;
  entryBytes: Float64Array;
  readonly counters: ClassifierCounters = {
    packets: 0,
    forwarded: 0,
    dropped: 0,
    policyEvaluations: 0,
    established: 0,
    replies: 0,
    related: 0,
    pickups: 0,
    reevaluated: 0,
    vcHits: 0,
    vcMisses: 0,
  };
  /** drops by reason (Cilium numbers < 256) */
  readonly dropsByReason = new Float64Array(256);

  /**
   * `prepared`: what {@link Classifier.prepare} built ahead with the same `opts` (a worker builds it while it waits for
   * its first batch); built here otherwise.
   */
  constructor(snapshot: Snapshot, opts: ClassifierOptions = {}, prepared: PreparedClassifier = Classifier.prepare(opts)) {
    this.snap = snapshot;
    this.ct = prepared.ct;
    this.vc = prepared.vc;
    this.frags = prepared.frags;
    this.pickup = opts.pickup === 'off' ? 0 : opts.pickup === 'either' ? 2 : 1;
    this.fragTracking = opts.fragTracking ?? true;
    this.decodeOpts = opts.decode ?? defaultDecodeOptions;
    const core = prepared.core;
    if (core !== null) {
      this.core = core;
      this.coreOut = new VerdictBatch(CHUNK, this.core.outBuffer, this.core.outOffset);
      this.core.revision = snapshot.revision;
      this.core.setSnapshot(snapshot, this.pickup);
    } else {
      this.core = null;
      this.coreOut = null;
    }
    [this.entryPackets, this.entryBytes] = this.ruleCounters(snapshot);
  }

  /**
   * The parts of a classifier that do not depend on the snapshot — conntrack tables (`conntrack`: built ahead with
   * `opts.conntrack`), verdict cache, fragment table, the fast path's module instance over the tables (when they are
   * in a WebAssembly memory and checksums are not verified) — for `new Classifier(snapshot, opts, prepared)` with the
   * same `opts`: a replay's worker builds them while the main thread is still loading the manifests (~2-7 ms of its
   * first batch otherwise).
   */
  static prepare(opts: ClassifierOptions = {}, conntrack?: Conntrack): PreparedClassifier {
    const ct = conntrack ?? new Conntrack(opts.conntrack ?? {});
    const arena = ct.arena;
    return {
      ct,
      vc: new VerdictCache(opts.verdictCacheMax ?? 65536),
      frags: new FragmentTable({ capacity: opts.fragMax ?? 8192 }),
      core: arena !== null && !(opts.decode ?? defaultDecodeOptions).verifyChecksums ? new FastCore(arena, ct.tcp, ct.other, ct.timeouts, ForwardReason.ESTABLISHED, ForwardReason.REPLY) : null,
    };
  }

  /** Zeroed per-rule counters for a snapshot: in the fast path's memory when they fit (it counts into them), else plain. */
  private ruleCounters(s: Snapshot): [Float64Array, Float64Array] {
    const n = s.policy.entryRow.length;
    return this.core?.countersFor(n) ?? [new Float64Array(n), new Float64Array(n)];
  }

  /** the WebAssembly fast path over this classifier's conntrack, when its tables are in a WebAssembly memory */
  private readonly core: FastCore | null;
  /** the chunk's records in the module's memory (FastCore's VerdictBatch) */
  private readonly coreOut: VerdictBatch | null;
  /** packets the WebAssembly fast path classified, decision-memo hits included (all are also in {@link counters}) */
  fastPathPackets = 0;
  private readonly fastCounters: FastCounters = {
    regressions: 0,
    packets: 0,
    forwarded: 0,
    established: 0,
    replies: 0,
    hitsTcp: 0,
    hitsOther: 0,
    memoHits: 0,
    dropped: 0,
    evaluations: 0,
    pickups: 0,
    missesTcp: 0,
    missesOther: 0,
    createsTcp: 0,
    createsOther: 0,
    decided: 0,
    memoNew: 0,
  };
  /**
   * packets whose policy drop the fast path's decision memo gave (src/wasm/fast4.ts memoDrop; no verdict-cache
   * lookup)
   */
  dropMemoHits = 0;
  /**
   * first packets of connections the fast path created from the decision memo (src/wasm/fast4.ts memoCreate; no
   * verdict-cache lookup)
   */
  createMemoHits = 0;
  /**
   * first packets the fast path decided itself (src/wasm/fast4.ts decide4: drops and new connections; no
   * verdict-cache lookup)
   */
  decidedInWasm = 0;
  /** set by the general path when the record it wrote is a decision the decision memo may keep */
  private memoCandidate = false;
  /** whether the batch classifyInPlace is classifying keeps a tally list (FastCore.tallyStart) */
  private listing = false;
  /** scratch of the shard computation (classifyRecords with `workers` > 1 and no `shards`) */
  private shardScratch = new Uint8Array(0);
  private readonly shardKey = new FlowKey();
  private readonly shardInner = new FlowKey();

  get snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Swaps in a new revision. Call between batches only: a batch is classified under one revision. Verdict-cache
   * entries of the old revision become misses by their stamp; conntrack entries keep their verdict unless the
   * snapshot says --on-policy-change=reevaluate.
   */
  setSnapshot(s: Snapshot): void {
    this.snap = s;
    [this.entryPackets, this.entryBytes] = this.ruleCounters(s);
    // a memoized decision is the old snapshot's; new entries carry the new revision
    if (this.core !== null) {
      this.core.clearMemo();
      this.core.revision = s.revision;
      this.core.setSnapshot(s, this.pickup);
    }
  }

  /** Classifies every record of a batch (offsets into `buf`) into `out`. */
  classifyBatch(
    buf: Uint8Array,
    count: number,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    out: VerdictBatch,
    outStart = 0,
  ): void {
    this.classifyRecords(buf, count, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out, outStart, null, 0);
    out.count = outStart + count;
  }

  /**
   * Classifies, in order, the records of a batch whose shard is `shard` (every record when `shards` is null) into
   * `out` at `outStart` + their index, leaving the other records of `out` untouched; then sweeps conntrack a little.
   * With `shards` null and `workers` > 1 the classifier computes each record's shard itself (workers/shard.ts
   * shardOf, the common case in WebAssembly) and classifies those of shard `shard`. Returns the number of records
   * classified. The common case goes through the WebAssembly fast path when this classifier has one
   * ({@link fastPath}), else through {@link parseFast}/{@link classifyParsed}; the rest through the general path.
   * Both give the same records, counters and conntrack state (test/datapath/wasm-core.test.ts).
   */
  classifyRecords(
    buf: Uint8Array,
    count: number,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    out: VerdictBatch,
    outStart: number,
    shards: Uint8Array | null,
    shard: number,
    workers = 1,
  ): number {
    let mine: number;
    if (this.core !== null) {
      const self = shards === null && workers > 1 ? workers : 0;
      mine = this.classifyRecordsWasm(this.core, buf, count, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out, outStart, shards, shard, self);
    } else {
      if (shards === null && workers > 1) {
        if (this.shardScratch.length < count) this.shardScratch = new Uint8Array(count);
        shards = this.shardScratch;
        shardBatch(this.snap, this.decodeOpts, buf, offsets, capLens, wireLens, linkTypes, count, workers, shards);
      }
      mine = this.classifyRecordsTs(buf, count, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out, outStart, shards, shard);
    }
    this.ct.sweep(undefined, 64);
    return mine;
  }

  /** True when the common case runs in WebAssembly (wasm-core.ts): conntrack in its memory, checksums not verified. */
  get fastPath(): 'wasm' | 'typescript' {
    return this.core !== null ? 'wasm' : 'typescript';
  }

  private classifyRecordsTs(
    buf: Uint8Array,
    count: number,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    out: VerdictBatch,
    outStart: number,
    shards: Uint8Array | null,
    shard: number,
  ): number {
    let mine = 0;
    for (let i = 0; i < count; i++) {
      if (shards !== null && shards[i] !== shard) continue;
      mine++;
      this.ct.timeNs = tsSec[i]! * 1e9 + tsNsec[i]!;
      const lt = linkTypes[i]!;
      const off = offsets[i]!;
      const cap = capLens[i]!;
      const wire = wireLens[i]!;
      if (this.parseFast(lt, buf, off, cap, wire) && this.classifyParsed(out, outStart + i)) continue;
      this.classify(lt, buf, off, cap, wire, out, outStart + i);
    }
    return mine;
  }

  /**
   * {@link classifyRecordsTs} with the common case in WebAssembly: the batch is copied into the module's memory a
   * chunk (wasm-core.ts CHUNK records) at a time — the record columns, and the frames' bytes (whole when the chunk's
   * frames are small, else each frame's first HEADER_BYTES, all the fast path reads) — and `run` classifies records
   * until one is not the common case; that one takes the general path here (into the chunk's VerdictBatch in the
   * module's memory), and `run` goes on after it. The chunk's records are then copied to `out`.
   */
  private classifyRecordsWasm(
    core: FastCore,
    buf: Uint8Array,
    count: number,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    out: VerdictBatch,
    outStart: number,
    shards: Uint8Array | null,
    shard: number,
    selfShards: number,
  ): number {
    const ct = this.ct;
    const co = this.coreOut!;
    const s = this.snap;
    // the records' shards computed here (each worker computes all, the same way): the module's shardChunk for the
    // common frame, workers/shard.ts shardOf for the rest; it reads the ClusterIP filter from the snapshot copy, and
    // without that copy a snapshot with ClusterIPs is sharded by shardOf alone
    const vips = (s.flags & SemanticsBits.DNAT_OFF) === 0 && s.services.vipMask >= 0;
    const wasmShards = selfShards > 1 && (core.decides || !vips);
    const revision = (s.flags & SemanticsBits.REEVALUATE) !== 0 ? s.revision >>> 0 : -1;
    let mine = 0;
    let lastOwn = -1;
    for (let c0 = 0; c0 < count; c0 += CHUNK) {
      const n = Math.min(CHUNK, count - c0);
      const rangeStart = core.stage(buf, c0, n, offsets, capLens, wireLens, linkTypes, shards, shard);
      let own = core.stagedOwn;
      if (own === 0) continue;
      // (computing its own shards, the classifier learns which records are its own below)
      if (selfShards <= 1) lastOwn = core.stagedLastOwn;
      core.tsSec.set(tsSec.subarray(c0, c0 + n));
      core.tsNsec.set(tsNsec.subarray(c0, c0 + n));
      if (shards !== null) core.shards.set(shards.subarray(c0, c0 + n));
      else if (selfShards > 1) {
        const cs = core.shards;
        if (wasmShards) core.shardChunk(n, rangeStart, selfShards, vips ? 1 : 0);
        else cs.fill(SHARD_UNKNOWN, 0, n);
        own = 0;
        for (let k = 0; k < n; k++) {
          const r = c0 + k;
          if (cs[k] === SHARD_UNKNOWN) cs[k] = shardOf(linkTypes[r]!, buf, offsets[r]!, capLens[r]!, wireLens[r]!, this.shardKey, this.shardInner, selfShards, s, this.decodeOpts);
          if (cs[k] === shard) {
            own++;
            lastOwn = r;
          }
        }
        if (own === 0) continue;
      }
      mine += own;
      core.prefill(n);
      const sh = shards !== null || selfShards > 1 ? shard : -1;
      this.runFast(core, 0, n, rangeStart, sh, revision, c0, buf, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, co);
      // the chunk's shard column (given or computed) holds each record's shard by now
      if (sh < 0) out.copyRecords(co, 0, n, outStart + c0);
      else for (let k = 0; k < n; k++) if (core.shards[k] === shard) out.copyRecord(co, k, outStart + c0 + k);
    }
    // as the TypeScript loop leaves it: the time of the last record classified
    if (lastOwn >= 0) ct.timeNs = tsSec[lastOwn]! * 1e9 + tsNsec[lastOwn]!;
    this.foldFastCounters(core);
    return mine;
  }

  /**
   * Whether {@link classifyInPlace} can classify a batch held in these views: the fast path is on and they all lie in
   * its memory (as the replay's main thread reads a 1-worker replay's batches, replay/engine.ts).
   */
  inPlace(buf: Uint8Array, offsets: Uint32Array, out: VerdictBatch): boolean {
    const a = this.ct.arena;
    return this.core !== null && a !== null && a.owns(buf.buffer) && a.owns(offsets.buffer) && a.owns(out.buffer);
  }

  /**
   * {@link classifyRecords} of a whole batch (no shards) whose bytes, columns and verdicts lie in the fast path's
   * memory ({@link inPlace}): the module reads the records where they are and writes their verdicts into `out`
   * [0, count) itself — no staging of the records, no copy of the verdicts out. The records the module declines
   * take the general path, into `out` too. The same records, counters and conntrack state as classifyRecords
   * (test/datapath/wasm-core.test.ts). With `desc`, the batch's descriptors (wasm-core.ts Describer, written by
   * another thread for exactly these views): the module reads them instead of parsing the frames.
   */
  classifyInPlace(
    buf: Uint8Array,
    count: number,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    out: VerdictBatch,
    tally?: InPlaceTally,
    desc?: Uint32Array,
  ): number {
    const core = this.core;
    if (core === null || count > out.capacity) throw new Error(`classifyInPlace: ${core === null ? 'no fast path' : `${count} records for ${out.capacity}`}`);
    const ct = this.ct;
    const s = this.snap;
    const revision = (s.flags & SemanticsBits.REEVALUATE) !== 0 ? s.revision >>> 0 : -1;
    // (the counters are folded after every batch: the established and reply counts below are this batch's)
    const listing = tally !== undefined && core.tallyStart(count);
    this.listing = listing;
    core.useBatch(buf, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out, desc);
    try {
      core.prefill(count);
      // CHUNK records a call: the count log holds a chunk's
      for (let c0 = 0; c0 < count; c0 += CHUNK) this.runFast(core, c0, Math.min(count, c0 + CHUNK), 0, -1, revision, 0, buf, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, out);
    } finally {
      core.useChunk();
      if (listing) core.tallyStop();
      this.listing = false;
    }
    if (count > 0) ct.timeNs = tsSec[count - 1]! * 1e9 + tsNsec[count - 1]!;
    const f = this.foldFastCounters(core);
    if (tally !== undefined) {
      tally.kept = listing;
      tally.established = listing ? f.established : 0;
      tally.replies = listing ? f.replies : 0;
      tally.bytes = listing ? core.establishedBytes : 0;
      tally.list = core.tallyList;
      tally.listed = listing ? core.tallyCount : 0;
    }
    this.ct.sweep(undefined, 64);
    return count;
  }

  /**
   * Module records [i, end) through `run`, each record it declines through the general path, into `rec` at the
   * module's index j; the module's record j is the batch's record `base` + j (its columns and bytes in the arrays
   * given). Shard `sh` (-1: all), `rangeStart` and `revision` as `run` takes them.
   */
  private runFast(
    core: FastCore,
    i: number,
    end: number,
    rangeStart: number,
    sh: number,
    revision: number,
    base: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    capLens: Uint32Array,
    wireLens: Uint32Array,
    linkTypes: Uint16Array,
    tsSec: Float64Array,
    tsNsec: Uint32Array,
    rec: VerdictBatch,
  ): void {
    const ct = this.ct;
    while (i < end) {
      core.clock = ct.clockNs;
      const j = core.run(i, end, rangeStart, sh, revision);
      if (core.ticked !== 0) {
        ct.clockNs = core.clock;
        ct.fastHits(core.lastTable, core.lastEntry === 0xffffffff ? -1 : core.lastEntry, core.lastKind);
        core.clearTicked();
      }
      if (core.logCount !== 0) this.countLog(core);
      if (j >= end) return;
      // the record the fast path declined: the general path, on the batch's own bytes
      const r = base + j;
      ct.timeNs = tsSec[r]! * 1e9 + tsNsec[r]!;
      this.memoCandidate = false;
      this.classify(linkTypes[r]!, buf, offsets[r]!, capLens[r]!, wireLens[r]!, rec, j);
      if (this.memoCandidate) this.memoize(core, rec, j);
      if (this.listing) core.tallyAdd(j);
      i = j + 1;
    }
  }

  /** Adds the fast path's counters since the last fold to the classifier's and the conntrack tables', and returns them. */
  private foldFastCounters(core: FastCore): FastCounters {
    const ct = this.ct;
    const f = core.takeCounters(this.fastCounters);
    this.fastPathPackets += f.packets;
    this.dropMemoHits += f.memoHits;
    this.createMemoHits += f.memoNew;
    this.decidedInWasm += f.decided;
    ct.tcp.createdCount += f.createsTcp;
    ct.other.createdCount += f.createsOther;
    this.counters.packets += f.packets;
    this.counters.forwarded += f.forwarded;
    this.counters.established += f.established;
    this.counters.replies += f.replies;
    this.counters.dropped += f.dropped;
    this.counters.policyEvaluations += f.evaluations;
    this.counters.pickups += f.pickups;
    if (f.dropped !== 0) core.takeDrops(this.dropsByReason);
    ct.timeRegressions += f.regressions;
    ct.tcp.lookups += f.hitsTcp + f.missesTcp;
    ct.tcp.hits += f.hitsTcp;
    ct.tcp.misses += f.missesTcp;
    ct.other.lookups += f.hitsOther + f.missesOther;
    ct.other.hits += f.hitsOther;
    ct.other.misses += f.missesOther;
    return f;
  }

  /** Keeps the decision the general path just wrote at record `i` of the chunk in the decision memo. */
  private memoize(core: FastCore, co: VerdictBatch, i: number): void {
    const k = this.key;
    const fp = (4 << 8) | k.proto;
    const ports = ((k.sport & 0xffff) << 16) | (k.dport & 0xffff);
    const cls = k.proto === 6 ? ((k.tcpFlags & 0x12) === 0x02 ? 0 : 1) : 2;
    // address words as int32: a uint32 of 2^31 or more passed to a call V8 did not inline is boxed
    core.memoInsert(fp, cls, k.src3 | 0, k.dst3 | 0, ports, co, i, co.verdict[i]!);
  }

  /** The per-rule counters of the established packets the fast path classified (its count log). */
  private countLog(core: FastCore): void {
    const log = core.log;
    const n = core.logCount;
    for (let k = 0; k < n; k++) {
      const eg = log[3 * k]!;
      const ing = log[3 * k + 1]!;
      const bytes = log[3 * k + 2]!;
      if (eg >= 0) this.count(eg, bytes);
      if (ing >= 0) this.count(ing, bytes);
    }
    core.clearLog();
  }

  /** Classifies one frame; the time is `ct.timeNs` (set by the caller). */
  classify(linkType: number, buf: Uint8Array, off: number, capLen: number, wireLen: number, out: VerdictBatch, i: number): void {
    const st = decode(linkType, buf, off, capLen, wireLen, this.key, this.decodeOpts);
    this.classifyDecoded(st, buf, off, out, i);
  }

  /** the frame last parsed by {@link parseFast} */
  readonly fast = new Fast4();

  /**
   * Parses a frame for {@link classifyParsed}: true when it is the common case (packet/fast4.ts) and
   * `--verify-checksums` is off. Changes nothing else.
   */
  parseFast(linkType: number, buf: Uint8Array, off: number, capLen: number, wireLen: number): boolean {
    return !this.decodeOpts.verifyChecksums && this.fast.parse(linkType, buf, off, capLen, wireLen);
  }

  /**
   * The established-connection fast path, after {@link parseFast} returned true: when the packet belongs to a tracked
   * connection and its conntrack lookup takes no special turn (Conntrack.hit4), it is classified here — the same
   * record, counters and conntrack state as {@link classifyDecoded} gives — and true is returned. Otherwise nothing
   * has changed and the caller decodes the frame and calls {@link classifyDecoded}. {@link key} is not filled.
   * Time is `ct.timeNs`, as for {@link classify}.
   * @remarks hot path: no allocation.
   */
  classifyParsed(out: VerdictBatch, i: number): boolean {
    const f = this.fast;
    const s = this.snap;
    const ct = this.ct;
    const bytes = f.ipLen;
    const slot = ct.hit4(f.proto, f.src, f.dst, f.ports, f.tcpFlags, bytes, (s.flags & SemanticsBits.REEVALUATE) !== 0 ? s.revision >>> 0 : -1);
    if (slot < 0) return false;
    this.counters.packets++;
    this.resetRecord(out, i);
    this.forwarded(out, i, this.established(out, i, slot, ct.dir, bytes));
    return true;
  }

  /** Options the frames must be decoded with before {@link classifyDecoded}. */
  get decodeOptions(): DecodeOptions {
    return this.decodeOpts;
  }

  /**
   * Classifies the frame at `off` already decoded into {@link key} (status `st`) — for callers that decode first
   * (e.g. to pick the frames of their shard) and should not decode twice.
   */
  classifyDecoded(st: number, buf: Uint8Array, off: number, out: VerdictBatch, i: number): void {
    const k = this.key;
    const s = this.snap;
    this.counters.packets++;
    this.resetRecord(out, i);
    if (k.truncated !== 0) out.flags[i] |= PacketFlag.TRUNCATED;
    if (st !== DecodeStatus.OK) {
      if (st === DecodeStatus.NON_IP) {
        if ((s.flags & SemanticsBits.NON_IP_DROP) !== 0) return this.dropped(out, i, DropReason.UNSUPPORTED_L3_PROTOCOL);
        out.flags[i] |= PacketFlag.BYPASS;
        return this.forwarded(out, i, ForwardReason.NON_IP);
      }
      if (st === DecodeStatus.ICMP_INNER_TRUNCATED) return this.invalid(out, i);
      return this.dropped(out, i, dropReasonOf(st) || DropReason.INVALID_PACKET_DROPPED);
    }
    const bytes = k.ipLen;
    // non-first fragments follow the first one
    if (k.frag === 2) {
      if (!this.fragTracking) return this.dropped(out, i, DropReason.IP_FRAGMENTATION_NOT_SUPPORTED);
      if (this.frags.lookup(k) !== FragResult.HIT) return this.dropped(out, i, DropReason.FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND);
      if (this.frags.verdict !== PacketVerdict.FORWARDED) return this.dropped(out, i, DropReason.POLICY_DENIED);
      return this.forwarded(out, i, ForwardReason.FRAGMENT);
    }
    if (k.frag === 1 && !this.fragTracking) return this.dropped(out, i, DropReason.IP_FRAGMENTATION_NOT_SUPPORTED);
    // ICMP errors follow the flow they quote
    if ((k.proto === 1 || k.proto === 58) && isIcmpError(k.family, k.icmpType)) {
      decodeInner(buf, off, k, this.inner);
      const r = this.ct.relatedLookup(k, this.inner);
      if (r === CtResult.RELATED) {
        this.counters.related++;
        out.flags[i] |= this.ct.dir === 1 ? PacketFlag.REPLY : 0;
        return this.forwardedFirstFrag(out, i, ForwardReason.RELATED);
      }
      return this.invalid(out, i);
    }
    // conntrack
    const r = this.ct.lookup(k);
    if (r === CtResult.ORIGINAL || r === CtResult.TRANSLATED || r === CtResult.REPLY) {
      const slot = this.ct.slot;
      const dir = this.ct.dir;
      if ((s.flags & SemanticsBits.REEVALUATE) !== 0 && this.ct.revisionOf(slot) !== s.revision) {
        // E26 reevaluate: decide the connection again, in its original direction
        this.counters.reevaluated++;
        const q = dir === 1 ? this.reversed(k) : k;
        const dd = decide(s, q, this.d, this.vc);
        if (dd.verdict === Verdict.DROP) {
          this.ct.delete(slot);
          this.explainInto(out, i, dd);
          return this.dropped(out, i, dd.reason);
        }
        this.ct.setVerdict(slot, PacketVerdict.FORWARDED, s.revision, dd.egressEntry + REF_BIAS, dd.ingressEntry + REF_BIAS);
      }
      this.ct.update(slot, k, dir, undefined, bytes);
      return this.forwardedFirstFrag(out, i, this.established(out, i, slot, dir, bytes));
    }
    if (r === CtResult.INVALID) return this.invalid(out, i);
    let q: FlowKey = k;
    let reversed = false;
    if (r === CtResult.MISS_MIDFLOW) {
      if (this.pickup === 0) return this.invalid(out, i);
      out.flags[i] |= PacketFlag.PICKUP;
      this.counters.pickups++;
    }
    // a new connection: the policy decision
    this.counters.policyEvaluations++;
    out.flags[i] |= PacketFlag.NEW;
    let dd = decide(s, q, this.d, this.vc);
    if (dd.verdict === Verdict.DROP && r === CtResult.MISS_MIDFLOW && this.pickup === 2) {
      // --ct-pickup=either: the capture may have started with the server's side of the connection
      q = this.reversed(k);
      const back = decide(s, q, this.d, this.vc);
      if (back.verdict !== Verdict.DROP) {
        dd = back;
        reversed = true;
      } else dd = decide(s, k, this.d, this.vc);
    }
    this.explainInto(out, i, dd);
    // the decision memo (src/wasm/fast4.ts memoFind) may give this decision to the next first packets of the same
    // source, destination, protocol, destination port and class: only when the record depends on nothing else (IPv4
    // TCP/UDP, whole, unfragmented, one decision in the packet's direction)
    const memoizable = k.family === 4 && (k.proto === 6 || k.proto === 17) && k.frag === 0 && k.truncated === 0 && k.innerFamily === 0 && !reversed;
    if (dd.verdict === Verdict.DROP) {
      this.memoCandidate = memoizable && (r === CtResult.MISS || this.pickup === 1);
      return this.dropped(out, i, dd.reason);
    }
    // an allowed connection, which the fast path creates from the memo: only a bare SYN or UDP, and without NAT
    this.memoCandidate = memoizable && r === CtResult.MISS && dd.backend < 0;
    let nat: CtNat | null = null;
    if (dd.backend >= 0 && !reversed) {
      nat = this.nat;
      nat.setDnat(dd.dst0 | 0, dd.dst1 | 0, dd.dst2 | 0, dd.dst3 | 0, dd.dport);
      out.flags[i] |= PacketFlag.NAT;
    }
    if (dd.verdict === Verdict.BYPASS) out.flags[i] |= PacketFlag.BYPASS;
    if (!(k.proto === 58 && dd.reason === Why.ICMPV6_ND)) {
      this.ct.create(k, undefined, PacketVerdict.FORWARDED, s.revision, dd.egressEntry + REF_BIAS, dd.ingressEntry + REF_BIAS, nat, reversed);
    }
    if (reversed) out.flags[i] |= PacketFlag.REPLY;
    if (dd.egressEntry >= 0) this.count(dd.egressEntry, bytes);
    if (dd.ingressEntry >= 0) this.count(dd.ingressEntry, bytes);
    return this.forwardedFirstFrag(out, i, dd.reason);
  }

  /** A record before classification: no rule, endpoint, identity or backend yet. */
  private resetRecord(out: VerdictBatch, i: number): void {
    out.flags[i] = 0;
    out.egress[i] = RuleRef.NOT_EVALUATED;
    out.ingress[i] = RuleRef.NOT_EVALUATED;
    out.srcEp[i] = 0;
    out.dstEp[i] = 0;
    out.srcId[i] = 0;
    out.dstId[i] = 0;
    out.backend[i] = -1;
  }

  /**
   * A packet of a tracked connection (conntrack entry `slot`, already updated): the entry's rules, the reply flag and
   * the counters into record i; returns the forward reason (REPLY or ESTABLISHED).
   */
  private established(out: VerdictBatch, i: number, slot: number, dir: number, bytes: number): number {
    const eg = this.ct.ruleRef(slot, 0) - REF_BIAS;
    const ing = this.ct.ruleRef(slot, 1) - REF_BIAS;
    out.egress[i] = eg;
    out.ingress[i] = ing;
    if (dir === 1) {
      out.flags[i] |= PacketFlag.REPLY;
      this.counters.replies++;
      return ForwardReason.REPLY;
    }
    this.counters.established++;
    if (eg >= 0) this.count(eg, bytes);
    if (ing >= 0) this.count(ing, bytes);
    return ForwardReason.ESTABLISHED;
  }

  private count(entry: number, bytes: number): void {
    this.entryPackets[entry]! += 1;
    this.entryBytes[entry]! += bytes;
  }

  private explainInto(out: VerdictBatch, i: number, dd: Decision): void {
    out.egress[i] = dd.egressEntry;
    out.ingress[i] = dd.ingressEntry;
    out.srcEp[i] = dd.srcEndpoint;
    out.dstEp[i] = dd.dstEndpoint;
    out.srcId[i] = dd.srcIdentity;
    out.dstId[i] = dd.dstIdentity;
    out.backend[i] = dd.backend;
  }

  /** The packet as its reverse direction (for re-deciding a reply's connection), into a scratch key. */
  private reversed(k: FlowKey): FlowKey {
    const r = this.rev;
    r.copyFrom(k);
    r.src0 = k.dst0;
    r.src1 = k.dst1;
    r.src2 = k.dst2;
    r.src3 = k.dst3;
    r.dst0 = k.src0;
    r.dst1 = k.src1;
    r.dst2 = k.src2;
    r.dst3 = k.src3;
    r.sport = k.dport;
    r.dport = k.sport;
    return r;
  }

  /** conntrack INVALID: dropped when the direction it would need is isolated, else forwarded. */
  private invalid(out: VerdictBatch, i: number): void {
    const k = this.key;
    const s = this.snap;
    if (k.family !== 0) {
      const sv = s.ipcache.lookup(k.family, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0);
      const dv = s.ipcache.lookup(k.family, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0);
      const se = s.ipEndpoint[sv]!;
      const de = s.ipEndpoint[dv]!;
      out.srcEp[i] = se;
      out.dstEp[i] = de;
      out.srcId[i] = s.ipIdentity[sv]!;
      out.dstId[i] = s.ipIdentity[dv]!;
      const iso = s.policy.isolated;
      if ((se !== 0 && (iso[se]! & 2) !== 0) || (de !== 0 && (iso[de]! & 1) !== 0)) {
        return this.dropped(out, i, DropReason.CT_TRUNCATED_OR_INVALID_HEADER);
      }
    }
    out.egress[i] = RuleRef.NOT_ISOLATED;
    out.ingress[i] = RuleRef.NOT_ISOLATED;
    this.forwarded(out, i, ForwardReason.NOT_ISOLATED_INVALID);
  }

  private forwardedFirstFrag(out: VerdictBatch, i: number, reason: number): void {
    if (this.key.frag === 1) this.frags.insertFirst(this.key, undefined, PacketVerdict.FORWARDED, this.ct.slot, 0);
    this.forwarded(out, i, reason);
  }

  private forwarded(out: VerdictBatch, i: number, reason: number): void {
    out.verdict[i] = PacketVerdict.FORWARDED;
    out.reason[i] = reason;
    this.counters.forwarded++;
  }

  private dropped(out: VerdictBatch, i: number, reason: number): void {
    if (this.key.frag === 1) this.frags.insertFirst(this.key, undefined, PacketVerdict.DROPPED, -1, 0);
    out.verdict[i] = PacketVerdict.DROPPED;
    out.reason[i] = reason;
    this.counters.dropped++;
    this.dropsByReason[reason & 255]! += 1;
  }
}

export { LOOKUP_NOT_ISOLATED };
