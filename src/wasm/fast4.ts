/**
 * kpf's replay fast path in WebAssembly (AssemblyScript; built by scripts/build-wasm.mjs into dist/wasm/fast4.wasm).
 * For established connections it is datapath/classify.ts's `parseFast` + `classifyParsed` (packet/fast4.ts,
 * Conntrack.hit4, CtTable.account); for first packets, datapath/decide.ts's `decide` (decide4, over a copy of the
 * snapshot's arrays) and CtTable.create; and workers/shard.ts's shard of the common frame (shardChunk) — over the same
 * conntrack tables: datapath/wasm-core.ts allocates every array of the tables in this module's memory, so the
 * TypeScript general path and this loop read and write one state.
 *
 * `run` classifies records [i, end) of the current chunk for as long as each is the common case — an IPv4 TCP/UDP
 * frame of a tracked, unexpired connection whose lookup takes no special turn (Conntrack.hit4's cases, and a SYN+ACK
 * that CtTable.lookup accepts) — and returns the index of the first record it declines (or `end`), having changed
 * nothing for that record. The caller classifies that record on the general path and calls `run` again from the next
 * one. Declining is always allowed: by contract the fast path gives exactly what the general path would, so it may
 * leave any case to it. A record with no conntrack entry may instead repeat a decision the general path memoized
 * (`memoFind`, the decision memo), or be decided here (`decide4`, which memoizes its decision): a policy drop
 * (`memoDrop`), or a new connection allowed without NAT, which is created here (`memoCreate`).
 *
 * Memory layout (byte addresses given once by `setLayout`; the table descriptors are written by wasm-core.ts):
 *   desc + 128·t   table t (0 TCP, 1 other): idx, tup, fp, kind, state, flags, used, rev, rules, num (u32 addresses),
 *                  mask, nRules, then verdict, recHash, free, meta (addresses) and capacity (D_* below)
 *   state          f64 clock (in/out); u32 counters and scratch from byte 16 (S_* below)
 *   chunk input    offsets u32, capLens u32, wireLens u32, linkTypes u16, tsSec f64, tsNsec u32, shards u8, bytes
 *   chunk output   a VerdictBatch of CHUNK records (datapath/classify.ts layout), and the count log
 *   decision memo  64-byte slots (M_* below), and the memo's drops by reason (u32 × 256)
 *   snapshot copy  its descriptor (SN_* below) and the arrays it points to (FastCore.setSnapshot)
 * The constants copied from the TypeScript side (conntrack states, flags, timeout classes, layouts) are not checked
 * one by one: test/datapath/wasm-core.test.ts compares every record, counter and conntrack entry of this path with
 * the TypeScript classifier's over generated traffic, and a wrong constant shows there.
 */

// ---- layout (globals; set once per instance) ------------------------------------------------------------------------
let desc: usize = 0;
let st: usize = 0;
let timeouts: usize = 0;
let inOff: usize = 0;
let inCap: usize = 0;
let inWire: usize = 0;
let inLink: usize = 0;
let inSec: usize = 0;
let inNsec: usize = 0;
let inShard: usize = 0;
let inBytes: usize = 0;
/** bytes readable from inBytes (a frame that runs past them is declined) */
let inLen: usize = 0;
let outBase: usize = 0;
let chunk: u32 = 0;
let logBase: usize = 0;
let reasonEstablished: u32 = 0;
let reasonReply: u32 = 0;
let memo: usize = 0;
let memoMask: u32 = 0;
let drops: usize = 0;
let snap: usize = 0;
/**
 * The list of the records `run` classifies but does not count as established (setTally): 0, none is kept. A caller
 * that counts a batch's verdicts (replay/tally.ts) takes the established packets' counts from the counters and reads
 * the records of this list only.
 */
let tallyAt: usize = 0;
/** the batch's descriptors (`describe`, 16 bytes a record), or 0: `run` parses the frames itself */
let inDesc: usize = 0;

/**
 * Has `run` read the records' descriptors at `at` (0: none), which `describe` wrote for the same input (another
 * instance over this memory may have: the replay's main thread describes the batch it read into a region of this
 * memory before the worker classifies it).
 */
export function setDesc(at: usize): void {
  inDesc = at;
}

// state block: f64 at 0 clock (8 unused); u32 at 16.. counters (deltas since the caller last folded them)
const S_CLOCK = 0;
const S_REGRESSIONS = 16;
const S_PACKETS = 20;
const S_FORWARDED = 24;
const S_ESTABLISHED = 28;
const S_REPLIES = 32;
const S_HITS_TCP = 36;
const S_HITS_OTHER = 40;
const S_LOG = 44;
const S_LAST_TABLE = 48;
const S_LAST_ENTRY = 52;
const S_LAST_KIND = 56;
const S_TICKED = 60;
// u32 counters of the decision memo (see `memoFind` below) and of decide4, from byte 64
const S_MEMO_HITS = 64;
const S_DROPPED = 68;
const S_EVALUATIONS = 72;
const S_PICKUPS = 76;
const S_MISSES_TCP = 80;
const S_MISSES_OTHER = 84;
// connections created (from the memo or by decide4), by table; the revision they are stamped with (set by the caller)
const S_CREATES_TCP = 88;
const S_CREATES_OTHER = 92;
const S_REVISION = 96;
// of the packets above: drops and new connections decided here (decide4), new connections from the memo
const S_DECIDED = 100;
const S_MEMO_NEW = 104;
// the per-rule counters (Classifier.entryPackets / entryBytes) when they are in this memory: the packets' f64 array
// (0: they are not, and the log above carries the counts to the caller), and its length (the bytes' array follows)
const S_COUNTS = 108;
const S_COUNT_CAP = 112;
// the records in the tally list (setTally); f64 at 120: the wire lengths of the established packets (S_ESTABLISHED,
// S_REPLIES) since the caller last zeroed it
const S_TALLY_N = 116;
const S_EST_BYTES = 120;

// the snapshot's arrays copied into this memory (wasm-core.ts FastCore.setSnapshot): addresses and numbers at `snap`
const SN_ENABLED = 0; // 0: no decisions here (the snapshot did not fit)
const SN_FLAGS = 4; // SemanticsBits
const SN_LPM = 8; // the ipcache's LpmTable buffer (datapath/lpm.ts layout: u32 header, lengths, 6-word slots)
const SN_IP_IDENTITY = 12;
const SN_IP_ENDPOINT = 16;
const SN_IP_NODE = 20;
const SN_ENDPOINT_NODE = 24;
const SN_PM_K0 = 28; // PolicyMapArrays (datapath/policy-map.ts)
const SN_PM_K1 = 32;
const SN_PM_K2 = 36;
const SN_PM_SLOT = 40;
const SN_PM_MASK = 44;
const SN_PM_MASK_ID = 48;
const SN_PM_MASK_ANY = 52;
const SN_PM_ISOLATED = 56;
const SN_VIP_FILTER = 60; // ServiceTable.vipFilter
const SN_VIP_ANY = 64; // 1 when the snapshot has ClusterIPs (vipMask >= 0)
const SN_PICKUP = 68; // --ct-pickup: 0 off, 1 on, 2 either
// datapath/snapshot.ts SemanticsBits, decide.ts Why, core/enums.ts DropReason, classify.ts PacketFlag
const SB_NODE_INGRESS_POLICY: u32 = 16;
const SB_DNAT_OFF: u32 = 64;
const WHY_POLICY: u16 = 1;
const WHY_LOOPBACK: u16 = 2;
const WHY_NODE_INGRESS: u16 = 3;
const DROP_POLICY_DENIED: u16 = 133;
const PF_NEW: u8 = 4;
const PF_PICKUP: u8 = 16;
const PF_BYPASS: u8 = 32;
// datapath/lpm.ts and policy-map.ts layouts
const LPM_SLOTS_WORD: usize = 2;
const LPM_N4_WORD: usize = 3;
const LPM_DEFAULT_WORD: usize = 5;
const LPM_LENS4: usize = 16;
const LPM_SLOTS: usize = 178;
const PM_BIT_PROTO_ANY: u32 = 1 << 17;
const LOOKUP_NOT_ISOLATED: i32 = -2;
const LOOKUP_DENIED: i32 = -1;
const NOT_EVALUATED: i32 = -3;

