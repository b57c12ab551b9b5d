/**
 * Connection tracking: bounded, allocation-free tables of connections (runtime.md §2, §3; semantics.md E24–E26).
 *
 *   Conntrack ─┬─ tcp   CtTable  (cap --ct-tcp-max, default 262144)      global slot = local entry
 *              └─ other CtTable  (cap --ct-any-max, default 131072)      global slot = tcpCap + local entry
 *
 *   CtTable (one per protocol group; every array allocated once in the constructor, never grown)
 *
 *     index (open addressing, linear probing, backward-shift delete, load <= 0.5; grows by doubling with the records
 *     it holds, from 4096 slots up to pow2 >= 8 × cap, within a region reserved for the largest size)
 *     ┌──────────────┬────────────┐     ref = entry << 2 | kind   kind 0 ORIGINAL    client → VIP:port
 *     │ ref + 1 i32  │ hash i32    │ ──▶                               1 REPLY       backend:targetPort → client
 *     └──────────────┴────────────┘     0 = empty                     2 TRANSLATED  client → backend:targetPort
 *                                                                     3 UNNAT-REPLY VIP:port → client (reply as
 *                                                                       seen on the client side, reported REPLY)
 *                                                                     (2 and 3 exist only when the entry has NAT;
 *                                                                      without NAT they equal 0 and 1 reversed)
 *     entries (struct of arrays, index = entry)
 *     ┌──────────────────────────────────── tup u32 × 20 ─────────────────────────────────────────────┐
 *     │ orig src0..3 │ orig dst0..3 │ orig ports │ reply src0..3 │ reply dst0..3 │ reply ports │ xlat ports │ unnat ports │
 *     └───────────────────────────────────────────────────────────────────────────────────────────────┘
 *     fp u16 (family << 8 | proto)  kind u8 (L4 machine)  state u8  flags u8  verdict u8  used u8
 *     rev u32  rules u32 × N  num f64 × 8 (one line: expires, lastSeen, packets × 2, bytes × 2, created)  recHash u32 × 4
 *     free list i32 (stack of freed entries; entries never used yet are taken in order after them)
 *
 * Ports word of a tuple: TCP/UDP/SCTP/UDP-Lite/DCCP `sport << 16 | dport`; ICMP/ICMPv6 `id << 16 | type` (the
 * type is part of the key, so only an echo *reply* from dst back to src matches the reply tuple — an echo request
 * B→A never matches A→B's entry, Cilium GHSA-c66w-hq56-4q97); other protocols 0. The TRANSLATED tuple is the reverse
 * of the reply tuple (Linux's definition of a NATed connection) and the UNNAT-REPLY tuple the reverse of the original
 * (a capture on the client's interface sees replies from the ClusterIP, runtime.md §2), each with its own ports word.
 *
 * Memory at the default caps (262144 + 131072 entries, 2 rule refs): about 175 B per entry plus 64 B of index per
 * entry ≈ 94 MB per worker, all in typed arrays allocated up front (outside the V8 heap limit of the worker). The
 * index only uses (and touches) the part its records need: at most 16 B per record, and ≥ 32 KB. An index sized for
 * the capacity spread the live records over 8-16 MB that the caches could not hold (the peers' replay, ~35,000 TCP
 * entries: ~14 % faster a packet with the index sized to them).
 *
 * Time is packet time in ns (Float64; capture or wall clock) given by the caller. The clock is the monotonic max of
 * the times seen by {@link Conntrack.lookup}/{@link Conntrack.relatedLookup}; an earlier time is counted in
 * `timeRegressions` and the clock is used instead. Note: Float64 holds Unix-epoch ns to ~256 ns, ample for timeouts.
 *
 * Expiry: an entry stores its deadline (`expires`, refreshed on every update from the state's timeout); it is removed
 * lazily when a lookup finds it expired, by the incremental {@link Conntrack.sweep} (bounded slots per call), or when
 * the eviction sampler meets it. Never an O(N) stall, but for the index's growth: a doubling rehashes its records
 * (O(records), at most log2(8 × cap / 4096) times in a table's life, and the only allocation after construction).
 *
 * Full table (insertion never fails): a sampler examines up to `evictionSample` (default 16) consecutive entries from a
 * rotating hand and evicts (1) the first expired one, else (2) the least recently seen *non-assured* one (unreplied,
 * handshake, closing), else (3) the least recently seen one. This is "sampled ages" approximate LRU (as in Redis),
 * chosen over a CLOCK bit because it needs no write on the hit path and keeps the expired ▸ non-assured ▸ LRU order
 * of runtime.md §3. Evictions are counted by reason.
 *
 * TCP tracking is flags-only (no sequence windows, like `nf_conntrack_tcp_be_liberal=1`); state names follow Linux.
 *
 * @remarks hot path (lookup, update, track, relatedLookup, create): no allocation, no closures, no strings.
 */
import type { FlowKey } from '../core/flow-key.js';
import { wordsToIP } from '../core/flow-key.js';
import { CtTimeout, ctTimeouts, type CtProfile, type CtTimeouts } from './ct-timeouts.js';
import { tupleHashI } from './flow-hash.js';
import { Arena, FAST_SCRATCH_BYTES, fastModule, prefaultPages, type FastTable } from './wasm-core.js';

/** Result codes of {@link Conntrack.lookup} / {@link Conntrack.relatedLookup}. */
export const CtResult = {
  /** no entry: evaluate policy; create an entry if allowed */
  MISS: 0,
  /** no entry, and the packet cannot open a connection (TCP without a bare SYN, SCTP without INIT): mid-flow pickup is the caller's policy (`--ct-pickup`) */
  MISS_MIDFLOW: 1,
  /** matches the original tuple (request direction, as first seen) */
  ORIGINAL: 2,
  /** matches the translated tuple (request captured after DNAT: client → backend:targetPort) */
  TRANSLATED: 3,
  /** matches the reply tuple (backend → client), or for a NAT entry the un-NATed reply (VIP:port → client) */
  REPLY: 4,
  /** ICMP error whose quoted header matches an entry ({@link Conntrack.relatedLookup} only) */
  RELATED: 5,
  /** invalid: bad TCP flags, out-of-state packet, ICMP error without entry / truncated; see `invalidReason` */
  INVALID: 6,
} as const;
export type CtResult = (typeof CtResult)[keyof typeof CtResult];

const RESULT_NAMES = ['MISS', 'MISS_MIDFLOW', 'ORIGINAL', 'TRANSLATED', 'REPLY', 'RELATED', 'INVALID'];
/** Name of a {@link CtResult}. */
export function ctResultName(r: number): string {
  return RESULT_NAMES[r] ?? `CtResult(${r})`;
}

/** Why a packet was reported INVALID (`Conntrack.invalidReason`). */
export const CtInvalid = {
  NONE: 0,
  /** TCP flag combination never valid (SYN+FIN, null, FIN without ACK, …) */
  TCP_FLAGS: 1,
  /** valid flags but impossible in the entry's state (e.g. a bare SYN from the reply side of an established flow) */
  OUT_OF_STATE: 2,
  /** an ICMP error given to lookup(): it needs relatedLookup() with its inner header */
  ICMP_ERROR: 3,
  /** ICMP error whose quoted header matches no entry */
  RELATED_NO_ENTRY: 4,
  /** ICMP error whose quoted header was truncated or undecodable */
  RELATED_TRUNCATED: 5,
  /** ICMP error not addressed to the sender of the quoted packet */
  RELATED_WRONG_DEST: 6,
} as const;
export type CtInvalid = (typeof CtInvalid)[keyof typeof CtInvalid];

/** Packet direction relative to an entry. */
export const CtDir = { ORIGINAL: 0, REPLY: 1 } as const;
export type CtDir = (typeof CtDir)[keyof typeof CtDir];

/** L4 state machine of an entry. */
export const CtKind = { TCP: 1, UDP: 2, ICMP: 3, SCTP: 4, GENERIC: 5 } as const;
export type CtKind = (typeof CtKind)[keyof typeof CtKind];

/** TCP states (Linux names). */
export const TcpState = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
} as const;
/** UDP and generic states: UNREPLIED until traffic in both directions, then STREAM (assured). */
export const UdpState = { UNREPLIED: 1, STREAM: 2 } as const;
/** ICMP/ICMPv6 query states. */
export const IcmpState = { REQUEST: 1, REPLIED: 2 } as const;
/** SCTP states (Linux names; HEARTBEAT_SENT of multi-homed paths is not modelled). */
export const SctpState = {
  CLOSED: 1,
  COOKIE_WAIT: 2,
  COOKIE_ECHOED: 3,
  ESTABLISHED: 4,
  SHUTDOWN_SENT: 5,
  SHUTDOWN_RECD: 6,
  SHUTDOWN_ACK_SENT: 7,
} as const;

const TCP_STATE_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE'];
const SCTP_STATE_NAMES = ['NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT'];

/** Entry flag bits. */
export const CtFlag = {
  /** TCP after the handshake, UDP/generic after both directions, SCTP established */
  ASSURED: 1,
  /** a packet in the reply direction was seen */
  SEEN_REPLY: 2,
  /** reply tuple is not the reverse of the original (DNAT/SNAT): a TRANSLATED index record exists */
  NAT: 4,
  /** created from a packet that cannot open a connection (mid-flow pickup) */
  PICKUP: 8,
  /** the first FIN came from the reply direction */
  CLOSER_REPLY: 16,
} as const;

/** Eviction reasons (index into `evictions`). */
export const CtEvict = { EXPIRED: 0, NON_ASSURED: 1, LRU: 2 } as const;

