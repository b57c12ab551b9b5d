/**
 * Fragments table: the verdict of a datagram's first fragment, reused by its later fragments (semantics.md E30,
 * runtime.md §4, Cilium's `ipv4_frag_datagrams` model).
 *
 *   key   IPv4: (src, dst, proto, id16)      IPv6: (src, dst, id32)  — proto is not part of the IPv6 key (0)
 *   value verdict u8, ct slot i32, rule ref u32, L4 ports of the first fragment, first-fragment time f64
 *
 *   index (open addressing, backward-shift delete, pow2 >= 2 × cap) ──▶ entry
 *   entries in insertion order on a doubly linked list (prev/next i32):
 *       head (oldest) ⇄ … ⇄ tail (newest)        full ⇒ evict head; expired ⇒ removed lazily / by sweep
 *
 * Timeouts: IPv4 30 s, IPv6 60 s (Linux ipfrag_time / ip6frag_time) after the first fragment. A non-first fragment
 * without an entry is a MISS: the caller drops it with FRAG_NOT_FOUND (175). Capacity 8192 (`--frag-max`).
 *
 * @remarks hot path (insertFirst, lookup): no allocation.
 */
import type { FlowKey } from '../core/flow-key.js';
import { tupleHashI } from './flow-hash.js';
import { backwardShiftDelete } from './open-addressing.js';

/** {@link FragmentTable.lookup} results. */
export const FragResult = { MISS: 0, HIT: 1 } as const;

/** Options of a {@link FragmentTable}. */
export interface FragmentOptions {
  /** datagrams (default 8192) */
  capacity?: number;
  /** IPv4 reassembly timeout in ns (default 30 s) */
  timeoutV4Ns?: number;
  /** IPv6 reassembly timeout in ns (default 60 s) */
  timeoutV6Ns?: number;
}

/** Counter snapshot (`kpf_fragments_total{result}` and friends). */
export interface FragmentStats {
  capacity: number;
  entries: number;
  inserts: number;
  hits: number;
  misses: number;
  expired: number;
  evictions: number;
}

const STRIDE = 9; // src0..3 dst0..3 id

/**
 * Bounded fragments table.
 *
 * @example
 *   if (key.frag === 1) frags.insertFirst(key, tNs, verdict, ct.slot, ruleRef);
 *   else if (key.frag === 2) {
 *     if (frags.lookup(key, tNs) === FragResult.MISS) drop(DropReason.FRAG_NOT_FOUND);
 *     else verdict = frags.verdict;            // frags.sport / frags.dport give the datagram's ports
 *   }
 */
export class FragmentTable {
  readonly capacity: number;
  readonly timeoutV4Ns: number;
  readonly timeoutV6Ns: number;
  private readonly mask: number;
  private readonly idxRef: Int32Array;
  private readonly idxHash: Int32Array;
  private readonly keys: Int32Array;
  private readonly fp: Uint16Array;
  private readonly eHash: Int32Array;
  private readonly used: Uint8Array;
  private readonly verdicts: Uint8Array;
  private readonly ctSlots: Int32Array;
  private readonly rules: Uint32Array;
  private readonly ports: Uint32Array;
  private readonly firstNs: Float64Array;
  private readonly expiresNs: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private head = -1;
  private tail = -1;

  /**
   * Time of the current packet (ns), used when a method's `nowNs` argument is omitted — the strictly
   * allocation-free form (a double argument to a call V8 does not inline is boxed).
   */
  timeNs = 0;

  // results of the last hit
  verdict = 0;
  ctSlot = -1;
  ruleRef = 0;
  sport = 0;
  dport = 0;
  firstFragmentNs = 0;

  entries = 0;
  inserts = 0;
  hits = 0;
  misses = 0;
  expired = 0;
  evictions = 0;

  constructor(opts: FragmentOptions = {}) {
    const cap = opts.capacity ?? 8192;
    if (!Number.isInteger(cap) || cap < 1 || cap > 1 << 24) throw new RangeError(`fragments: bad capacity ${cap}`);
    this.capacity = cap;
    this.timeoutV4Ns = opts.timeoutV4Ns ?? 30e9;
    this.timeoutV6Ns = opts.timeoutV6Ns ?? 60e9;
    let size = 8;
    while (size < cap * 2) size *= 2;
    this.mask = size - 1;
    this.idxRef = new Int32Array(size).fill(-1);
    this.idxHash = new Int32Array(size);
    this.keys = new Int32Array(cap * STRIDE);
    this.fp = new Uint16Array(cap);
    this.eHash = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.verdicts = new Uint8Array(cap);
    this.ctSlots = new Int32Array(cap);
    this.rules = new Uint32Array(cap);
    this.ports = new Uint32Array(cap);
    this.firstNs = new Float64Array(cap);
    this.expiresNs = new Float64Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.free = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.freeTop = cap;
  }

  private static fpOf(k: FlowKey): number {
    return ((k.family & 0xff) << 8) | (k.family === 6 ? 0 : k.proto & 0xff);
  }

  private static hashOf(k: FlowKey, fp: number): number {
    return tupleHashI(fp, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0, k.fragId | 0);
  }

  private find(k: FlowKey, fp: number, h: number): number {
    const mask = this.mask;
    const keys = this.keys;
    let i = h & mask;
    for (;;) {
      const e = this.idxRef[i]!;
      if (e === -1) return -1;
      if (this.idxHash[i] === h && this.fp[e] === fp) {
        const o = e * STRIDE;
        if (
          keys[o + 8] === (k.fragId | 0) &&
          keys[o + 3] === (k.src3 | 0) &&
          keys[o + 7] === (k.dst3 | 0) &&
          keys[o] === (k.src0 | 0) &&
          keys[o + 1] === (k.src1 | 0) &&
          keys[o + 2] === (k.src2 | 0) &&
          keys[o + 4] === (k.dst0 | 0) &&
          keys[o + 5] === (k.dst1 | 0) &&
          keys[o + 6] === (k.dst2 | 0)
        )
          return e;
      }
      i = (i + 1) & mask;
    }
  }