// table descriptor words
const D_IDX = 0;
const D_TUP = 4;
const D_FP = 8;
const D_KIND = 12;
const D_STATE = 16;
const D_FLAGS = 20;
const D_USED = 24;
const D_REV = 28;
const D_RULES = 32;
const D_NUM = 36;
// (word 40 unused: the index's mask is in CtTable.meta)
const D_NRULES = 44;
const D_VERDICT = 48;
const D_RECHASH = 52;
const D_FREE = 56;
const D_META = 60;
const D_CAPACITY = 64;
// CtTable.meta words (byte offsets): entries on the free list, first never-used entry, live entries, the index's mask
// (it grows in TypeScript: CtTable.growIndex) and the records it holds
const MT_FREE_TOP: usize = 0;
const MT_FRESH: usize = 4;
const MT_ENTRIES: usize = 8;
const MT_MASK: usize = 12;
const MT_RECORDS: usize = 16;

// conntrack (datapath/conntrack.ts)
const STRIDE_BYTES: usize = 80; // 20 u32 words per entry
const O_OSRC: usize = 0;
const O_ODST: usize = 16;
const O_OPORTS: usize = 32;
const O_RSRC: usize = 36;
const O_RDST: usize = 52;
const O_RPORTS: usize = 68;
const O_XPORTS: usize = 72;
const O_UPORTS: usize = 76;
const NUM_BYTES: usize = 64; // 8 f64 per entry: expires, lastSeen, packets ×2, bytes ×2, created
// index slots (CtTable.idx): 16 bytes, the record's reference + 1 with SLOT_INLINE, then source, destination, ports
const SLOT_SHIFT: usize = 4;
const SLOT_INLINE: u32 = 0x80000000;
const SLOT_REF: u32 = 0x7fffffff;
const FP_TCP4: u32 = (4 << 8) | 6;
const FP_UDP4: u32 = (4 << 8) | 17;
const KIND_TCP: u32 = 1;
const KIND_UDP: u32 = 2;
const KIND_GENERIC: u32 = 5;
const F_ASSURED: u32 = 1;
const F_SEEN_REPLY: u32 = 2;
const F_NAT: u32 = 4;
const F_PICKUP: u32 = 8;
const F_CLOSER_REPLY: u32 = 16;
const FIN: u32 = 1;
const SYN: u32 = 2;
const RST: u32 = 4;
const ACK: u32 = 16;
const SYN_ACK: u32 = SYN | ACK;
const TCP_SYN_SENT: u32 = 1;
const TCP_SYN_RECV: u32 = 2;
const TCP_ESTABLISHED: u32 = 3;
const TCP_FIN_WAIT: u32 = 4;
const TCP_CLOSE_WAIT: u32 = 5;
const TCP_LAST_ACK: u32 = 6;
const TCP_TIME_WAIT: u32 = 7;
const TCP_CLOSE: u32 = 8;
const UDP_UNREPLIED: u32 = 1;
const UDP_STREAM: u32 = 2;
const K_ORIG: u32 = 0;
const K_REPLY: u32 = 1;
/** Conntrack.fastHits kind of a created entry (conntrack.ts FAST_CREATED) */
const KIND_CREATED: u32 = 4;
// timeout classes (datapath/ct-timeouts.ts)
const TO_TCP_SYN_SENT: usize = 0;
const TO_TCP_SYN_RECV: usize = 1;
const TO_TCP_ESTABLISHED: usize = 2;
const TO_TCP_FIN_WAIT: usize = 3;
const TO_TCP_CLOSE_WAIT: usize = 4;
const TO_TCP_LAST_ACK: usize = 5;
const TO_TCP_TIME_WAIT: usize = 6;
const TO_TCP_CLOSE: usize = 7;
const TO_UDP_UNREPLIED: usize = 8;
const TO_UDP_STREAM: usize = 9;
const TO_GENERIC: usize = 19;
/** TCP flag combinations (flags & 0x37) that are valid and carry no SYN: ACK, ACK+URG, FIN+ACK, FIN+ACK+URG, RST, RST+ACK */
const TCP_FAST: u64 = (1 << 0x10) | (1 << 0x30) | (1 << 0x11) | (1 << 0x31) | (1 << 0x04) | (1 << 0x14);
/** every valid combination (conntrack.ts TCP_VALID): the above, SYN, SYN+URG and SYN+ACK */
const TCP_VALID: u64 = TCP_FAST | (1 << 0x02) | (1 << 0x22) | (1 << 0x12);
const SEED_TUPLE: u32 = 0x6b706674;
const SEED_MEMO: u32 = 0x6d656d6f;
const MAX_TRUSTED_WIRE_LEN: u32 = 262144;
const REF_BIAS: u32 = 3;
const FLAG_REPLY: u8 = 1;
const VERDICT_FORWARDED: u8 = 1;
const VERDICT_DROPPED: u8 = 2;
// decision memo slot (64 bytes): u32 key (fp | class << 16 | by-sport 1 << 30 | valid 1 << 31), src, dst, ports (the
// whole word when by sport, else the destination port); the record: egress, ingress, srcEp, dstEp, srcId, dstId,
// backend (32-bit), reason u16 at 44, flags u8 at 46, verdict u8 at 47
const M_KEY: usize = 0;
const M_SRC: usize = 4;
const M_DST: usize = 8;
const M_PORTS: usize = 12;
const M_EGRESS: usize = 16;
const M_INGRESS: usize = 20;
const M_REASON: usize = 44;
const M_FLAGS: usize = 46;
const M_VERDICT: usize = 47;
const M_VALID: u32 = 0x80000000;
const M_BY_SPORT: u32 = 0x40000000;

export function setLayout(
  descAt: usize,
  stateAt: usize,
  timeoutsAt: usize,
  chunkRecords: u32,
  offsets: usize,
  capLens: usize,
  wireLens: usize,
  linkTypes: usize,
  tsSec: usize,
  tsNsec: usize,
  shards: usize,
  bytes: usize,
  out: usize,
  log: usize,
  established: u32,
  reply: u32,
  memoAt: usize,
  memoSlots: u32,
  dropsAt: usize,
  snapAt: usize,
): void {
  desc = descAt;
  st = stateAt;
  timeouts = timeoutsAt;
  setInput(offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, bytes, 0xffffffff, out, chunkRecords);
  inShard = shards;
  logBase = log;
  reasonEstablished = established;
  reasonReply = reply;
  memo = memoAt;
  memoMask = memoSlots - 1;
  drops = dropsAt;
  snap = snapAt;
}

/**
 * Keeps the tally list at `at` (0: none): `run` adds to it the index of every record it classifies other than an
 * established packet (the memoized drops and new connections); the caller adds those it declines. The caller zeroes
 * S_TALLY_N and S_EST_BYTES before a batch.
 */
export function setTally(at: usize): void {
  tallyAt = at;
}

/**
 * Where `run` reads its records and writes their verdicts: the record columns, the frames' bytes (`bytesLen` of them;
 * a frame that runs past them is declined) and a VerdictBatch of `records` records (its columns `records` apart).
 * The chunk buffers setLayout gave, or a batch in this memory read there by another thread (wasm-core.ts
 * FastCore.useBatch).
 */
export function setInput(offsets: usize, capLens: usize, wireLens: usize, linkTypes: usize, tsSec: usize, tsNsec: usize, bytes: usize, bytesLen: usize, out: usize, records: u32): void {
  inOff = offsets;
  inCap = capLens;
  inWire = wireLens;
  inLink = linkTypes;
  inSec = tsSec;
  inNsec = tsNsec;
  inBytes = bytes;
  inLen = bytesLen;
  outBase = out;
  chunk = records;
}