/** Address/port translation of a new entry, filled by the caller and reused (DNAT of a Service, optionally SNAT). */
export class CtNat {
  /** 1 when the destination is translated (ClusterIP:port → backend:targetPort) */
  dnat = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  dport = 0;
  /** 1 when the source is translated (masquerade) */
  snat = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  sport = 0;
  /** Sets a DNAT to an IPv4 word / IPv6 words and port; returns this. */
  setDnat(d0: number, d1: number, d2: number, d3: number, dport: number): this {
    this.dnat = 1;
    this.dst0 = d0;
    this.dst1 = d1;
    this.dst2 = d2;
    this.dst3 = d3;
    this.dport = dport;
    return this;
  }
  clear(): void {
    this.dnat = this.snat = 0;
  }
}

/** Options of a {@link Conntrack}. */
export interface ConntrackOptions {
  /** entries in the TCP table (default 262144, `--ct-tcp-max`) */
  tcpMax?: number;
  /** entries in the table of every other protocol (default 131072, `--ct-any-max`) */
  anyMax?: number;
  /** timeout profile (default linux) */
  profile?: CtProfile;
  /** explicit timeout table (ns), overrides `profile` */
  timeouts?: CtTimeouts;
  /** rule references kept per entry (default 2: egress rule, ingress rule) */
  ruleRefs?: number;
  /** entries examined per eviction (default 16) */
  evictionSample?: number;
  /**
   * false: plain typed arrays, so the WebAssembly fast path is not used (default true unless KPF_WASM=0; see
   * wasm-core.ts)
   */
  wasm?: boolean;
}

const STRIDE = 20;
/** Float64 words per entry in CtTable.num (one cache line) and their offsets */
const NUM = 8;
/** CtTable.meta words (read and written by the fast path: src/wasm/fast4.ts MT_*) */
const M_FREE_TOP = 0;
const M_FRESH = 1;
const M_ENTRIES = 2;
/** the index's current mask (slots − 1) and the records it holds */
const M_MASK = 3;
const M_RECORDS = 4;
const META_WORDS = 8;
/** slots of a new table's index (64 KB); it doubles from there as its records need */
const IDX_MIN_SLOTS = 4096;
/**
 * int32 words per index slot: the record's reference + 1 (0: an empty slot) with {@link SLOT_INLINE}, then its
 * tuple's source and destination address words (the last word of each) and its ports word
 */
const SLOT_WORDS = 4;
/**
 * Slot flag of a record whose words above are its whole tuple: an IPv4 TCP or UDP entry (the table then says which
 * protocol: TCP entries are in the tcp table, UDP ones in the other). The fast path (src/wasm/fast4.ts probe) takes
 * such a slot's record without reading the entry's tuple; a reference + 1 is below 2^29 (checkCapacity).
 */
const SLOT_INLINE = 1 << 31;
const SLOT_REF = 0x7fffffff;
/** the fingerprints (family << 8 | protocol) of inline records */
const FP_TCP4 = (4 << 8) | 6;
const FP_UDP4 = (4 << 8) | 17;
/** {@link Conntrack.fastHits} kind of an entry the fast path created */
export const FAST_CREATED = 4;
const N_EXPIRES = 0;
const N_SEEN = 1;
const N_PKTS = 2;
const N_BYTES = 4;
const N_CREATED = 6;
const O_OSRC = 0;
const O_ODST = 4;
const O_OPORTS = 8;
const O_RSRC = 9;
const O_RDST = 13;
const O_RPORTS = 17;
const O_XPORTS = 18;
const O_UPORTS = 19;

const K_ORIG = 0;
const K_REPLY = 1;
const K_XLAT = 2;
const K_UNNAT = 3;

// TCP flag bits
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;
const URG = 32;

/**
 * Valid TCP flag combinations after masking ECE, CWR and PSH (the set Linux conntrack accepts): SYN, SYN+URG,
 * SYN+ACK, RST, RST+ACK, FIN+ACK, FIN+ACK+URG, ACK, ACK+URG. Index = flags & 0x37 (FIN SYN RST ACK URG).
 */
const TCP_VALID = new Uint8Array(64);
for (const f of [SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]) TCP_VALID[f] = 1;

/** True when the TCP flag byte is a combination conntrack accepts. */
export function tcpFlagsValid(flags: number): boolean {
  return TCP_VALID[flags & 0x37] === 1;
}

/** True for ICMP/ICMPv6 error types (dest-unreachable, source-quench, redirect, time-exceeded, parameter-problem / packet-too-big). */
export function isIcmpError(family: number, type: number): boolean {
  if (family === 6) return type >= 1 && type <= 4;
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Reply type of an ICMP query type (echo 8→0, timestamp 13→14, info 15→16, mask 17→18; v6 echo 128→129, node info 139→140), else -1. */
export function icmpReplyType(family: number, type: number): number {
  if (family === 6) return type === 128 ? 129 : type === 139 ? 140 : -1;
  return type === 8 ? 0 : type === 13 ? 14 : type === 15 ? 16 : type === 17 ? 18 : -1;
}

/** Request type of an ICMP query reply type (inverse of {@link icmpReplyType}); other types unchanged. */
export function icmpRequestType(family: number, type: number): number {
  if (family === 6) return type === 129 ? 128 : type === 140 ? 139 : type;
  return type === 0 ? 8 : type === 14 ? 13 : type === 16 ? 15 : type === 18 ? 17 : type;
}

/** L4 state machine used for an IP protocol. */
export function ctKindOf(proto: number): CtKind {
  switch (proto) {
    case 6:
      return CtKind.TCP;
    case 17:
    case 136: // UDP-Lite
      return CtKind.UDP;
    case 1:
    case 58:
      return CtKind.ICMP;
    case 132:
      return CtKind.SCTP;
    default:
      return CtKind.GENERIC;
  }
}

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 136 || proto === 33;
}

/** Packed ports word of a packet (see the header comment). */
function portsOf(k: FlowKey): number {
  const p = k.proto;
  if (p === 1 || p === 58) return ((k.sport & 0xffff) << 16) | (k.icmpType & 0xff);
  if (hasPorts(p)) return ((k.sport & 0xffff) << 16) | (k.dport & 0xffff);
  return 0;
}

function swapPorts(p: number): number {
  return ((p & 0xffff) << 16) | (p >>> 16);
}

/** Per-table counters (plain numbers; read them directly or via {@link Conntrack.stats}). */
export interface CtTableStats {
  table: string;
  capacity: number;
  entries: number;
  lookups: number;
  hits: number;
  misses: number;
  invalid: number;
  related: number;
  created: number;
  deleted: number;
  expired: number;
  reopened: number;
  clashes: number;
  evictions: { expired: number; non_assured: number; lru: number };
}

/**
 * One bounded conntrack table. Usually used through {@link Conntrack}; slots here are local entry indexes.
 * @remarks hot path: no allocation.
 */
export class CtTable {
  readonly name: string;
  readonly capacity: number;
  /** global slot number of entry 0 */
  readonly base: number;
  readonly nRules: number;
  readonly timeouts: CtTimeouts;
  private readonly sample: number;

  /** the index's current mask (slots in use − 1; also in meta[M_MASK] for the fast path) */
  private idxMask: number;
  /**
   * the index, reserved for its largest size: slot i (16 bytes, SLOT_WORDS) holds [4i] the record's reference + 1
   * (entry << 2 | kind; 0 empty: a new zero-filled array needs no initialisation), with SLOT_INLINE for an IPv4 TCP
   * or UDP record, and [4i+1..4i+3] its tuple's last source and destination address words and its ports: a lookup
   * compares them before it reads the entry's tuple, and the fast path's lookup of an inline record reads nothing else.
   * Slots [0, idxMask] are in use. A record's hash, which places it, is in recHash.
   */
  private readonly idx: Int32Array;

  /** tuple words as int32 (bit patterns of the u32 words; see flow-hash.ts on why int32) */
  readonly tup: Int32Array;
  readonly fp: Uint16Array;
  readonly kind: Uint8Array;
  readonly state: Uint8Array;
  readonly flags: Uint8Array;
  readonly verdict: Uint8Array;
  readonly used: Uint8Array;
  readonly rev: Uint32Array;
  readonly rules: Uint32Array;
  /**
   * The numbers of an entry, one 64-byte line each (an established packet reads and writes only this line besides
   * the index and the tuple): [e*8] expires, +1 lastSeen, +2/+3 packets original/reply, +4/+5 bytes, +6 created (ns).
   */
  readonly num: Float64Array;
  private readonly recHash: Int32Array;
  private readonly free: Int32Array;
  /**
   * The allocation state, in the arena beside the arrays because the fast path creates entries too:
   * [M_FREE_TOP] entries on the free list, [M_FRESH] entries [fresh, capacity) never used (no free-list
   * initialisation: the tables are built in ~0 ms), [M_ENTRIES] live entries, [M_MASK] the index's mask,
   * [M_RECORDS] the records in the index.
   */
  private readonly meta: Int32Array;
  private hand = 0;
  private sweepCursor = 0;

  // scratch key of the current operation
  private kfp = 0;
  private ks0 = 0;
  private ks1 = 0;
  private ks2 = 0;
  private ks3 = 0;
  private kd0 = 0;
  private kd1 = 0;
  private kd2 = 0;
  private kd3 = 0;
  private kp = 0;
  private kh = 0;

  /** time (ns) of the current operation, set by {@link Conntrack} (a field, not an argument: a double argument is boxed) */
  now = 0;
  /** result of the last find(): entry and record kind */
  foundEntry = -1;
  foundKind = 0;