  private unlink(e: number): void {
    const p = this.prev[e]!;
    const n = this.next[e]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  private remove(e: number): void {
    // index removal with backward shift
    const mask = this.mask;
    const refs = this.idxRef;
    const hashes = this.idxHash;
    let i = this.eHash[e]! & mask;
    while (refs[i] !== e) i = (i + 1) & mask;
    backwardShiftDelete(refs, hashes, mask, i);
    this.unlink(e);
    this.used[e] = 0;
    this.free[this.freeTop++] = e;
    this.entries--;
  }

  /**
   * Records the first fragment of a datagram (key.family, addresses, proto, fragId; key.sport/dport are kept as the
   * datagram's ports). A second first fragment of the same datagram replaces the value. Full ⇒ the oldest is evicted.
   */
  insertFirst(k: FlowKey, nowNs: number | undefined, verdict: number, ctSlot: number, ruleRef: number): void {
    if (nowNs !== undefined) this.timeNs = nowNs;
    const now = this.timeNs;
    const fp = FragmentTable.fpOf(k);
    const h = FragmentTable.hashOf(k, fp);
    this.inserts++;
    let e = this.find(k, fp, h);
    if (e >= 0) this.unlink(e);
    else {
      if (this.freeTop === 0) {
        const old = this.head;
        if (this.expiresNs[old]! <= now) this.expired++;
        else this.evictions++;
        this.remove(old);
      }
      e = this.free[--this.freeTop]!;
      const o = e * STRIDE;
      const keys = this.keys;
      keys[o] = k.src0 | 0;
      keys[o + 1] = k.src1 | 0;
      keys[o + 2] = k.src2 | 0;
      keys[o + 3] = k.src3 | 0;
      keys[o + 4] = k.dst0 | 0;
      keys[o + 5] = k.dst1 | 0;
      keys[o + 6] = k.dst2 | 0;
      keys[o + 7] = k.dst3 | 0;
      keys[o + 8] = k.fragId | 0;
      this.fp[e] = fp;
      this.eHash[e] = h;
      this.used[e] = 1;
      const mask = this.mask;
      let i = h & mask;
      while (this.idxRef[i] !== -1) i = (i + 1) & mask;
      this.idxRef[i] = e;
      this.idxHash[i] = h;
      this.entries++;
    }
    // append at the tail (newest)
    this.prev[e] = this.tail;
    this.next[e] = -1;
    if (this.tail >= 0) this.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
    this.verdicts[e] = verdict;
    this.ctSlots[e] = ctSlot | 0;
    this.rules[e] = ruleRef >>> 0;
    this.ports[e] = (((k.sport & 0xffff) << 16) | (k.dport & 0xffff)) >>> 0;
    this.firstNs[e] = now;
    this.expiresNs[e] = now + (k.family === 6 ? this.timeoutV6Ns : this.timeoutV4Ns);
  }

  /**
   * Looks up a (non-first) fragment's datagram. HIT fills `verdict`, `ctSlot`, `ruleRef`, `sport`, `dport`,
   * `firstFragmentNs`; MISS (no entry or timed out) means the caller drops with FRAG_NOT_FOUND.
   */
  lookup(k: FlowKey, nowNs?: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    const fp = FragmentTable.fpOf(k);
    const e = this.find(k, fp, FragmentTable.hashOf(k, fp));
    if (e < 0) {
      this.misses++;
      return FragResult.MISS;
    }
    if (this.expiresNs[e]! <= this.timeNs) {
      this.expired++;
      this.misses++;
      this.remove(e);
      return FragResult.MISS;
    }
    this.hits++;
    this.verdict = this.verdicts[e]!;
    this.ctSlot = this.ctSlots[e]!;
    this.ruleRef = this.rules[e]!;
    const p = this.ports[e]!;
    this.sport = p >>> 16;
    this.dport = p & 0xffff;
    this.firstFragmentNs = this.firstNs[e]!;
    return FragResult.HIT;
  }

  /** Forgets a datagram (e.g. once the caller knows it is complete). Returns true when it was present. */
  delete(k: FlowKey): boolean {
    const fp = FragmentTable.fpOf(k);
    const e = this.find(k, fp, FragmentTable.hashOf(k, fp));
    if (e < 0) return false;
    this.remove(e);
    return true;
  }

  /** Removes expired datagrams from the oldest end, at most `max`; returns how many. */
  sweep(nowNs: number | undefined, max: number): number {
    if (nowNs !== undefined) this.timeNs = nowNs;
    const now = this.timeNs;
    let n = 0;
    let e = this.head;
    // walk the oldest `max` entries (IPv4 and IPv6 timeouts differ, so an unexpired one does not end the walk)
    for (let seen = 0; e >= 0 && seen < max; seen++) {
      const nx = this.next[e]!;
      if (this.expiresNs[e]! <= now) {
        this.expired++;
        this.remove(e);
        n++;
      }
      e = nx;
    }
    return n;
  }

  /** Counter snapshot (allocates). */
  stats(): FragmentStats {
    return {
      capacity: this.capacity,
      entries: this.entries,
      inserts: this.inserts,
      hits: this.hits,
      misses: this.misses,
      expired: this.expired,
      evictions: this.evictions,
    };
  }
}