// ---- hashing (datapath/flow-hash.ts tupleHashI of an IPv4 tuple: the fold of an IPv4 address is the address) ------
@inline function mix(h: u32, w: u32): u32 {
  let k = w * 0xcc9e2d51;
  k = rotl<u32>(k, 15);
  k = k * 0x1b873593;
  h ^= k;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

@inline function fmix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** tupleHashI of the IPv4 tuple (fp, src, dst, ports) (CtTable.find's hash) */
@inline function tupleHash(fp: u32, src: u32, dst: u32, ports: u32): u32 {
  let h = mix(SEED_TUPLE, fp);
  h = mix(h, src);
  h = mix(h, dst);
  h = mix(h, ports);
  return fmix(h);
}

/**
 * The index record of table d holding the IPv4 TCP (table 0) or UDP (table 1) tuple with hash h: (entry << 2 | kind)
 * + 1, or 0 (CtTable.find). Only inline slots can hold such a tuple, and theirs is in the slot (CtTable.idx): a probe
 * reads the index's cache line and not the entry's tuple, which would be another random load a packet.
 */
function probe(d: usize, h: u32, src: u32, dst: u32, ports: u32): u32 {
  const idx: usize = <usize>load<u32>(d + D_IDX);
  const mask = load<u32>(<usize>load<u32>(d + D_META) + MT_MASK);
  let j = h & mask;
  while (true) {
    const slot: usize = idx + (<usize>j << SLOT_SHIFT);
    const w = load<u32>(slot);
    if (w == 0) return 0;
    if ((w & SLOT_INLINE) != 0 && load<u32>(slot, 4) == src && load<u32>(slot, 8) == dst && load<u32>(slot, 12) == ports) return w & SLOT_REF;
    j = (j + 1) & mask;
  }
}

/**
 * Writes record `ref`'s slot at `slot` (CtTable.writeSlot): its reference + 1, flagged inline for an IPv4 TCP or UDP
 * entry, and its tuple's last source and destination address words and its ports word, from the entry's tuple.
 */
@inline function writeSlot(d: usize, slot: usize, ref: u32): void {
  const e: usize = <usize>(ref >> 2);
  const kind = ref & 3;
  const o: usize = <usize>load<u32>(d + D_TUP) + e * STRIDE_BYTES;
  let so: usize, dof: usize, p: u32;
  if (kind == 0) {
    so = o + O_OSRC;
    dof = o + O_ODST;
    p = load<u32>(o + O_OPORTS);
  } else if (kind == 1) {
    so = o + O_RSRC;
    dof = o + O_RDST;
    p = load<u32>(o + O_RPORTS);
  } else if (kind == 2) {
    so = o + O_RDST;
    dof = o + O_RSRC;
    p = load<u32>(o + O_XPORTS);
  } else {
    so = o + O_ODST;
    dof = o + O_OSRC;
    p = load<u32>(o + O_UPORTS);
  }
  const fp = <u32>load<u16>(<usize>load<u32>(d + D_FP) + (e << 1));
  store<u32>(slot, (ref + 1) | (fp == FP_TCP4 || fp == FP_UDP4 ? SLOT_INLINE : 0));
  store<u32>(slot, load<u32>(so, 12), 4);
  store<u32>(slot, load<u32>(dof, 12), 8);
  store<u32>(slot, p, 12);
}

/**
 * Adds index record `ref` with hash h to table d (CtTable.idxInsert; the caller checked the index has room at load
 * <= 0.5: it grows only in TypeScript).
 */
@inline function idxInsert(d: usize, h: u32, ref: u32): void {
  const idx: usize = <usize>load<u32>(d + D_IDX);
  const meta: usize = <usize>load<u32>(d + D_META);
  const mask = load<u32>(meta + MT_MASK);
  let j = h & mask;
  while (load<u32>(idx + (<usize>j << SLOT_SHIFT)) != 0) j = (j + 1) & mask;
  writeSlot(d, idx + (<usize>j << SLOT_SHIFT), ref);
  store<u32>(meta + MT_RECORDS, load<u32>(meta + MT_RECORDS) + 1);
}

/**
 * CtTable.growIndex of table d to `slots` slots (a power of two, within the room the index has): the index is
 * zeroed and every record of every live entry placed again from the hashes the entry keeps (its original and reply
 * tuples, and with NAT the translated and untranslated ones), in entry order. The same records as a rehash of the old
 * slots, in other places of the same probe sequences: lookups find what they found. The TypeScript loop that
 * re-placed the old slots ran cold (a table grows a handful of times a replay), ~28 ns a record, ~7 ms of the peers'
 * replay; this is a pass over the entries' arrays in order and the index's writes. Writing the zeros first maps the
 * new pages by a write (see wasm-core.ts prefaultPages).
 */
export function rebuildIndex(d: usize, slots: u32): void {
  const idx: usize = <usize>load<u32>(d + D_IDX);
  const meta: usize = <usize>load<u32>(d + D_META);
  const used: usize = <usize>load<u32>(d + D_USED);
  const flags: usize = <usize>load<u32>(d + D_FLAGS);
  const rechash: usize = <usize>load<u32>(d + D_RECHASH);
  const mask = slots - 1;
  memory.fill(idx, 0, <usize>slots << SLOT_SHIFT);
  store<u32>(meta + MT_MASK, mask);
  const fresh = load<u32>(meta + MT_FRESH);
  for (let e: u32 = 0; e < fresh; e++) {
    const ee = <usize>e;
    if (load<u8>(used + ee) == 0) continue;
    const kinds: u32 = (<u32>load<u8>(flags + ee) & F_NAT) != 0 ? 4 : 2;
    for (let k: u32 = 0; k < kinds; k++) {
      const h = load<u32>(rechash + (ee << 4) + (<usize>k << 2));
      let j = h & mask;
      while (load<u32>(idx + (<usize>j << SLOT_SHIFT)) != 0) j = (j + 1) & mask;
      writeSlot(d, idx + (<usize>j << SLOT_SHIFT), (e << 2) | k);
    }
  }
}

/**
 * The decision memo: a direct-mapped table of the general path's decisions for the first packet of IPv4 TCP/UDP
 * connections (Classifier.classifyDecoded) — policy drops, and new connections allowed without NAT. A decision
 * depends only on the source, the destination, the protocol and destination port, on whether the packet could open a
 * connection (`cls`: 0 a bare SYN, 1 any other valid TCP packet, a mid-flow pickup, 2 UDP) and on the snapshot (the
 * caller clears the memo when it changes) — and on the source port too when a Service backend was chosen (by a hash
 * of the whole tuple), and such keys hold the whole ports word. Returns the slot holding the packet's key, or 0.
 */
function memoFind(fp: u32, cls: u32, src: u32, dst: u32, ports: u32): usize {
  const m = memoSlot(fp, cls, src, dst, ports);
  const key = load<u32>(m, M_KEY);
  if ((key & ~M_BY_SPORT) != (fp | (cls << 16) | M_VALID) || load<u32>(m, M_SRC) != src || load<u32>(m, M_DST) != dst) return 0;
  if (load<u32>(m, M_PORTS) != ((key & M_BY_SPORT) != 0 ? ports : ports & 0xffff)) return 0;
  return m;
}

/** The memo slot of a key (wasm-core.ts memoHash). */
@inline function memoSlot(fp: u32, cls: u32, src: u32, dst: u32, ports: u32): usize {
  let h = mix(SEED_MEMO, fp | (cls << 16));
  h = mix(h, src);
  h = mix(h, dst);
  h = mix(h, ports & 0xffff);
  h = fmix(h);
  return memo + (<usize>(h & memoMask) << 6);
}

/** LpmTable.lookup of an IPv4 address in the snapshot's ipcache: the ipinfo index (datapath/lpm.ts lookupI). */
function lpm4(a: u32): u32 {
  const u: usize = <usize>load<u32>(snap + SN_LPM);
  const mask = load<u32>(u + (LPM_SLOTS_WORD << 2)) - 1;
  const n = <usize>load<u32>(u + (LPM_N4_WORD << 2));
  for (let k: usize = 0; k < n; k++) {
    const len = load<u32>(u + ((LPM_LENS4 + k) << 2));
    const m3: u32 = len == 0 ? 0 : a & (<u32>0xffffffff << (32 - len));
    const meta: u32 = 0x10000 | 0x400 | len;
    let h = mix(0x6c706d31, meta);
    h = mix(h, 0);
    h = mix(h, 0);
    h = mix(h, 0);
    h = mix(h, m3);
    let i = fmix(h) & mask;
    while (true) {
      const o: usize = u + ((LPM_SLOTS + <usize>i * 6) << 2);
      const mt = load<u32>(o);
      if (mt == 0) break;
      if (mt == meta && load<u32>(o, 16) == m3) return load<u32>(o, 20);
      i = (i + 1) & mask;
    }
  }
  return load<u32>(u + (LPM_DEFAULT_WORD << 2));
}

/** The policy map's entry of (k0, k1, k2), or -1 (datapath/policy-map.ts probe). */
function pmProbe(k0: u32, k1: u32, k2: u32): i32 {
  let h = mix(0x9e3779b9, k0);
  h = mix(h, k1);
  h = mix(h, k2);
  const mask = load<u32>(snap + SN_PM_MASK);
  let s = fmix(h) & mask;
  const slots: usize = <usize>load<u32>(snap + SN_PM_SLOT);
  const a0: usize = <usize>load<u32>(snap + SN_PM_K0);
  const a1: usize = <usize>load<u32>(snap + SN_PM_K1);
  const a2: usize = <usize>load<u32>(snap + SN_PM_K2);
  while (true) {
    const ss = <usize>s << 2;
    const v = load<i32>(slots + ss);
    if (v == 0) return -1;
    if (load<u32>(a0 + ss) == k0 && load<u32>(a1 + ss) == k1 && load<u32>(a2 + ss) == k2) return v - 1;
    s = (s + 1) & mask;
  }
}

/** datapath/policy-map.ts probeTier */
function probeTier(k0: u32, id: u32, bits: u32, proto: u32, port: u32): i32 {
  if (bits == 0) return -1;
  for (let len: i32 = 16; len >= 0; len--) {
    if ((bits & (1 << len)) == 0) continue;
    const masked: u32 = len == 0 ? 0 : (port >> <u32>(16 - len)) << <u32>(16 - len);
    const e = pmProbe(k0, id, (proto << 24) | (<u32>len << 16) | masked);
    if (e >= 0) return e;
  }
  if ((bits & PM_BIT_PROTO_ANY) != 0) return pmProbe(k0, id, 0);
  return -1;
}

/** datapath/policy-map.ts lookupPolicy (proto is TCP or UDP here) */
function policyLookup(ep: u32, dir: u32, remote: u32, proto: u32, port: u32): i32 {
  const iso = <u32>load<u8>(<usize>load<u32>(snap + SN_PM_ISOLATED) + <usize>ep);
  if ((iso & (dir == 0 ? 1 : 2)) == 0) return LOOKUP_NOT_ISOLATED;
  const k0 = (ep << 1) | dir;
  let e = probeTier(k0, remote, load<u32>(<usize>load<u32>(snap + SN_PM_MASK_ID) + (<usize>k0 << 2)), proto, port);
  if (e >= 0) return e;
  e = probeTier(k0, 0, load<u32>(<usize>load<u32>(snap + SN_PM_MASK_ANY) + (<usize>k0 << 2)), proto, port);
  return e >= 0 ? e : LOOKUP_DENIED;
}

/**
 * datapath/decide.ts `decide` for the first packet of an IPv4 TCP/UDP connection with no conntrack entry and no
 * memoized decision, when the destination is certainly no ClusterIP (Service NAT stays with the general path): the
 * loopback bypass, the ipcache, the egress of the source pod, the node-ingress bypass and the ingress of the
 * destination pod. The decision goes into the packet's memo slot, exactly as the general path's would
 * (Classifier.memoize), and the slot is returned; 0 declines (nothing changed). A mid-flow packet (cls 1) is decided
 * here only with --ct-pickup=on, and only a drop is kept: the general path creates picked-up connections.
 */
function decide4(cls: u32, fp: u32, src: u32, dst: u32, ports: u32, proto: u32): usize {
  const sn = snap;
  if (load<u32>(sn + SN_ENABLED) == 0) return 0;
  if (cls == 1 && load<u32>(sn + SN_PICKUP) != 1) return 0;
  const flags = load<u32>(sn + SN_FLAGS);
  const ipEndpoint: usize = <usize>load<u32>(sn + SN_IP_ENDPOINT);
  const ipIdentity: usize = <usize>load<u32>(sn + SN_IP_IDENTITY);
  let drop = false;
  let bypass = false;
  let reason: u16 = WHY_POLICY;
  let egress: i32 = NOT_EVALUATED;
  let ingress: i32 = NOT_EVALUATED;
  let srcEp: i32 = 0;
  let dstEp: i32 = 0;
  let srcId: u32 = 0;
  let dstId: u32 = 0;
  if (src == dst && load<i32>(ipEndpoint + (<usize>lpm4(src) << 2)) != 0) {
    bypass = true;
    reason = WHY_LOOPBACK;
  } else {
    if ((flags & SB_DNAT_OFF) == 0 && load<u32>(sn + SN_VIP_ANY) != 0) {
      if (((<u32>load<u8>(<usize>load<u32>(sn + SN_VIP_FILTER) + <usize>((dst & 0xffff) >> 3)) >> (dst & 7)) & 1) != 0) return 0;
    }
    const sv = lpm4(src);
    const dv = lpm4(dst);
    srcEp = load<i32>(ipEndpoint + (<usize>sv << 2));
    dstEp = load<i32>(ipEndpoint + (<usize>dv << 2));
    srcId = load<u32>(ipIdentity + (<usize>sv << 2));
    dstId = load<u32>(ipIdentity + (<usize>dv << 2));
    const dport = ports & 0xffff;
    if (srcEp != 0) {
      egress = policyLookup(<u32>srcEp, 1, dstId, proto, dport);
      if (egress == LOOKUP_DENIED) drop = true;
    }
    if (!drop && dstEp != 0) {
      const node = load<i32>(<usize>load<u32>(sn + SN_IP_NODE) + (<usize>sv << 2));
      if (node != 0 && node == load<i32>(<usize>load<u32>(sn + SN_ENDPOINT_NODE) + (<usize>dstEp << 2)) && (flags & SB_NODE_INGRESS_POLICY) == 0) {
        bypass = true;
        reason = WHY_NODE_INGRESS;
      } else {
        ingress = policyLookup(<u32>dstEp, 0, srcId, proto, dport);
        if (ingress == LOOKUP_DENIED) drop = true;
      }
    }
    if (drop) reason = DROP_POLICY_DENIED;
  }
  if (!drop && cls == 1) return 0;
  const m = memoSlot(fp, cls, src, dst, ports);
  store<u32>(m, fp | (cls << 16) | M_VALID, M_KEY);
  store<u32>(m, src, M_SRC);
  store<u32>(m, dst, M_DST);
  store<u32>(m, ports & 0xffff, M_PORTS);
  store<i32>(m, egress, M_EGRESS);
  store<i32>(m, ingress, M_INGRESS);
  store<i32>(m, srcEp, M_EGRESS + 8);
  store<i32>(m, dstEp, M_EGRESS + 12);
  store<u32>(m, srcId, M_EGRESS + 16);
  store<u32>(m, dstId, M_EGRESS + 20);
  store<i32>(m, -1, M_EGRESS + 24);
  store<u16>(m, reason, M_REASON);
  store<u8>(m, PF_NEW | (cls == 1 ? PF_PICKUP : 0) | (bypass ? PF_BYPASS : 0), M_FLAGS);
  store<u8>(m, drop ? VERDICT_DROPPED : VERDICT_FORWARDED, M_VERDICT);
  return m;
}

/**
 * Conntrack.lookup's effects for a packet with no entry: the clock, a lookup and a miss in table d's counters.
 * Returns the packet's time (ns).
 */
@inline function missedLookup(i: u32, tcp: bool): f64 {
  const n: f64 = load<f64>(inSec + (<usize>i << 3)) * 1e9 + <f64>load<u32>(inNsec + (<usize>i << 2));
  const clock = load<f64>(st + S_CLOCK);
  if (n < clock) store<u32>(st + S_REGRESSIONS, load<u32>(st + S_REGRESSIONS) + 1);
  else store<f64>(st + S_CLOCK, n);
  store<u32>(st + S_TICKED, 1);
  store<u32>(st + S_LAST_TABLE, tcp ? 0 : 1);
  const misses: usize = tcp ? S_MISSES_TCP : S_MISSES_OTHER;
  store<u32>(st + misses, load<u32>(st + misses) + 1);
  return n;
}

/** Record i from memo slot m (egress … backend, the reason and the flags) with `verdict`, into the tally list too. */
@inline function memoRecord(i: u32, m: usize, verdict: u8): void {
  const C = <usize>chunk;
  const ii = <usize>i;
  store<i32>(outBase + (ii << 2), load<i32>(m, M_EGRESS));
  store<i32>(outBase + 4 * C + (ii << 2), load<i32>(m, M_EGRESS + 4));
  store<i32>(outBase + 8 * C + (ii << 2), load<i32>(m, M_EGRESS + 8));
  store<i32>(outBase + 12 * C + (ii << 2), load<i32>(m, M_EGRESS + 12));
  store<u32>(outBase + 16 * C + (ii << 2), load<u32>(m, M_EGRESS + 16));
  store<u32>(outBase + 20 * C + (ii << 2), load<u32>(m, M_EGRESS + 20));
  store<i32>(outBase + 24 * C + (ii << 2), load<i32>(m, M_EGRESS + 24));
  store<u16>(outBase + 28 * C + (ii << 1), load<u16>(m, M_REASON));
  store<u8>(outBase + 30 * C + ii, verdict);
  store<u8>(outBase + 31 * C + ii, load<u8>(m, M_FLAGS));
  if (tallyAt != 0) {
    const k = load<u32>(st + S_TALLY_N);
    store<u32>(tallyAt + (<usize>k << 2), i);
    store<u32>(st + S_TALLY_N, k + 1);
  }
}

/**
 * A packet with no conntrack entry whose memoized decision (slot m) is a drop: the same record, counters and conntrack
 * effects as the general path — a missed lookup, a policy evaluation, a drop. Only the verdict cache is not consulted
 * (its lookups are counted as memo hits instead).
 */
function memoDrop(i: u32, m: usize, tcp: bool, cls: u32, fromMemo: bool): void {
  missedLookup(i, tcp);
  // the scratch a missed lookup leaves (S_LAST_ENTRY all ones: no entry)
  store<u32>(st + S_LAST_ENTRY, 0xffffffff);
  store<u32>(st + S_LAST_KIND, 0);
  memoRecord(i, m, VERDICT_DROPPED);
  const reason = load<u16>(m, M_REASON);
  store<u32>(st + S_PACKETS, load<u32>(st + S_PACKETS) + 1);
  store<u32>(st + S_DROPPED, load<u32>(st + S_DROPPED) + 1);
  store<u32>(st + S_EVALUATIONS, load<u32>(st + S_EVALUATIONS) + 1);
  if (cls == 1) store<u32>(st + S_PICKUPS, load<u32>(st + S_PICKUPS) + 1);
  const dr: usize = drops + (<usize>(reason & 255) << 2);
  store<u32>(dr, load<u32>(dr) + 1);
  const k: usize = fromMemo ? S_MEMO_HITS : S_DECIDED;
  store<u32>(st + k, load<u32>(st + k) + 1);
}

/**
 * A bare SYN or a UDP packet with no conntrack entry whose memoized decision (slot m) allows a new connection without
 * NAT: CtTable.create and its first CtTable.account, in table d, for the tuple (fp, src, dst, ports) of hash hO, and
 * the general path's record and counters. Declines (false, nothing changed) when the table is full (create would
 * evict). CtTable.create also removes entries holding the new reply tuple, but there is none: every entry's tuples
 * come in reverse pairs (reply/original, and translated/untranslated with NAT), so an entry holding the reverse of
 * the packet's tuple holds the packet's tuple too, and the lookup found none. Also declines when its 2 index records
 * would take the index past load 0.5: the index grows only in TypeScript (CtTable.create).
 */
function memoCreate(i: u32, m: usize, d: usize, hO: u32, fp: u32, src: u32, dst: u32, ports: u32, tcp: bool, tot: u32, fromMemo: bool): bool {
  const rports = (ports << 16) | (ports >> 16);
  const meta: usize = <usize>load<u32>(d + D_META);
  const freeTop = load<u32>(meta + MT_FREE_TOP);
  const fresh = load<u32>(meta + MT_FRESH);
  if (freeTop == 0 && fresh == load<u32>(d + D_CAPACITY)) return false;
  if (<u32>2 * (load<u32>(meta + MT_RECORDS) + 2) > load<u32>(meta + MT_MASK) + 1) return false;
  // ---- ours from here on: Conntrack.lookup's miss, then create at the clock (Conntrack.setTime)
  missedLookup(i, tcp);
  const now = load<f64>(st + S_CLOCK);
  let e: u32;
  if (freeTop > 0) {
    e = load<u32>(<usize>load<u32>(d + D_FREE) + (<usize>(freeTop - 1) << 2));
    store<u32>(meta + MT_FREE_TOP, freeTop - 1);
  } else {
    e = fresh;
    store<u32>(meta + MT_FRESH, fresh + 1);
  }
  const ee = <usize>e;
  // the tuples: original (src → dst, ports), reply (dst → src, ports swapped); no translation
  const o: usize = <usize>load<u32>(d + D_TUP) + ee * STRIDE_BYTES;
  memory.fill(o, 0, STRIDE_BYTES);
  store<u32>(o + O_OSRC, src, 12);
  store<u32>(o + O_ODST, dst, 12);
  store<u32>(o + O_OPORTS, ports);
  store<u32>(o + O_RSRC, dst, 12);
  store<u32>(o + O_RDST, src, 12);
  store<u32>(o + O_RPORTS, rports);
  store<u32>(o + O_XPORTS, ports);
  store<u32>(o + O_UPORTS, rports);
  store<u16>(<usize>load<u32>(d + D_FP) + (ee << 1), <u16>fp);
  store<u8>(<usize>load<u32>(d + D_KIND) + ee, tcp ? <u8>KIND_TCP : <u8>KIND_UDP);
  store<u8>(<usize>load<u32>(d + D_USED) + ee, 1);
  store<u8>(<usize>load<u32>(d + D_VERDICT) + ee, VERDICT_FORWARDED);
  store<u32>(<usize>load<u32>(d + D_REV) + (ee << 2), load<u32>(st + S_REVISION));
  const eg = load<i32>(m, M_EGRESS);
  const ing = load<i32>(m, M_INGRESS);
  const nRules = load<u32>(d + D_NRULES);
  const rules: usize = <usize>load<u32>(d + D_RULES) + ee * <usize>nRules * 4;
  memory.fill(rules, 0, <usize>nRules * 4);
  if (nRules > 0) store<u32>(rules, <u32>(eg + <i32>REF_BIAS));
  if (nRules > 1) store<u32>(rules, <u32>(ing + <i32>REF_BIAS), 4);
  // the numbers, with the first packet accounted (original direction)
  const num: usize = <usize>load<u32>(d + D_NUM) + ee * NUM_BYTES;
  store<f64>(num, now, 8);
  store<f64>(num, 1, 16);
  store<f64>(num, 0, 24);
  store<f64>(num, <f64>tot, 32);
  store<f64>(num, 0, 40);
  store<f64>(num, now, 48);
  // the state: a bare SYN opens (SYN_SENT, and the SYN changes nothing), UDP is unreplied
  store<u8>(<usize>load<u32>(d + D_STATE) + ee, tcp ? <u8>TCP_SYN_SENT : <u8>UDP_UNREPLIED);
  store<u8>(<usize>load<u32>(d + D_FLAGS) + ee, 0);
  store<f64>(num, now + load<f64>(timeouts + ((tcp ? TO_TCP_SYN_SENT : TO_UDP_UNREPLIED) << 3)));
  const hR = tupleHash(fp, dst, src, rports);
  const rh: usize = <usize>load<u32>(d + D_RECHASH) + (ee << 4);
  store<u32>(rh, hO);
  store<u32>(rh, hR, 4);
  store<u32>(rh, 0, 8);
  store<u32>(rh, 0, 12);
  idxInsert(d, hO, (e << 2) | K_ORIG);
  idxInsert(d, hR, (e << 2) | K_REPLY);
  store<u32>(meta + MT_ENTRIES, load<u32>(meta + MT_ENTRIES) + 1);
  const creates: usize = tcp ? S_CREATES_TCP : S_CREATES_OTHER;
  store<u32>(st + creates, load<u32>(st + creates) + 1);
  store<u32>(st + S_LAST_ENTRY, e);
  store<u32>(st + S_LAST_KIND, KIND_CREATED);
  // ---- Classifier.classifyDecoded: the record, the counters, the per-rule counters (through the log)
  memoRecord(i, m, VERDICT_FORWARDED);
  store<u32>(st + S_PACKETS, load<u32>(st + S_PACKETS) + 1);
  store<u32>(st + S_FORWARDED, load<u32>(st + S_FORWARDED) + 1);
  store<u32>(st + S_EVALUATIONS, load<u32>(st + S_EVALUATIONS) + 1);
  const kk: usize = fromMemo ? S_MEMO_NEW : S_DECIDED;
  store<u32>(st + kk, load<u32>(st + kk) + 1);
  if (eg >= 0 || ing >= 0) countRules(eg, ing, tot);
  return true;
}

/**
 * Classifier.count of the egress and ingress policy-map entries that allowed a packet of `bytes` bytes (-1: none):
 * into the counters when they are in this memory, else through the log for the caller.
 */
@inline function countRules(eg: i32, ing: i32, bytes: u32): void {
  const cb: usize = <usize>load<u32>(st + S_COUNTS);
  if (cb != 0) {
    const cap: usize = <usize>load<u32>(st + S_COUNT_CAP) << 3;
    const b = <f64>bytes;
    if (eg >= 0) {
      const a: usize = cb + (<usize>eg << 3);
      store<f64>(a, load<f64>(a) + 1);
      store<f64>(a + cap, load<f64>(a + cap) + b);
    }
    if (ing >= 0) {
      const a: usize = cb + (<usize>ing << 3);
      store<f64>(a, load<f64>(a) + 1);
      store<f64>(a + cap, load<f64>(a + cap) + b);
    }
    return;
  }
  const k = load<u32>(st + S_LOG);
  const at: usize = logBase + <usize>k * 12;
  store<i32>(at, eg);
  store<i32>(at, ing, 4);
  store<u32>(at, bytes, 8);
  store<u32>(st + S_LOG, k + 1);
}

/**
 * packet/fast4.ts's parse of chunk record i: the address of its IPv4 header when the frame is the common case (Ethernet
 * II or raw IP, IPv4 without options, unfragmented, captured whole, a TCP or UDP header that fits), else 0. The
 * caller checked every record lies inside the batch buffer; `rangeStart` is the batch offset of bytes[0].
 */
@inline function parse4(ii: usize, rangeStart: u32): usize {
  const off = load<u32>(inOff + (ii << 2));
  const capLen = load<u32>(inCap + (ii << 2));
  const wireLen = load<u32>(inWire + (ii << 2));
  const lt = <u32>load<u16>(inLink + (ii << 1));
  const rel: usize = <usize>(off - rangeStart);
  if (rel + <usize>capLen > inLen) return 0;
  return parseFrame(inBytes + rel, capLen, wireLen, lt);
}

/** parse4 of a frame at `b` of `capLen` bytes that lies in the buffer (wire length `wireLen`, link type `lt`). */
@inline function parseFrame(b: usize, capLen: u32, wireLen: u32, lt: u32): usize {
  let p: usize;
  if (lt == 1) {
    if (capLen < 34 || load<u8>(b, 12) != 0x08 || load<u8>(b, 13) != 0x00) return 0;
    p = b + 14;
  } else if (lt == 101 || lt == 228) {
    p = b;
  } else return 0;
  const ce: usize = b + <usize>capLen;
  if (ce - p < 20 || load<u8>(p) != 0x45) return 0;
  const wire = wireLen >= capLen && wireLen <= MAX_TRUSTED_WIRE_LEN ? wireLen : capLen;
  const tot = (<u32>load<u8>(p, 2) << 8) | <u32>load<u8>(p, 3);
  const pend: usize = p + <usize>tot;
  if (pend > ce || pend > b + <usize>wire) return 0;
  if ((((<u32>load<u8>(p, 6) << 8) | <u32>load<u8>(p, 7)) & 0x3fff) != 0) return 0;
  const proto = <u32>load<u8>(p, 9);
  const l4: usize = p + 20;
  const l4len = <i32>tot - 20;
  if (proto == 6) {
    if (l4len < 20) return 0;
    const doff = <i32>((<u32>load<u8>(l4, 12) >> 4) << 2);
    if (doff < 20 || doff > l4len) return 0;
  } else if (proto == 17) {
    if (l4len < 8) return 0;
    const ulen = <i32>((<u32>load<u8>(l4, 4) << 8) | <u32>load<u8>(l4, 5));
    if (ulen < 8 || ulen > l4len) return 0;
  } else return 0;
  return p;
}

/**
 * The descriptor of each record [0, n) of the input (setInput) at `at`, 16 bytes a record: for a frame `run` takes
 * (parse4's common case, with a valid TCP flag combination), its source address, destination address and ports word
 * (host order, as `run` compares them) and the word proto | TCP flags << 8 | IP total length << 16; for any other
 * record four zero words (proto is 6 or 17 in a descriptor, so its last word is never 0). `run` then reads 16 bytes a
 * record instead of the record's columns and its frame's headers: the replay's main thread, which has just read and
 * walked the batch (its bytes are in that core's caches), describes it, and the worker, the replay's long pole,
 * classifies it. Pure: it reads the input and writes the descriptors, and changes no global.
 */
export function describe(n: u32, rangeStart: u32, at: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const ii = <usize>i;
    writeDesc(at + (ii << 4), parse4(ii, rangeStart));
  }
}

/** The descriptor at `o` of a frame parse4 (or parseFrame) gave `p` for (0: declined). */
@inline function writeDesc(o: usize, p: usize): void {
  let meta: u32 = 0;
  if (p != 0) {
    const proto = <u32>load<u8>(p, 9);
    const tot = (<u32>load<u8>(p, 2) << 8) | <u32>load<u8>(p, 3);
    let fl: u32 = 0;
    let ok = true;
    if (proto == 6) {
      fl = <u32>load<u8>(p + 20, 13);
      ok = ((TCP_VALID >> <u64>(fl & 0x37)) & 1) != 0;
    }
    if (ok) meta = proto | (fl << 8) | (tot << 16);
  }
  if (meta == 0) {
    store<u64>(o, 0);
    store<u64>(o, 0, 8);
    return;
  }
  store<u32>(o, bswap<u32>(load<u32>(p, 12)));
  store<u32>(o, bswap<u32>(load<u32>(p, 16)), 4);
  store<u32>(o, bswap<u32>(load<u32>(p + 20)), 8);
  store<u32>(o, meta, 12);
}

// ---- the classic pcap record walk (sources/pcap.ts PcapReader.parsePlain) ------------------------------------------
const MAX_SNAPLEN: u32 = 262144;
let walkAt: u32 = 0;
let walkTrunc: u32 = 0;
let walkSec: f64 = 0;
let walkNsec: f64 = 0;

/**
 * PcapReader.parsePlain in compiled code, over a buffer and columns in this memory: from byte `start` of the buffer
 * at `bufAt` (`end` bytes in it), records go into the columns at index `count` up, for as long as each is the plain
 * case — a whole 16-byte header and record, caplen within the snaplen and at most len, len at most MAX_SNAPLEN, the
 * fraction below a second, the time not before the latest (`maxSec`, `maxNsec`) — and fewer than `max` are in the
 * batch. `le`: little-endian headers; `nanos`: nanosecond fractions. Returns the new count; the offset it stopped at,
 * the truncated records (caplen < len) and the latest time are `walkEnd`, `walkTruncated`, `walkMaxSec`,
 * `walkMaxNsec`. The caller fills the columns the walk has no memory for (interfaces, file offsets). With `descAt`,
 * each record's descriptor too (`describe`'s, at its index: the walk keeps the buffer's bytes, so a record it delivers
 * lies in the buffer, as describe checks).
 */
export function walkPcap(
  bufAt: usize,
  start: u32,
  end: u32,
  le: u32,
  count: u32,
  max: u32,
  snaplen: u32,
  nanos: u32,
  maxSec: f64,
  maxNsec: f64,
  offsets: usize,
  capLens: usize,
  wireLens: usize,
  tsSec: usize,
  tsNsec: usize,
  linkTypes: usize,
  lt: u32,
  descAt: usize,
): u32 {
  const unit: u32 = nanos != 0 ? 1 : 1000;
  const fracMax: u32 = nanos != 0 ? 1000000000 : 1000000;
  let p = start;
  let truncated: u32 = 0;
  while (count < max && end - p >= 16) {
    const h: usize = bufAt + <usize>p;
    let sec = load<u32>(h);
    let frac = load<u32>(h, 4);
    let cap = load<u32>(h, 8);
    let len = load<u32>(h, 12);
    if (le == 0) {
      sec = bswap<u32>(sec);
      frac = bswap<u32>(frac);
      cap = bswap<u32>(cap);
      len = bswap<u32>(len);
    }
    if (cap > snaplen || cap > len || len > MAX_SNAPLEN || frac >= fracMax || end - p - 16 < cap) break;
    const nsec: u32 = frac * unit;
    const fs = <f64>sec;
    const fn = <f64>nsec;
    if (!(fs > maxSec || (fs == maxSec && fn >= maxNsec))) break;
    maxSec = fs;
    maxNsec = fn;
    const c = <usize>count;
    store<u32>(offsets + (c << 2), p + 16);
    store<u32>(capLens + (c << 2), cap);
    store<u32>(wireLens + (c << 2), len);
    store<f64>(tsSec + (c << 3), fs);
    store<u32>(tsNsec + (c << 2), nsec);
    store<u16>(linkTypes + (c << 1), <u16>lt);
    // the record's descriptor while its frame is in the cache (describe's, with the same parse)
    if (descAt != 0) writeDesc(descAt + (c << 4), parseFrame(h + 16, cap, len, lt));
    if (cap < len) truncated++;
    count++;
    p += 16 + cap;
  }
  walkAt = p;
  walkTrunc = truncated;
  walkSec = maxSec;
  walkNsec = maxNsec;
  return count;
}

export function walkEnd(): u32 {
  return walkAt;
}

export function walkTruncated(): u32 {
  return walkTrunc;
}

export function walkMaxSec(): f64 {
  return walkSec;
}

export function walkMaxNsec(): f64 {
  return walkNsec;
}

/**
 * Writes the columns every established packet's record has alike — source and destination endpoint and identity 0,
 * no backend — into chunk records [0, n), before `run` classifies them: one fill a column instead of five stores a
 * packet. A record any other path writes (memoRecord, the general path) overwrites them. Not the verdict: a record
 * has a verdict only once it is classified, so that the records of a batch whose thread failed in its middle are
 * told from those it classified (the replay engine gives them the default verdict; a prefilled FORWARDED would have
 * passed them as forwarded).
 */
export function prefill(n: u32): void {
  const C = <usize>chunk;
  const b: usize = <usize>n << 2;
  memory.fill(outBase + 8 * C, 0, b);
  memory.fill(outBase + 12 * C, 0, b);
  memory.fill(outBase + 16 * C, 0, b);
  memory.fill(outBase + 20 * C, 0, b);
  memory.fill(outBase + 24 * C, 0xff, b);
}

/**
 * Classifies chunk records [i, end) while they take the fast path; returns the first declined index, or `end`.
 * Records of other shards (`shard` >= 0 and shards[i] != shard) are skipped untouched. `revision` >= 0 requires the
 * entry's revision to equal it (--on-policy-change=reevaluate); `rangeStart` is the batch offset of bytes[0].
 */
export function run(i: u32, end: u32, rangeStart: u32, shard: i32, revision: f64): u32 {
  const C = <usize>chunk;
  // the previous packet's tuple and the index record it found (or created): in a capture most packets belong to the
  // connection of the packet before them (78 % of the peers' capture), in one direction or the other, and then the
  // lookup's answer is known without hashing and probing. Within one call only `run` changes the tables, and it
  // never removes a record, so a record found stays the tuple's until the call returns. 0: none.
  let lastSrc: u32 = 0;
  let lastDst: u32 = 0;
  let lastPorts: u32 = 0;
  let lastFp: u32 = 0;
  let lastRef: u32 = 0;
  // the memo slot of the previous packet when it was a memoized drop (lastRef 0) of class lastCls, else 0: a run of
  // dropped packets of one flow needs neither the conntrack probe (nothing was created since: it finds nothing again)
  // nor the memo's lookup (nothing was memoized since: the slot still holds the key)
  let lastDrop: usize = 0;
  let lastCls: u32 = 0;
  for (; i < end; i++) {
    const ii = <usize>i;
    if (shard >= 0 && <i32>load<u8>(inShard + ii) != shard) continue;
    let tot: u32, proto: u32, tcpFlags: u32 = 0, src: u32, dst: u32, ports: u32;
    let d: usize = desc + 128;
    if (inDesc != 0) {
      // the record's descriptor (describe): the same fields, or zeros where the parse below would decline
      const o: usize = inDesc + (ii << 4);
      const meta = load<u32>(o, 12);
      if (meta == 0) return i;
      proto = meta & 0xff;
      tcpFlags = (meta >> 8) & 0xff;
      tot = meta >> 16;
      src = load<u32>(o);
      dst = load<u32>(o, 4);
      ports = load<u32>(o, 8);
      if (proto == 6) d = desc;
    } else {
      // ---- packet/fast4.ts parse
      const p = parse4(ii, rangeStart);
      if (p == 0) return i;
      tot = (<u32>load<u8>(p, 2) << 8) | <u32>load<u8>(p, 3);
      proto = <u32>load<u8>(p, 9);
      const l4: usize = p + 20;
      if (proto == 6) {
        tcpFlags = <u32>load<u8>(l4, 13);
        // ---- CtTable.lookup: an invalid flag combination is INVALID (general path)
        if (((TCP_VALID >> <u64>(tcpFlags & 0x37)) & 1) == 0) return i;
        d = desc;
      }
      src = bswap<u32>(load<u32>(p, 12));
      dst = bswap<u32>(load<u32>(p, 16));
      ports = bswap<u32>(load<u32>(l4));
    }
    const fp: u32 = (4 << 8) | proto;
    // ---- CtTable.find
    let h: u32 = 0;
    let r1: u32 = 0;
    if (lastDrop != 0 && fp == lastFp && src == lastSrc && dst == lastDst && ports == lastPorts) {
      const cls: u32 = proto == 6 ? ((tcpFlags & SYN_ACK) == SYN ? 0 : 1) : 2;
      if (cls == lastCls) {
        memoDrop(i, lastDrop, proto == 6, cls, true);
        continue;
      }
    }
    lastDrop = 0;
    if (lastRef != 0 && fp == lastFp) {
      if (src == lastSrc && dst == lastDst && ports == lastPorts) r1 = lastRef;
      else if (src == lastDst && dst == lastSrc && ports == rotl<u32>(lastPorts, 16)) {
        // the reverse tuple: the entry's record of the other direction (with NAT, original ↔ un-NATed reply and
        // reply ↔ translated; without, original ↔ reply)
        const e: u32 = (lastRef - 1) >> 2;
        const k: u32 = (lastRef - 1) & 3;
        const nat = (<u32>load<u8>(<usize>load<u32>(d + D_FLAGS) + <usize>e) & F_NAT) != 0;
        r1 = ((e << 2) | (nat ? 3 - k : k ^ 1)) + 1;
      }
    }
    if (r1 == 0) {
      h = tupleHash(fp, src, dst, ports);
      r1 = probe(d, h, src, dst, ports);
    }
    lastFp = fp;
    lastSrc = src;
    lastDst = dst;
    lastPorts = ports;
    lastRef = r1;
    if (r1 == 0) {
      // no entry: a first packet, maybe of a decision the general path memoized
      const tcp = proto == 6;
      const cls: u32 = tcp ? ((tcpFlags & SYN_ACK) == SYN ? 0 : 1) : 2;
      let m = memoFind(fp, cls, src, dst, ports);
      const fromMemo = m != 0;
      if (!fromMemo) {
        m = decide4(cls, fp, src, dst, ports, proto);
        if (m == 0) return i;
      }
      const v = load<u8>(m, M_VERDICT);
      if (v == VERDICT_DROPPED) {
        memoDrop(i, m, tcp, cls, fromMemo);
        lastDrop = m;
        lastCls = cls;
      }
      else if (v != VERDICT_FORWARDED || cls == 1 || !memoCreate(i, m, d, h, fp, src, dst, ports, tcp, tot, fromMemo)) return i;
      // a created entry's original record holds this tuple
      else lastRef = (load<u32>(st + S_LAST_ENTRY) << 2) + 1;
      continue;
    }
    const e: u32 = (r1 - 1) >> 2;
    const kind: u32 = (r1 - 1) & 3;
    // ---- Conntrack.hit4: a flag combination without SYN (a bare SYN may reopen or be out of state), or SYN+ACK,
    // which is checked against the entry below
    if (proto == 6) {
      const f = tcpFlags & 0x37;
      if (f != SYN_ACK && ((TCP_FAST >> <u64>f) & 1) == 0) return i;
    }
    const n: f64 = load<f64>(inSec + (ii << 3)) * 1e9 + <f64>load<u32>(inNsec + (ii << 2));
    let clock = load<f64>(st + S_CLOCK);
    const num: usize = <usize>load<u32>(d + D_NUM) + <usize>e * NUM_BYTES;
    if (load<f64>(num) <= (n < clock ? clock : n)) return i;
    if (revision >= 0 && <f64>load<u32>(<usize>load<u32>(d + D_REV) + (<usize>e << 2)) != revision) return i;
    // CtTable.lookup: SYN+ACK in the original direction is out of state unless the entry was picked up mid-flow
    if (proto == 6 && (tcpFlags & 0x37) == SYN_ACK && (kind & 1) == 0 && (<u32>load<u8>(<usize>load<u32>(d + D_FLAGS) + <usize>e) & F_PICKUP) == 0) return i;
    const used = load<u8>(<usize>load<u32>(d + D_USED) + <usize>e);
    const ek = <u32>load<u8>(<usize>load<u32>(d + D_KIND) + <usize>e);
    // only the TCP and UDP machines are here (an IPv4 TCP/UDP tuple has no other); anything else is declined
    if (used == 0 || (ek != KIND_TCP && ek != KIND_UDP && ek != KIND_GENERIC)) return i;
    // ---- the packet is ours from here on: Conntrack.tick
    if (n < clock) store<u32>(st + S_REGRESSIONS, load<u32>(st + S_REGRESSIONS) + 1);
    else {
      clock = n;
      store<f64>(st + S_CLOCK, n);
    }
    store<u32>(st + S_TICKED, 1);
    if (proto == 6) store<u32>(st + S_HITS_TCP, load<u32>(st + S_HITS_TCP) + 1);
    else store<u32>(st + S_HITS_OTHER, load<u32>(st + S_HITS_OTHER) + 1);
    const dir: u32 = kind & 1;
    // ---- CtTable.account (now = the clock)
    const bytes = <f64>tot;
    const dd: usize = <usize>dir << 3;
    store<f64>(num + 16 + dd, load<f64>(num + 16 + dd) + 1);
    store<f64>(num + 32 + dd, load<f64>(num + 32 + dd) + bytes);
    if (clock > load<f64>(num, 8)) store<f64>(num, clock, 8);
    const flagsAt: usize = <usize>load<u32>(d + D_FLAGS) + <usize>e;
    const stateAt: usize = <usize>load<u32>(d + D_STATE) + <usize>e;
    let flags = <u32>load<u8>(flagsAt);
    if (dir == 1) flags |= F_SEEN_REPLY;
    let s = <u32>load<u8>(stateAt);
    let to: usize;
    if (ek == KIND_TCP) {
      const f = tcpFlags & 0x37;
      const closerDir: u32 = (flags & F_CLOSER_REPLY) != 0 ? 1 : 0;
      if ((f & RST) != 0) s = TCP_CLOSE;
      else if ((f & SYN) != 0) {
        // SYN+ACK (a bare SYN never gets here)
        if (dir == 1 && s == TCP_SYN_SENT) s = TCP_SYN_RECV;
      } else if ((f & FIN) != 0) {
        if (s <= TCP_ESTABLISHED) {
          s = TCP_FIN_WAIT;
          if (dir == 1) flags |= F_CLOSER_REPLY;
          else flags &= ~F_CLOSER_REPLY;
        } else if ((s == TCP_FIN_WAIT || s == TCP_CLOSE_WAIT) && dir != closerDir) s = TCP_LAST_ACK;
      } else if ((f & ACK) != 0) {
        if (s == TCP_SYN_RECV && dir == 0) {
          s = TCP_ESTABLISHED;
          flags |= F_ASSURED;
        } else if (s == TCP_FIN_WAIT && dir != closerDir) s = TCP_CLOSE_WAIT;
        else if (s == TCP_LAST_ACK && dir == closerDir) s = TCP_TIME_WAIT;
      }
      if ((flags & F_PICKUP) != 0 && (flags & F_SEEN_REPLY) != 0 && load<f64>(num, 16) > 0 && s == TCP_ESTABLISHED) flags |= F_ASSURED;
      if (s == TCP_SYN_SENT) to = TO_TCP_SYN_SENT;
      else if (s == TCP_SYN_RECV) to = TO_TCP_SYN_RECV;
      else if (s == TCP_ESTABLISHED) to = TO_TCP_ESTABLISHED;
      else if (s == TCP_FIN_WAIT) to = TO_TCP_FIN_WAIT;
      else if (s == TCP_CLOSE_WAIT) to = TO_TCP_CLOSE_WAIT;
      else if (s == TCP_LAST_ACK) to = TO_TCP_LAST_ACK;
      else if (s == TCP_TIME_WAIT) to = TO_TCP_TIME_WAIT;
      else to = TO_TCP_CLOSE;
    } else {
      if ((flags & F_SEEN_REPLY) != 0 && load<f64>(num, 16) > 0) {
        s = UDP_STREAM;
        flags |= F_ASSURED;
      }
      if (ek == KIND_UDP) to = s == UDP_STREAM ? TO_UDP_STREAM : TO_UDP_UNREPLIED;
      else to = TO_GENERIC;
    }
    store<u8>(stateAt, <u8>s);
    store<u8>(flagsAt, <u8>flags);
    store<f64>(num, load<f64>(num, 8) + load<f64>(timeouts + (to << 3)));
    // ---- Classifier.classifyParsed: the record
    const nRules = load<u32>(d + D_NRULES);
    const rules: usize = <usize>load<u32>(d + D_RULES) + <usize>e * <usize>nRules * 4;
    const eg: i32 = <i32>((nRules > 0 ? load<u32>(rules) : 0) - REF_BIAS);
    const ing: i32 = <i32>((nRules > 1 ? load<u32>(rules, 4) : 0) - REF_BIAS);
    store<i32>(outBase + (ii << 2), eg);
    store<i32>(outBase + 4 * C + (ii << 2), ing);
    // (the endpoints, identities and backend an established packet's record has were written by `prefill`)
    store<u8>(outBase + 30 * C + ii, VERDICT_FORWARDED);
    store<u32>(st + S_PACKETS, load<u32>(st + S_PACKETS) + 1);
    store<u32>(st + S_FORWARDED, load<u32>(st + S_FORWARDED) + 1);
    store<f64>(st + S_EST_BYTES, load<f64>(st + S_EST_BYTES) + <f64>load<u32>(inWire + (ii << 2)));
    if (dir == 1) {
      store<u8>(outBase + 31 * C + ii, FLAG_REPLY);
      store<u16>(outBase + 28 * C + (ii << 1), <u16>reasonReply);
      store<u32>(st + S_REPLIES, load<u32>(st + S_REPLIES) + 1);
    } else {
      store<u8>(outBase + 31 * C + ii, 0);
      store<u16>(outBase + 28 * C + (ii << 1), <u16>reasonEstablished);
      store<u32>(st + S_ESTABLISHED, load<u32>(st + S_ESTABLISHED) + 1);
      // the per-rule counters (Classifier.count)
      if (eg >= 0 || ing >= 0) countRules(eg, ing, tot);
    }
    store<u32>(st + S_LAST_TABLE, proto == 6 ? 0 : 1);
    store<u32>(st + S_LAST_ENTRY, e);
    store<u32>(st + S_LAST_KIND, kind);
    }
  return end;
}

const SEED_ADDR: u32 = 0x6b706661;
/** chunk shard value of a record left to the caller (workers/shard.ts shardOf) */
const SHARD_UNKNOWN: u8 = 255;

/**
 * The shard of each record [0, n) of the chunk into the shard column: workers/shard.ts shardBatch for the frames
 * packet/fast4.ts parses whose addresses are certainly no ClusterIP (`vips` 0: no Service NAT to follow) — the symmetric
 * hash of the address pair (flow-hash.ts pairHashI) modulo `workers`; SHARD_UNKNOWN for any other record, which the
 * caller shards with the TypeScript function.
 */
export function shardChunk(n: u32, rangeStart: u32, workers: u32, vips: u32): void {
  const filter: usize = <usize>load<u32>(snap + SN_VIP_FILTER);
  for (let i: u32 = 0; i < n; i++) {
    const ii = <usize>i;
    let s: u8 = SHARD_UNKNOWN;
    const p = parse4(ii, rangeStart);
    if (p != 0) {
      const src = bswap<u32>(load<u32>(p, 12));
      const dst = bswap<u32>(load<u32>(p, 16));
      const maybeVip =
        vips != 0 &&
        (((<u32>load<u8>(filter + <usize>((dst & 0xffff) >> 3)) >> (dst & 7)) & 1) != 0 ||
          ((<u32>load<u8>(filter + <usize>((src & 0xffff) >> 3)) >> (src & 7)) & 1) != 0);
      if (!maybeVip) {
        const lo = src < dst ? src : dst;
        const hi = src < dst ? dst : src;
        s = <u8>(fmix(((lo ^ SEED_ADDR) * 0xcc9e2d51 ^ hi) + 4) % workers);
      }
    }
    store<u8>(inShard + ii, s);
  }
}