  // counters
  /** live entries */
  get entries(): number {
    return this.meta[M_ENTRIES]!;
  }
  lookups = 0;
  hits = 0;
  misses = 0;
  invalid = 0;
  related = 0;
  createdCount = 0;
  deleted = 0;
  expired = 0;
  reopened = 0;
  clashes = 0;
  /** doublings of the index */
  indexGrowths = 0;
  /** set by the WebAssembly fast path over this table (wasm-core.ts FastTable): the index then grows there */
  indexRebuilder: ((slots: number) => void) | null = null;
  /** evictions by {@link CtEvict} reason */
  readonly evictions = new Float64Array(3);

  constructor(name: string, capacity: number, base: number, timeouts: CtTimeouts, nRules = 2, sample = 16, arena?: Arena) {
    CtTable.checkCapacity(name, capacity);
    this.name = name;
    this.capacity = capacity;
    this.base = base;
    this.timeouts = timeouts;
    this.nRules = nRules;
    this.sample = Math.max(1, Math.min(sample, capacity));
    const size = CtTable.indexSlots(capacity);
    // in the arena (WebAssembly memory shared with the fast path, wasm-core.ts) or as plain arrays; zero-filled either way
    const a = arena;
    this.idx = a ? a.int32(SLOT_WORDS * size) : new Int32Array(SLOT_WORDS * size);
    this.idxMask = Math.min(size, IDX_MIN_SLOTS) - 1;
    // read at random before it is written (see prefaultPages: -7 % wall on the peers' replay)
    prefaultPages(this.idx.subarray(0, SLOT_WORDS * (this.idxMask + 1)));
    this.tup = a ? a.int32(capacity * STRIDE) : new Int32Array(capacity * STRIDE);
    this.fp = a ? a.uint16(capacity) : new Uint16Array(capacity);
    this.kind = a ? a.uint8(capacity) : new Uint8Array(capacity);
    this.state = a ? a.uint8(capacity) : new Uint8Array(capacity);
    this.flags = a ? a.uint8(capacity) : new Uint8Array(capacity);
    this.verdict = a ? a.uint8(capacity) : new Uint8Array(capacity);
    this.used = a ? a.uint8(capacity) : new Uint8Array(capacity);
    this.rev = a ? a.uint32(capacity) : new Uint32Array(capacity);
    this.rules = a ? a.uint32(capacity * nRules) : new Uint32Array(capacity * nRules);
    this.num = a ? a.float64(capacity * NUM) : new Float64Array(capacity * NUM);
    this.recHash = a ? a.int32(capacity * 4) : new Int32Array(capacity * 4);
    this.free = a ? a.int32(capacity) : new Int32Array(capacity);
    this.meta = a ? a.int32(META_WORDS) : new Int32Array(META_WORDS);
    this.meta[M_MASK] = this.idxMask;
  }

  /** Throws unless `capacity` is an entry count a table can have (1 … 2^26). */
  static checkCapacity(name: string, capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 26) throw new RangeError(`conntrack ${name}: bad capacity ${capacity}`);
  }

  /**
   * Index slots reserved for a table of `capacity` entries: a power of two ≥ 8 × capacity (4 records an entry at most,
   * load ≤ 0.5), the largest size the index grows to.
   */
  static indexSlots(capacity: number): number {
    let size = 8;
    while (size < capacity * 8) size *= 2;
    return size;
  }

  /** Arena bytes of a table (the arrays the constructor allocates, each rounded as the arena rounds it). */
  static arenaBytes(capacity: number, nRules: number): number {
    const z = Arena.size;
    return (
      z(4 * SLOT_WORDS * CtTable.indexSlots(capacity)) +
      z(4 * capacity * STRIDE) +
      z(2 * capacity) +
      5 * z(capacity) +
      z(4 * capacity) +
      z(4 * capacity * nRules) +
      z(8 * capacity * NUM) +
      z(16 * capacity) +
      z(4 * capacity) +
      z(4 * META_WORDS)
    );
  }

  /** The arrays and constants the WebAssembly fast path reads (wasm-core.ts FastCore). */
  get wasmLayout(): FastTable['wasmLayout'] {
    return {
      idx: this.idx,
      tup: this.tup,
      fp: this.fp,
      kind: this.kind,
      state: this.state,
      flags: this.flags,
      used: this.used,
      rev: this.rev,
      rules: this.rules,
      num: this.num,
      verdict: this.verdict,
      recHash: this.recHash,
      free: this.free,
      meta: this.meta,
      capacity: this.capacity,
      nRules: this.nRules,
    };
  }

  // ---- key loading and the index -------------------------------------------------------------------------------

  private loadKey(k: FlowKey, ports: number): void {
    this.kfp = ((k.family & 0xff) << 8) | (k.proto & 0xff);
    this.ks0 = k.src0 | 0;
    this.ks1 = k.src1 | 0;
    this.ks2 = k.src2 | 0;
    this.ks3 = k.src3 | 0;
    this.kd0 = k.dst0 | 0;
    this.kd1 = k.dst1 | 0;
    this.kd2 = k.dst2 | 0;
    this.kd3 = k.dst3 | 0;
    this.kp = ports;
    this.kh = tupleHashI(this.kfp, this.ks0, this.ks1, this.ks2, this.ks3, this.kd0, this.kd1, this.kd2, this.kd3, ports);
  }

  /** Loads a tuple of entry e (kind 0/1/2) into the scratch key. */
  private loadTuple(e: number, kind: number): void {
    const t = this.tup;
    const fp = this.fp[e]!;
    this.kfp = fp;
    this.locate(e, kind);
    const so = this.recSrc;
    const dof = this.recDst;
    const ports = this.recPorts;
    this.ks0 = t[so]!;
    this.ks1 = t[so + 1]!;
    this.ks2 = t[so + 2]!;
    this.ks3 = t[so + 3]!;
    this.kd0 = t[dof]!;
    this.kd1 = t[dof + 1]!;
    this.kd2 = t[dof + 2]!;
    this.kd3 = t[dof + 3]!;
    this.kp = ports;
    this.kh = tupleHashI(fp, this.ks0, this.ks1, this.ks2, this.ks3, this.kd0, this.kd1, this.kd2, this.kd3, ports);
  }

  /** Does record (e, kind) hold the scratch key? */
  private matches(e: number, kind: number): boolean {
    if (this.fp[e] !== this.kfp) return false;
    const t = this.tup;
    this.locate(e, kind);
    const so = this.recSrc;
    const dof = this.recDst;
    const ports = this.recPorts;
    return (
      ports === this.kp &&
      t[so + 3] === this.ks3 &&
      t[dof + 3] === this.kd3 &&
      t[so] === this.ks0 &&
      t[so + 1] === this.ks1 &&
      t[so + 2] === this.ks2 &&
      t[dof] === this.kd0 &&
      t[dof + 1] === this.kd1 &&
      t[dof + 2] === this.kd2
    );
  }

  /** Finds the scratch key; sets foundEntry/foundKind; returns the entry or -1. */
  private find(): number {
    const mask = this.idxMask;
    const h = this.kh;
    const idx = this.idx;
    let i = h & mask;
    for (;;) {
      const w = SLOT_WORDS * i;
      const r1 = idx[w]! & SLOT_REF;
      if (r1 === 0) {
        this.foundEntry = -1;
        return -1;
      }
      if (idx[w + 1] === this.ks3 && idx[w + 2] === this.kd3 && idx[w + 3] === this.kp) {
        const r = r1 - 1;
        if (this.matches(r >>> 2, r & 3)) {
          this.foundEntry = r >>> 2;
          this.foundKind = r & 3;
          return r >>> 2;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Adds record `ref` (entry << 2 | kind) of an entry whose tuple and fingerprint are written; the caller made room ({@link reserveIndex}). */
  private idxInsert(h: number, ref: number): void {
    const mask = this.idxMask;
    const idx = this.idx;
    let i = h & mask;
    while (idx[SLOT_WORDS * i] !== 0) i = (i + 1) & mask;
    this.writeSlot(SLOT_WORDS * i, ref);
    this.meta[M_RECORDS]!++;
  }

  /** Writes record `ref`'s slot at word w: its reference + 1 and flag, and its tuple's words (see {@link idx}). */
  private writeSlot(w: number, ref: number): void {
    const e = ref >>> 2;
    const t = this.tup;
    this.locate(e, ref & 3);
    const fp = this.fp[e]!;
    const idx = this.idx;
    idx[w] = (ref + 1) | (fp === FP_TCP4 || fp === FP_UDP4 ? SLOT_INLINE : 0);
    idx[w + 1] = t[this.recSrc + 3]!;
    idx[w + 2] = t[this.recDst + 3]!;
    idx[w + 3] = this.recPorts;
  }

  /**
   * Where record (e, kind)'s tuple is in `tup`: its source and destination addresses' first words and its ports word
   * (the original tuple; the reply; the translated record, the reply's reverse with the translated ports; the
   * un-NATed one, the original's reverse), into {@link recSrc}, {@link recDst}, {@link recPorts}.
   */
  private locate(e: number, kind: number): void {
    const t = this.tup;
    const o = e * STRIDE;
    let so: number, dof: number, ports: number;
    if (kind === K_ORIG) {
      so = o + O_OSRC;
      dof = o + O_ODST;
      ports = t[o + O_OPORTS]!;
    } else if (kind === K_REPLY) {
      so = o + O_RSRC;
      dof = o + O_RDST;
      ports = t[o + O_RPORTS]!;
    } else if (kind === K_XLAT) {
      so = o + O_RDST;
      dof = o + O_RSRC;
      ports = t[o + O_XPORTS]!;
    } else {
      so = o + O_ODST;
      dof = o + O_OSRC;
      ports = t[o + O_UPORTS]!;
    }
    this.recSrc = so;
    this.recDst = dof;
    this.recPorts = ports;
  }

  /** {@link locate}'s results (scratch: no allocation a lookup) */
  private recSrc = 0;
  private recDst = 0;
  private recPorts = 0;

  /** The hash that places the record of slot word w (its entry's recHash). */
  private slotHash(w: number): number {
    return this.recHash[(this.idx[w]! & SLOT_REF) - 1]!;
  }

  /** Slots the index uses now. */
  get indexSize(): number {
    return this.idxMask + 1;
  }

  /** Grows the index, when needed, so that `n` more records keep its load ≤ 0.5. */
  private reserveIndex(n: number): void {
    const need = 2 * (this.meta[M_RECORDS]! + n);
    if (need > this.idxMask + 1) this.growIndex(need);
  }

  /**
   * Doubles the index until it has `need` slots (never beyond the reserved size: 4 records an entry at most fit there
   * at load 0.5), rehashing its records (the only allocation after construction: a copy of the old slots).
   */
  private growIndex(need: number): void {
    const old = this.idxMask + 1;
    let size = old;
    while (size < need && 2 * size <= this.idx.length / SLOT_WORDS) size *= 2;
    if (size === old) return;
    this.indexGrowths++;
    if (this.indexRebuilder !== null) {
      // in the module: every live entry's records placed again from the hashes it keeps (src/wasm/fast4.ts)
      this.idxMask = size - 1;
      this.indexRebuilder(size);
      return;
    }
    const idx = this.idx;
    const prev = idx.slice(0, SLOT_WORDS * old);
    idx.fill(0, 0, SLOT_WORDS * old);
    prefaultPages(idx.subarray(SLOT_WORDS * old, SLOT_WORDS * size));
    this.idxMask = size - 1;
    this.meta[M_MASK] = size - 1;
    const mask = size - 1;
    for (let j = 0; j < SLOT_WORDS * old; j += SLOT_WORDS) {
      const r1 = prev[j]! & SLOT_REF;
      if (r1 === 0) continue;
      let i = this.recHash[r1 - 1]! & mask;
      while (idx[SLOT_WORDS * i] !== 0) i = (i + 1) & mask;
      idx.set(prev.subarray(j, j + SLOT_WORDS), SLOT_WORDS * i);
    }
  }

  /**
   * Removes record `ref` (hash h) with backward-shift deletion (open-addressing.ts backwardShiftDelete, over 16-byte
   * slots whose home is their record's recHash).
   */
  private idxRemove(h: number, ref: number): void {
    const mask = this.idxMask;
    const idx = this.idx;
    const r1 = ref + 1;
    let i = h & mask;
    while ((idx[SLOT_WORDS * i]! & SLOT_REF) !== r1) {
      if (idx[SLOT_WORDS * i] === 0) return; // not present (cannot happen for a consistent table)
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const wj = SLOT_WORDS * j;
      if (idx[wj] === 0) break;
      const home = this.slotHash(wj) & mask;
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        idx.copyWithin(SLOT_WORDS * i, wj, wj + SLOT_WORDS);
        i = j;
      }
    }
    idx.fill(0, SLOT_WORDS * i, SLOT_WORDS * i + SLOT_WORDS);
    this.meta[M_RECORDS]!--;
  }

  // ---- entry life cycle ------------------------------------------------------------------------------------------

  /** Removes entry e (no counters except `entries`). */
  removeEntry(e: number): void {
    if (this.used[e] === 0) return;
    const rh = e * 4;
    this.idxRemove(this.recHash[rh]!, (e << 2) | K_ORIG);
    this.idxRemove(this.recHash[rh + 1]!, (e << 2) | K_REPLY);
    if ((this.flags[e]! & CtFlag.NAT) !== 0) {
      this.idxRemove(this.recHash[rh + 2]!, (e << 2) | K_XLAT);
      this.idxRemove(this.recHash[rh + 3]!, (e << 2) | K_UNNAT);
    }
    this.used[e] = 0;
    this.state[e] = 0;
    this.flags[e] = 0;
    const m = this.meta;
    this.free[m[M_FREE_TOP]!++] = e;
    m[M_ENTRIES]!--;
  }

  /** True when entry e may be evicted before assured ones (unreplied, handshake, closing). */
  private weak(e: number): boolean {
    if ((this.flags[e]! & CtFlag.ASSURED) === 0) return true;
    const s = this.state[e]!;
    const k = this.kind[e]!;
    if (k === CtKind.TCP) return s !== TcpState.ESTABLISHED;
    if (k === CtKind.SCTP) return s !== SctpState.ESTABLISHED;
    return false;
  }

  /** Frees one entry when the table is full. */
  private evictOne(): void {
    const now = this.now;
    const cap = this.capacity;
    let h = this.hand;
    let weakBest = -1;
    let weakAge = Infinity;
    let anyBest = -1;
    let anyAge = Infinity;
    for (let n = 0; n < this.sample; n++) {
      const e = h;
      h = h + 1 === cap ? 0 : h + 1;
      if (this.used[e] === 0) continue;
      if (this.num[e * NUM + N_EXPIRES]! <= now) {
        this.hand = h;
        this.evictions[CtEvict.EXPIRED]!++;
        this.expired++;
        this.removeEntry(e);
        return;
      }
      const age = this.num[e * NUM + N_SEEN]!;
      if (age < anyAge) {
        anyAge = age;
        anyBest = e;
      }
      if (age < weakAge && this.weak(e)) {
        weakAge = age;
        weakBest = e;
      }
    }
    this.hand = h;
    if (weakBest >= 0) {
      this.evictions[CtEvict.NON_ASSURED]!++;
      this.removeEntry(weakBest);
    } else if (anyBest >= 0) {
      this.evictions[CtEvict.LRU]!++;
      this.removeEntry(anyBest);
    } else {
      // sample held no used entry (cannot happen when full); fall back to a linear search
      for (let e = 0; e < cap; e++) {
        if (this.used[e] === 1) {
          this.evictions[CtEvict.LRU]!++;
          this.removeEntry(e);
          return;
        }
      }
    }
  }

  /** Deletes whatever entry holds the scratch key (a tuple clash on create). */
  private dropClash(): void {
    const e = this.find();
    if (e >= 0) {
      this.clashes++;
      this.deleted++;
      this.removeEntry(e);
    }
  }

  /** Timeout class ({@link CtTimeout}) of entry e's state (a Smi: a double return value could be boxed). */
  private timeoutClass(e: number): number {
    const s = this.state[e]!;
    switch (this.kind[e]) {
      case CtKind.TCP:
        switch (s) {
          case TcpState.SYN_SENT:
            return CtTimeout.TCP_SYN_SENT;
          case TcpState.SYN_RECV:
            return CtTimeout.TCP_SYN_RECV;
          case TcpState.ESTABLISHED:
            return CtTimeout.TCP_ESTABLISHED;
          case TcpState.FIN_WAIT:
            return CtTimeout.TCP_FIN_WAIT;
          case TcpState.CLOSE_WAIT:
            return CtTimeout.TCP_CLOSE_WAIT;
          case TcpState.LAST_ACK:
            return CtTimeout.TCP_LAST_ACK;
          case TcpState.TIME_WAIT:
            return CtTimeout.TCP_TIME_WAIT;
          default:
            return CtTimeout.TCP_CLOSE;
        }
      case CtKind.UDP:
        return s === UdpState.STREAM ? CtTimeout.UDP_STREAM : CtTimeout.UDP_UNREPLIED;
      case CtKind.ICMP:
        return this.fp[e]! >>> 8 === 6 ? CtTimeout.ICMPV6 : CtTimeout.ICMP;
      case CtKind.SCTP:
        switch (s) {
          case SctpState.COOKIE_WAIT:
            return CtTimeout.SCTP_COOKIE_WAIT;
          case SctpState.COOKIE_ECHOED:
            return CtTimeout.SCTP_COOKIE_ECHOED;
          case SctpState.ESTABLISHED:
            return CtTimeout.SCTP_ESTABLISHED;
          case SctpState.SHUTDOWN_SENT:
            return CtTimeout.SCTP_SHUTDOWN_SENT;
          case SctpState.SHUTDOWN_RECD:
            return CtTimeout.SCTP_SHUTDOWN_RECD;
          case SctpState.SHUTDOWN_ACK_SENT:
            return CtTimeout.SCTP_SHUTDOWN_ACK_SENT;
          default:
            return CtTimeout.SCTP_CLOSED;
        }
      default:
        return CtTimeout.GENERIC;
    }
  }

  // ---- per-packet operations -------------------------------------------------------------------------------------

  /** Lookup; see {@link Conntrack.lookup}. Sets foundEntry/lastDir/invalidReason. */
  lookup(k: FlowKey): number {
    const now = this.now;
    this.lookups++;
    this.invalidReason = 0;
    this.lastDir = 0;
    const proto = k.proto;
    let tcpf = 0;
    if (proto === 6) {
      tcpf = k.tcpFlags & 0x37;
      if (TCP_VALID[tcpf] !== 1) {
        this.invalid++;
        this.invalidReason = CtInvalid.TCP_FLAGS;
        this.foundEntry = -1;
        return CtResult.INVALID;
      }
    } else if ((proto === 1 || proto === 58) && isIcmpError(k.family, k.icmpType)) {
      this.invalid++;
      this.invalidReason = CtInvalid.ICMP_ERROR;
      this.foundEntry = -1;
      return CtResult.INVALID;
    }
    this.loadKey(k, portsOf(k));
    let e = this.find();
    if (e >= 0 && this.num[e * NUM + N_EXPIRES]! <= now) {
      this.expired++;
      this.removeEntry(e);
      e = -1;
      this.foundEntry = -1;
    }
    if (e < 0) return this.missCode(k, tcpf);
    const kind = this.foundKind;
    const dir = kind === K_REPLY || kind === K_UNNAT ? 1 : 0;
    this.lastDir = dir;
    if (proto === 6) {
      const s = this.state[e]!;
      if ((tcpf & (SYN | ACK)) === SYN) {
        // bare SYN: TCP reuse of a closing/closed tuple, retransmission, simultaneous open, or invalid
        if (s >= TcpState.FIN_WAIT) {
          this.reopened++;
          this.deleted++;
          this.removeEntry(e);
          this.foundEntry = -1;
          this.misses++;
          return CtResult.MISS;
        }
        const ok = dir === 0 ? s === TcpState.SYN_SENT || s === TcpState.SYN_RECV : s === TcpState.SYN_SENT;
        if (!ok) return this.outOfState();
      } else if ((tcpf & (SYN | ACK)) === (SYN | ACK)) {
        if (dir === 0 && (this.flags[e]! & CtFlag.PICKUP) === 0) return this.outOfState();
      }
    } else if (proto === 132 && k.sctpChunk === 1) {
      const s = this.state[e]!;
      if (s === SctpState.CLOSED || s >= SctpState.SHUTDOWN_SENT) {
        this.reopened++;
        this.deleted++;
        this.removeEntry(e);
        this.foundEntry = -1;
        this.misses++;
        return CtResult.MISS;
      }
      if (dir !== 0 || s !== SctpState.COOKIE_WAIT) return this.outOfState();
    }
    this.hits++;
    return kind === K_ORIG ? CtResult.ORIGINAL : kind === K_XLAT ? CtResult.TRANSLATED : CtResult.REPLY;
  }

  /** direction of the last lookup hit (0 original/translated, 1 reply) */
  lastDir = 0;
  /** {@link CtInvalid} of the last INVALID result */
  invalidReason = 0;

  private outOfState(): number {
    this.invalid++;
    this.invalidReason = CtInvalid.OUT_OF_STATE;
    return CtResult.INVALID;
  }

  private missCode(k: FlowKey, tcpf: number): number {
    this.misses++;
    if (k.proto === 6) return (tcpf & (SYN | ACK)) === SYN ? CtResult.MISS : CtResult.MISS_MIDFLOW;
    if (k.proto === 132) return k.sctpChunk === 1 ? CtResult.MISS : CtResult.MISS_MIDFLOW;
    return CtResult.MISS;
  }

  /** ICMP-error lookup; see {@link Conntrack.relatedLookup}. */
  relatedLookup(outer: FlowKey, inner: FlowKey): number {
    const now = this.now;
    this.lookups++;
    this.invalidReason = 0;
    this.foundEntry = -1;
    if (inner.status !== 0 || inner.truncated !== 0 || inner.family !== outer.family) {
      this.invalid++;
      this.invalidReason = CtInvalid.RELATED_TRUNCATED;
      return CtResult.INVALID;
    }
    this.loadKey(inner, portsOf(inner));
    let e = this.find();
    if (e >= 0 && this.num[e * NUM + N_EXPIRES]! <= now) {
      this.expired++;
      this.removeEntry(e);
      e = -1;
    }
    if (e < 0) {
      this.foundEntry = -1;
      this.invalid++;
      this.invalidReason = CtInvalid.RELATED_NO_ENTRY;
      return CtResult.INVALID;
    }
    // an error travels back to the sender of the quoted packet
    if (
      (outer.dst3 | 0) !== this.ks3 ||
      (outer.dst0 | 0) !== this.ks0 ||
      (outer.dst1 | 0) !== this.ks1 ||
      (outer.dst2 | 0) !== this.ks2
    ) {
      this.foundEntry = -1;
      this.invalid++;
      this.invalidReason = CtInvalid.RELATED_WRONG_DEST;
      return CtResult.INVALID;
    }
    // quoted packet went in the original direction ⇒ the error goes in the reply direction, and vice versa
    this.lastDir = this.foundKind === K_REPLY || this.foundKind === K_UNNAT ? 0 : 1;
    this.related++;
    return CtResult.RELATED;
  }

  /** Creates an entry; see {@link Conntrack.create}. Returns the local entry. */
  create(
    k: FlowKey,
    verdict: number,
    revision: number,
    rule0: number,
    rule1: number,
    nat: CtNat | null,
    reversed: boolean,
  ): number {
    const now = this.now;
    const ports = portsOf(k);
    const isIcmp = k.proto === 1 || k.proto === 58;
    const portful = hasPorts(k.proto);
    // original tuple words (reversed: the packet is a reply of the connection being recorded)
    let os0: number, os1: number, os2: number, os3: number, od0: number, od1: number, od2: number, od3: number, op: number;
    if (!reversed) {
      os0 = k.src0 | 0;
      os1 = k.src1 | 0;
      os2 = k.src2 | 0;
      os3 = k.src3 | 0;
      od0 = k.dst0 | 0;
      od1 = k.dst1 | 0;
      od2 = k.dst2 | 0;
      od3 = k.dst3 | 0;
      op = ports;
    } else {
      os0 = k.dst0 | 0;
      os1 = k.dst1 | 0;
      os2 = k.dst2 | 0;
      os3 = k.dst3 | 0;
      od0 = k.src0 | 0;
      od1 = k.src1 | 0;
      od2 = k.src2 | 0;
      od3 = k.src3 | 0;
      op = portful ? swapPorts(ports) : ports;
    }
    let oSport = op >>> 16;
    let oDport = op & 0xffff;
    if (isIcmp && reversed) {
      // the packet is the reply of a query: the original is the matching request type
      oSport = k.sport & 0xffff;
      oDport = icmpRequestType(k.family, k.icmpType & 0xff);
      op = (oSport << 16) | oDport;
    }
    // reply tuple: (translated dst) → (translated src)
    let rs0 = od0,
      rs1 = od1,
      rs2 = od2,
      rs3 = od3,
      rd0 = os0,
      rd1 = os1,
      rd2 = os2,
      rd3 = os3;
    let rSport = oDport;
    let rDport = oSport;
    let isNat = false;
    if (nat !== null && nat.dnat === 1) {
      rs0 = nat.dst0 | 0;
      rs1 = nat.dst1 | 0;
      rs2 = nat.dst2 | 0;
      rs3 = nat.dst3 | 0;
      if (portful) rSport = nat.dport & 0xffff;
      isNat = rs0 !== od0 || rs1 !== od1 || rs2 !== od2 || rs3 !== od3 || (portful && rSport !== oDport);
    }
    if (nat !== null && nat.snat === 1) {
      rd0 = nat.src0 | 0;
      rd1 = nat.src1 | 0;
      rd2 = nat.src2 | 0;
      rd3 = nat.src3 | 0;
      if (portful) rDport = nat.sport & 0xffff;
      isNat = isNat || rd0 !== os0 || rd1 !== os1 || rd2 !== os2 || rd3 !== os3 || (portful && rDport !== oSport);
    }
    let rp: number;
    let xp: number;
    let up: number;
    if (isIcmp) {
      const rt = icmpReplyType(k.family, oDport);
      rp = ((oSport & 0xffff) << 16) | (rt < 0 ? 0xffff : rt);
      xp = op;
      up = rp;
    } else if (portful) {
      rp = (rSport << 16) | rDport;
      xp = swapPorts(rp);
      up = swapPorts(op);
    } else {
      rp = 0;
      xp = 0;
      up = 0;
    }

    // 1. remove entries clashing with any of the new tuples (insertion never fails, tuples stay unique)
    const fpv = ((k.family & 0xff) << 8) | (k.proto & 0xff);
    this.kfp = fpv;
    this.setScratch(os0, os1, os2, os3, od0, od1, od2, od3, op);
    const hO = this.kh;
    this.dropClash();
    this.kfp = fpv;
    this.setScratch(rs0, rs1, rs2, rs3, rd0, rd1, rd2, rd3, rp);
    const hR = this.kh;
    this.dropClash();
    let hX = 0;
    let hU = 0;
    if (isNat) {
      this.kfp = fpv;
      this.setScratch(rd0, rd1, rd2, rd3, rs0, rs1, rs2, rs3, xp);
      hX = this.kh;
      this.dropClash();
      this.kfp = fpv;
      this.setScratch(od0, od1, od2, od3, os0, os1, os2, os3, up);
      hU = this.kh;
      this.dropClash();
    }
    // 2. allocate (evicting when full)
    const m = this.meta;
    if (m[M_FREE_TOP] === 0 && m[M_FRESH] === this.capacity) this.evictOne();
    // freed entries first (last freed, first reused), then never-used ones in order
    const e = m[M_FREE_TOP]! > 0 ? this.free[--m[M_FREE_TOP]!]! : m[M_FRESH]!++;
    // room in the index for its records, while the entry is not yet in use: an index rebuilt from the live entries
    // (the fast path's growIndex) must not hold them before they are inserted below
    this.reserveIndex(isNat ? 4 : 2);
    // 3. fill
    const t = this.tup;
    const o = e * STRIDE;
    t[o] = os0;
    t[o + 1] = os1;
    t[o + 2] = os2;
    t[o + 3] = os3;
    t[o + 4] = od0;
    t[o + 5] = od1;
    t[o + 6] = od2;
    t[o + 7] = od3;
    t[o + 8] = op;
    t[o + 9] = rs0;
    t[o + 10] = rs1;
    t[o + 11] = rs2;
    t[o + 12] = rs3;
    t[o + 13] = rd0;
    t[o + 14] = rd1;
    t[o + 15] = rd2;
    t[o + 16] = rd3;
    t[o + 17] = rp;
    t[o + 18] = xp;
    t[o + 19] = up;
    this.fp[e] = fpv;
    const kind = ctKindOf(k.proto);
    this.kind[e] = kind;
    this.used[e] = 1;
    this.verdict[e] = verdict;
    this.rev[e] = revision >>> 0;
    const rb = e * this.nRules;
    for (let i = 0; i < this.nRules; i++) this.rules[rb + i] = 0;
    if (this.nRules > 0) this.rules[rb] = rule0 >>> 0;
    if (this.nRules > 1) this.rules[rb + 1] = rule1 >>> 0;
    const ne = e * NUM;
    this.num[ne + N_PKTS] = 0;
    this.num[ne + N_PKTS + 1] = 0;
    this.num[ne + N_BYTES] = 0;
    this.num[ne + N_BYTES + 1] = 0;
    this.num[ne + N_CREATED] = now;
    this.num[ne + N_SEEN] = now;
    let flags = isNat ? CtFlag.NAT : 0;
    // initial state from the first packet
    let st = 0;
    if (kind === CtKind.TCP) {
      const f = k.tcpFlags & 0x37;
      if (reversed || (f & (SYN | ACK)) !== SYN) {
        flags |= CtFlag.PICKUP;
        st = (f & RST) !== 0 ? TcpState.CLOSE : TcpState.ESTABLISHED;
      } else st = TcpState.SYN_SENT;
    } else if (kind === CtKind.SCTP) {
      if (reversed || k.sctpChunk !== 1) {
        flags |= CtFlag.PICKUP;
        st = SctpState.ESTABLISHED;
      } else st = SctpState.COOKIE_WAIT;
    } else if (kind === CtKind.ICMP) st = IcmpState.REQUEST;
    else st = UdpState.UNREPLIED;
    this.state[e] = st;
    this.flags[e] = flags;
    const rh = e * 4;
    this.recHash[rh] = hO;
    this.recHash[rh + 1] = hR;
    this.recHash[rh + 2] = hX;
    this.recHash[rh + 3] = hU;
    this.idxInsert(hO, (e << 2) | K_ORIG);
    this.idxInsert(hR, (e << 2) | K_REPLY);
    if (isNat) {
      this.idxInsert(hX, (e << 2) | K_XLAT);
      this.idxInsert(hU, (e << 2) | K_UNNAT);
    }
    m[M_ENTRIES]!++;
    this.createdCount++;
    // 4. account the first packet (runs the state machine: FIN/RST on pickup, etc.)
    this.update(e, k, reversed ? 1 : 0, k.ipLen || k.wireLen);
    return e;
  }

  private setScratch(
    s0: number,
    s1: number,
    s2: number,
    s3: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
    ports: number,
  ): void {
    this.ks0 = s0;
    this.ks1 = s1;
    this.ks2 = s2;
    this.ks3 = s3;
    this.kd0 = d0;
    this.kd1 = d1;
    this.kd2 = d2;
    this.kd3 = d3;
    this.kp = ports;
    this.kh = tupleHashI(this.kfp, s0, s1, s2, s3, d0, d1, d2, d3, ports);
  }

  /**
   * Finds the IPv4 tuple (fp = 4 << 8 | proto, int32 address words, packed ports word) without any other effect
   * than the scratch key and foundEntry/foundKind: the replay fast path probes with it and decides afterwards
   * whether the packet is one it may finish itself. Returns the entry or -1.
   */
  probe4(fp: number, src: number, dst: number, ports: number): number {
    this.kfp = fp;
    this.ks0 = this.ks1 = this.ks2 = 0;
    this.kd0 = this.kd1 = this.kd2 = 0;
    this.ks3 = src;
    this.kd3 = dst;
    this.kp = ports;
    this.kh = tupleHashI(fp, 0, 0, 0, src, 0, 0, 0, dst, ports);
    return this.find();
  }

  /** Accounts a packet and runs the state machine; returns the new state. */
  update(e: number, k: FlowKey, dir: number, bytes: number): number {
    return this.account(e, k.tcpFlags, k.sctpChunk, dir, bytes);
  }

  /** {@link update} with the two header fields the state machines read (TCP flags, first SCTP chunk type). */
  account(e: number, tcpFlags: number, sctpChunk: number, dir: number, bytes: number): number {
    if (this.used[e] === 0) return 0;
    const now = this.now;
    const d = dir === 1 ? 1 : 0;
    const num = this.num;
    const ne = e * NUM;
    num[ne + N_PKTS + d]!++;
    num[ne + N_BYTES + d] += bytes;
    if (now > num[ne + N_SEEN]!) num[ne + N_SEEN] = now;
    let flags = this.flags[e]!;
    if (d === 1) flags |= CtFlag.SEEN_REPLY;
    let s = this.state[e]!;
    switch (this.kind[e]) {
      case CtKind.TCP: {
        const f = tcpFlags & 0x37;
        const closerDir = (flags & CtFlag.CLOSER_REPLY) !== 0 ? 1 : 0;
        if ((f & RST) !== 0) s = TcpState.CLOSE;
        else if ((f & SYN) !== 0) {
          if ((f & ACK) !== 0) {
            if (d === 1 && s === TcpState.SYN_SENT) s = TcpState.SYN_RECV;
          } else if (d === 1 && s === TcpState.SYN_SENT) s = TcpState.SYN_RECV; // simultaneous open
        } else if ((f & FIN) !== 0) {
          if (s <= TcpState.ESTABLISHED) {
            s = TcpState.FIN_WAIT;
            if (d === 1) flags |= CtFlag.CLOSER_REPLY;
            else flags &= ~CtFlag.CLOSER_REPLY;
          } else if ((s === TcpState.FIN_WAIT || s === TcpState.CLOSE_WAIT) && d !== closerDir) s = TcpState.LAST_ACK;
        } else if ((f & ACK) !== 0) {
          if (s === TcpState.SYN_RECV && d === 0) {
            s = TcpState.ESTABLISHED;
            flags |= CtFlag.ASSURED;
          } else if (s === TcpState.FIN_WAIT && d !== closerDir) s = TcpState.CLOSE_WAIT;
          else if (s === TcpState.LAST_ACK && d === closerDir) s = TcpState.TIME_WAIT;
        }
        if ((flags & CtFlag.PICKUP) !== 0 && (flags & CtFlag.SEEN_REPLY) !== 0 && num[ne + N_PKTS]! > 0 && s === TcpState.ESTABLISHED)
          flags |= CtFlag.ASSURED;
        break;
      }
      case CtKind.UDP:
      case CtKind.GENERIC:
        if ((flags & CtFlag.SEEN_REPLY) !== 0 && num[ne + N_PKTS]! > 0) {
          s = UdpState.STREAM;
          flags |= CtFlag.ASSURED;
        }
        break;
      case CtKind.ICMP:
        if (d === 1) s = IcmpState.REPLIED;
        break;
      case CtKind.SCTP: {
        switch (sctpChunk) {
          case 6: // ABORT
          case 14: // SHUTDOWN COMPLETE
            s = SctpState.CLOSED;
            break;
          case 10: // COOKIE ECHO
            if (s === SctpState.COOKIE_WAIT) s = SctpState.COOKIE_ECHOED;
            break;
          case 11: // COOKIE ACK
            if (s === SctpState.COOKIE_ECHOED || s === SctpState.COOKIE_WAIT) {
              s = SctpState.ESTABLISHED;
              flags |= CtFlag.ASSURED;
            }
            break;
          case 7: // SHUTDOWN
            if (s === SctpState.ESTABLISHED || s === SctpState.SHUTDOWN_SENT || s === SctpState.SHUTDOWN_RECD)
              s = d === 0 ? SctpState.SHUTDOWN_SENT : SctpState.SHUTDOWN_RECD;
            break;
          case 8: // SHUTDOWN ACK
            if (s >= SctpState.ESTABLISHED) s = SctpState.SHUTDOWN_ACK_SENT;
            break;
          default:
            break;
        }
        if ((flags & CtFlag.PICKUP) !== 0 && (flags & CtFlag.SEEN_REPLY) !== 0 && num[ne + N_PKTS]! > 0 && s === SctpState.ESTABLISHED)
          flags |= CtFlag.ASSURED;
        break;
      }
      default:
        break;
    }
    this.state[e] = s;
    this.flags[e] = flags;
    num[ne + N_EXPIRES] = num[ne + N_SEEN]! + this.timeouts[this.timeoutClass(e)]!;
    return s;
  }

  /** Removes expired entries among the next `maxSlots` entries; returns how many. */
  sweep(maxSlots: number): number {
    const now = this.now;
    const cap = this.capacity;
    let c = this.sweepCursor;
    let removed = 0;
    const n = maxSlots < cap ? maxSlots : cap;
    for (let i = 0; i < n; i++) {
      if (this.used[c] === 1 && this.num[c * NUM + N_EXPIRES]! <= now) {
        this.expired++;
        this.removeEntry(c);
        removed++;
      }
      c = c + 1 === cap ? 0 : c + 1;
    }
    this.sweepCursor = c;
    return removed;
  }

  /** Counter snapshot (allocates; not for the hot path). */
  stats(): CtTableStats {
    return {
      table: this.name,
      capacity: this.capacity,
      entries: this.entries,
      lookups: this.lookups,
      hits: this.hits,
      misses: this.misses,
      invalid: this.invalid,
      related: this.related,
      created: this.createdCount,
      deleted: this.deleted,
      expired: this.expired,
      reopened: this.reopened,
      clashes: this.clashes,
      evictions: { expired: this.evictions[0]!, non_assured: this.evictions[1]!, lru: this.evictions[2]! },
    };
  }

  /** Debug text of one tuple of entry e. */
  tupleToString(e: number, kind: number): string {
    this.loadTuple(e, kind);
    const fam = this.kfp >>> 8;
    const proto = this.kfp & 0xff;
    const src = wordsToIP(fam, this.ks0, this.ks1, this.ks2, this.ks3);
    const dst = wordsToIP(fam, this.kd0, this.kd1, this.kd2, this.kd3);
    const hi = this.kp >>> 16; // kp is int32
    const lo = this.kp & 0xffff;
    const pn = proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : proto === 132 ? 'SCTP' : proto === 1 ? 'ICMP' : proto === 58 ? 'ICMPv6' : `proto=${proto}`;
    const b = (a: string) => (fam === 6 ? `[${a}]` : a);
    if (proto === 1 || proto === 58) return `${pn} ${src} -> ${dst} id=${hi} type=${lo === 0xffff ? '-' : lo}`;
    if (hasPorts(proto)) return `${pn} ${b(src)}:${hi} -> ${b(dst)}:${lo}`;
    return `${pn} ${src} -> ${dst}`;
  }
}

/**
 * The conntrack of one worker: a TCP table and a table for every other protocol, with a monotonic packet clock.
 *
 * @example
 *   const ct = new Conntrack({ tcpMax: 4096, anyMax: 4096 });
 *   let r = ct.lookup(key, tNs);                    // or: ct.timeNs = ts[i]; ct.lookup(key) (strictly no boxing)
 *   if (r === CtResult.MISS) {                      // evaluate policy; create only when allowed
 *     if (allowed) ct.create(key, tNs, Verdict.ALLOW, revision, egressRule, ingressRule);
 *   } else if (r >= CtResult.ORIGINAL && r <= CtResult.REPLY) {
 *     ct.update(ct.slot, key, ct.dir, tNs, key.ipLen);   // or ct.track(key, tNs, bytes) for both steps
 *     verdict = r === CtResult.REPLY ? ALLOW : ct.verdictOf(ct.slot);
 *   }
 *   ct.sweep(tNs, 256);                             // once per batch
 *
 * @remarks hot path: no allocation, no closures, no strings.
 */
export class Conntrack {
  readonly tcp: CtTable;
  readonly other: CtTable;
  readonly timeouts: CtTimeouts;
  /** global slot of the last lookup/related hit or create, -1 when none */
  slot = -1;
  /** direction of the last hit: {@link CtDir} */
  dir = 0;
  /** {@link CtInvalid} reason of the last INVALID */
  invalidReason = 0;
  /** monotonic packet clock (ns): max time seen by lookup/relatedLookup */
  clockNs = 0;
  /** lookups whose time was before the clock */
  timeRegressions = 0;
  private readonly tcpCap: number;
  /**
   * The WebAssembly memory the tables live in, with room for the fast path's chunk buffers (wasm-core.ts); null when
   * the tables are plain typed arrays (`wasm: false`, KPF_WASM=0, or tables too large for one memory).
   */
  readonly arena: Arena | null;

  /**
   * `extraArenaBytes`: room left in the arena for the caller's own regions (`arena.alloc`), e.g. a worker's batch
   * regions, which the replay's main thread reads into (workers/verdict.worker.ts). `over`: the tables go in the rest
   * of an arena another thread made (its memory, with `top` bytes allocated: replay/slot-layout.ts planRegions).
   */
  constructor(opts: ConntrackOptions = {}, extraArenaBytes = 0, over?: { memory: WebAssembly.Memory; top: number }) {
    const { given, tcpMax, anyMax, nr } = Conntrack.sizes(opts);
    const bytes = Conntrack.arenaBytes(opts, extraArenaBytes);
    let arena: Arena | null = null;
    if (over !== undefined) {
      if (bytes === null) throw new RangeError('conntrack: an arena was given for tables that would not be in one');
      arena = Arena.over(over.memory, over.top, bytes);
    } else if (bytes !== null) {
      arena = new Arena(bytes);
    }
    this.arena = arena;
    // the timeout table is read by the fast path too: a copy in the arena
    const timeouts = arena ? arena.float64(given.length) : given;
    if (arena) timeouts.set(given);
    this.timeouts = timeouts;
    this.tcpCap = tcpMax;
    this.tcp = new CtTable('tcp', tcpMax, 0, timeouts, nr, opts.evictionSample ?? 16, arena ?? undefined);
    this.other = new CtTable('any', anyMax, tcpMax, timeouts, nr, opts.evictionSample ?? 16, arena ?? undefined);
  }

  /** The options' timeouts, table capacities and rule references, defaults filled in and checked. */
  private static sizes(opts: ConntrackOptions): { given: CtTimeouts; tcpMax: number; anyMax: number; nr: number } {
    const given = opts.timeouts ?? ctTimeouts(opts.profile ?? 'linux');
    const tcpMax = opts.tcpMax ?? 262144;
    const anyMax = opts.anyMax ?? 131072;
    const nr = opts.ruleRefs ?? 2;
    if (!Number.isInteger(nr) || nr < 0 || nr > 16) throw new RangeError(`conntrack: bad ruleRefs ${nr}`);
    CtTable.checkCapacity('tcp', tcpMax);
    CtTable.checkCapacity('any', anyMax);
    return { given, tcpMax, anyMax, nr };
  }

  /**
   * The bytes of the arena (wasm-core.ts Arena) that tables of these options take, with `extraArenaBytes` for the
   * caller's own regions; null when the tables are plain typed arrays (`wasm: false`, no WebAssembly fast path, or
   * tables too large for one memory). Throws on bad options, as the constructor does.
   */
  static arenaBytes(opts: ConntrackOptions = {}, extraArenaBytes = 0): number | null {
    const { given, tcpMax, anyMax, nr } = Conntrack.sizes(opts);
    const bytes = CtTable.arenaBytes(tcpMax, nr) + CtTable.arenaBytes(anyMax, nr) + Arena.size(8 * given.length) + FAST_SCRATCH_BYTES + extraArenaBytes;
    return opts.wasm !== false && bytes <= Arena.MAX_BYTES && fastModule() !== null ? bytes : null;
  }

  /**
   * Time of the current packet (ns), used by every method whose `nowNs` argument is omitted. Setting this field
   * and omitting the argument is the strictly allocation-free form: V8 may box a double passed as an argument to a
   * call it does not inline (one 16-byte heap number per call).
   */
  timeNs = 0;

  /** Packet-clock step of lookup/relatedLookup: monotonic max, regressions counted; sets both tables' time. */
  private tick(): void {
    const n = this.timeNs;
    if (n < this.clockNs) this.timeRegressions++;
    else this.clockNs = n;
    this.tcp.now = this.other.now = this.clockNs;
  }

  /** Time for create/update/sweep: the packet time, never before the clock (no regression counting). */
  private setTime(): void {
    const n = this.timeNs;
    const now = n < this.clockNs ? this.clockNs : n;
    this.tcp.now = this.other.now = now;
  }

  private tableOf(slot: number): CtTable {
    return slot < this.tcpCap ? this.tcp : this.other;
  }

  /**
   * Looks a packet up. Returns a {@link CtResult}; on ORIGINAL/TRANSLATED/REPLY `slot` and `dir` identify the entry.
   * Expired entries are removed on the way (MISS). A bare SYN on a closing/closed TCP tuple (or INIT on a closed SCTP
   * association) deletes the entry and reports MISS so the caller re-evaluates. TCP without a bare SYN and SCTP
   * without INIT report MISS_MIDFLOW when no entry exists. ICMP errors are INVALID here: use {@link relatedLookup}.
   * Does not change state or counters of the entry: call {@link update} (or use {@link track}).
   */
  lookup(key: FlowKey, nowNs?: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    this.tick();
    const t = key.proto === 6 ? this.tcp : this.other;
    const r = t.lookup(key);
    this.slot = t.foundEntry >= 0 ? t.base + t.foundEntry : -1;
    this.dir = t.lastDir;
    this.invalidReason = t.invalidReason;
    return r;
  }

  /**
   * {@link lookup} and {@link update} fused for the replay fast path: an IPv4 TCP/UDP packet (address words and ports
   * word as int32, see packet/fast4.ts) whose tuple is in the table, unexpired, and whose lookup cannot take a
   * special turn (no SYN: a bare SYN may reopen or be out of state). When `revision` >= 0 the entry must also carry
   * that revision (`--on-policy-change=reevaluate` re-decides the others). Then it does exactly what lookup + update
   * do — clock, counters, `slot`/`dir`, state machine — and returns the global slot; otherwise it returns -1 having
   * changed nothing, and the caller takes the general path.
   * @remarks hot path: no allocation.
   */
  hit4(proto: number, src: number, dst: number, ports: number, tcpFlags: number, bytes: number, revision: number): number {
    let t: CtTable;
    if (proto === 6) {
      const f = tcpFlags & 0x37;
      if (TCP_VALID[f] !== 1 || (f & SYN) !== 0) return -1;
      t = this.tcp;
    } else t = this.other;
    const e = t.probe4((4 << 8) | proto, src, dst, ports);
    if (e < 0) return -1;
    const n = this.timeNs;
    if (t.num[e * NUM + N_EXPIRES]! <= (n < this.clockNs ? this.clockNs : n)) return -1;
    if (revision >= 0 && t.rev[e] !== revision) return -1;
    this.tick();
    t.lookups++;
    t.hits++;
    t.invalidReason = 0;
    const dir = t.foundKind & 1; // REPLY 1 and UNNAT-REPLY 3 are the reply direction
    t.lastDir = dir;
    this.slot = t.base + e;
    this.dir = dir;
    this.invalidReason = 0;
    t.account(e, tcpFlags, 0, dir, bytes);
    return this.slot;
  }

  /**
   * After the WebAssembly fast path (wasm-core.ts) classified packets and the caller stored the clock it advanced to
   * in `clockNs` (a field, not an argument: a double argument is boxed): the tables' time, and the scratch fields its
   * last lookup would have left (`table` 0 TCP / 1 other, `entry`, index-record `kind`; entry -1: a missed lookup,
   * a memoized drop; kind {@link FAST_CREATED}: a missed lookup, then the entry created — as create leaves them).
   */
  fastHits(table: number, entry: number, kind: number): void {
    this.tcp.now = this.other.now = this.clockNs;
    const t = table === 0 ? this.tcp : this.other;
    const found = entry >= 0 && kind !== FAST_CREATED;
    const dir = found ? kind & 1 : 0;
    t.foundEntry = found ? entry : -1;
    if (found) t.foundKind = kind;
    t.invalidReason = 0;
    t.lastDir = dir;
    this.slot = entry < 0 ? -1 : t.base + entry;
    this.dir = dir;
    this.invalidReason = 0;
  }

  /**
   * lookup + update in one call: on a hit the packet is accounted (`bytes`) and the state machine runs.
   * Returns the lookup result.
   */
  track(key: FlowKey, nowNs: number | undefined, bytes: number): number {
    const r = this.lookup(key, nowNs);
    if (r >= CtResult.ORIGINAL && r <= CtResult.REPLY) this.update(this.slot, key, this.dir, undefined, bytes);
    return r;
  }

  /**
   * Looks up the flow an ICMP/ICMPv6 error refers to. `outer` is the error packet; `inner` is the quoted header,
   * decoded by the caller into a second FlowKey (family, proto, addresses, ports — for a quoted ICMP query the id in
   * `sport` and the type in `icmpType`; `status`/`truncated` non-zero ⇒ INVALID). The error must be addressed to the
   * sender of the quoted packet. Returns RELATED with `slot` and `dir` — `dir` is the direction the *error* travels
   * (quoted packet original ⇒ error REPLY, quoted reply ⇒ error ORIGINAL) — or INVALID with `invalidReason`.
   * The entry is not refreshed (Linux does not refresh on RELATED).
   */
  relatedLookup(outer: FlowKey, inner: FlowKey, nowNs?: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    this.tick();
    const t = inner.proto === 6 ? this.tcp : this.other;
    const r = t.relatedLookup(outer, inner);
    this.slot = t.foundEntry >= 0 && r === CtResult.RELATED ? t.base + t.foundEntry : -1;
    this.dir = t.lastDir;
    this.invalidReason = t.invalidReason;
    return r;
  }

  /**
   * Creates an entry for a packet (call after an allowed MISS / pickup). Counts the packet (`ipLen`, else `wireLen`
   * bytes) in its direction. `nat` translates the destination (and/or source); the reply tuple then comes from the
   * backend. `reversed` records the opposite orientation (the packet is the connection's reply; `--ct-pickup=either`).
   * A full table evicts (expired ▸ non-assured ▸ LRU); entries holding any of the new tuples are replaced. Returns
   * the global slot (also in `slot`).
   */
  create(
    key: FlowKey,
    nowNs: number | undefined,
    verdict: number,
    revision: number,
    rule0 = 0,
    rule1 = 0,
    nat: CtNat | null = null,
    reversed = false,
  ): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    this.setTime();
    const t = key.proto === 6 ? this.tcp : this.other;
    const e = t.create(key, verdict, revision, rule0, rule1, nat, reversed);
    this.slot = t.base + e;
    this.dir = reversed ? 1 : 0;
    return this.slot;
  }

  /** Accounts one packet of `slot` in direction `dir` and runs its state machine; returns the new state. */
  update(slot: number, key: FlowKey, dir: number, nowNs: number | undefined, bytes: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    this.setTime();
    const t = this.tableOf(slot);
    return t.update(slot - t.base, key, dir, bytes);
  }

  /** Deletes an entry (e.g. `--on-policy-change=reevaluate` found it denied). */
  delete(slot: number): void {
    const t = this.tableOf(slot);
    const e = slot - t.base;
    if (t.used[e] === 1) {
      t.deleted++;
      t.removeEntry(e);
    }
  }

  /** Incremental expiry: examines up to `maxSlots` entries of each table; returns the number removed. */
  sweep(nowNs: number | undefined, maxSlots: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    this.setTime();
    return this.tcp.sweep(maxSlots) + this.other.sweep(maxSlots);
  }

  /** Live entries in both tables. */
  get size(): number {
    return this.tcp.entries + this.other.entries;
  }

  // ---- entry accessors (slot = global slot) ---------------------------------------------------------------------

  /** True when the slot holds an entry. */
  isLive(slot: number): boolean {
    const t = this.tableOf(slot);
    return t.used[slot - t.base] === 1;
  }
  verdictOf(slot: number): number {
    const t = this.tableOf(slot);
    return t.verdict[slot - t.base]!;
  }
  /** Policy revision the entry's verdict was computed under (E26 `reevaluate` compares it with the current one). */
  revisionOf(slot: number): number {
    const t = this.tableOf(slot);
    return t.rev[slot - t.base]!;
  }
  /** Re-stamps an entry after re-evaluation under a newer revision. */
  setVerdict(slot: number, verdict: number, revision: number, rule0 = 0, rule1 = 0): void {
    const t = this.tableOf(slot);
    const e = slot - t.base;
    t.verdict[e] = verdict;
    t.rev[e] = revision >>> 0;
    if (t.nRules > 0) t.rules[e * t.nRules] = rule0 >>> 0;
    if (t.nRules > 1) t.rules[e * t.nRules + 1] = rule1 >>> 0;
  }
  ruleRef(slot: number, i: number): number {
    const t = this.tableOf(slot);
    return i < t.nRules ? t.rules[(slot - t.base) * t.nRules + i]! : 0;
  }
  setRuleRef(slot: number, i: number, v: number): void {
    const t = this.tableOf(slot);
    if (i < t.nRules) t.rules[(slot - t.base) * t.nRules + i] = v >>> 0;
  }
  stateOf(slot: number): number {
    const t = this.tableOf(slot);
    return t.state[slot - t.base]!;
  }
  kindOf(slot: number): number {
    const t = this.tableOf(slot);
    return t.kind[slot - t.base]!;
  }
  flagsOf(slot: number): number {
    const t = this.tableOf(slot);
    return t.flags[slot - t.base]!;
  }
  isAssured(slot: number): boolean {
    return (this.flagsOf(slot) & CtFlag.ASSURED) !== 0;
  }
  packets(slot: number, dir: number): number {
    const t = this.tableOf(slot);
    return t.num[(slot - t.base) * NUM + N_PKTS + (dir === 1 ? 1 : 0)]!;
  }
  bytes(slot: number, dir: number): number {
    const t = this.tableOf(slot);
    return t.num[(slot - t.base) * NUM + N_BYTES + (dir === 1 ? 1 : 0)]!;
  }
  createdNs(slot: number): number {
    const t = this.tableOf(slot);
    return t.num[(slot - t.base) * NUM + N_CREATED]!;
  }
  lastSeenNs(slot: number): number {
    const t = this.tableOf(slot);
    return t.num[(slot - t.base) * NUM + N_SEEN]!;
  }
  expiresNs(slot: number): number {
    const t = this.tableOf(slot);
    return t.num[(slot - t.base) * NUM + N_EXPIRES]!;
  }

  /** Name of an entry's state (debug). */
  stateName(slot: number): string {
    const k = this.kindOf(slot);
    const s = this.stateOf(slot);
    if (k === CtKind.TCP) return TCP_STATE_NAMES[s] ?? String(s);
    if (k === CtKind.SCTP) return SCTP_STATE_NAMES[s] ?? String(s);
    if (k === CtKind.ICMP) return s === IcmpState.REPLIED ? 'REPLIED' : 'REQUEST';
    return s === UdpState.STREAM ? 'STREAM' : 'UNREPLIED';
  }

  /**
   * Debug text of an entry, e.g.
   * `TCP 10.0.0.1:40000 -> 10.96.0.10:80 | reply TCP 10.0.0.9:8080 -> 10.0.0.1:40000 ESTABLISHED [ASSURED,NAT] verdict=1 rev=3 rules=7,9 pkts=3/2 bytes=180/120`.
   */
  toString(slot: number): string {
    const t = this.tableOf(slot);
    const e = slot - t.base;
    if (t.used[e] !== 1) return `<free slot ${slot}>`;
    const f = t.flags[e]!;
    const fl = (['ASSURED', 'SEEN_REPLY', 'NAT', 'PICKUP', 'CLOSER_REPLY'] as const).filter((n) => (f & CtFlag[n]) !== 0);
    const rules: number[] = [];
    for (let i = 0; i < t.nRules; i++) rules.push(t.rules[e * t.nRules + i]!);
    return (
      `${t.tupleToString(e, K_ORIG)} | reply ${t.tupleToString(e, K_REPLY)} ${this.stateName(slot)} [${fl.join(',')}] ` +
      `verdict=${t.verdict[e]} rev=${t.rev[e]} rules=${rules.join(',')} ` +
      `pkts=${t.num[e * NUM + N_PKTS]}/${t.num[e * NUM + N_PKTS + 1]} bytes=${t.num[e * NUM + N_BYTES]}/${t.num[e * NUM + N_BYTES + 1]}`
    );
  }

  /** Counter snapshot of both tables plus the clock (allocates; for metrics). */
  stats(): { tcp: CtTableStats; any: CtTableStats; timeRegressions: number; clockNs: number } {
    return { tcp: this.tcp.stats(), any: this.other.stats(), timeRegressions: this.timeRegressions, clockNs: this.clockNs };
  }
}
