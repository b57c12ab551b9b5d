/**
 * Verdict cache: (endpoint, direction, remote identity, protocol, port) → verdict + rule ref, stamped with the policy
 * revision it was computed under (runtime.md §3, §5; CONVENTIONS §3.6). Bounded, allocation-free, CLOCK eviction.
 *
 *   key (3 × u32, bit-packed)
 *   ┌──────────────┬───────────────────┬──────────────────────────────────────────┐
 *   │ k0 endpoint  │ k1 remote identity │ k2 = dir:8 (bits 24..31) │ proto:8 (16..23) │ port:16 (0..15) │
 *   └──────────────┴───────────────────┴──────────────────────────────────────────┘
 *
 *   index: open addressing, linear probing, backward-shift delete, size = pow2 >= 2 × cap
 *   ┌────────────┬────────────┐
 *   │ idxRef i32 │ idxHash i32 │ ──▶ entry (−1 empty)
 *   └────────────┴────────────┘
 *   entries (cap, struct of arrays): k0 k1 k2 u32 │ verdict u8 │ rule u32 │ rev u32 │ ref bit u8
 *
 *   CLOCK (second chance) over entries:         hand
 *     ref=1 → clear, advance                     ▼
 *     ref=0 or stale revision → victim   [1][0][1][1][0] …   a hit sets ref=1
 *
 * Staleness: an entry whose revision differs from the caller's current revision is a miss (`VC_STALE`), never used;
 * it is overwritten in place by the next insert of the same key and is the preferred victim of the CLOCK hand, so
 * a revision bump needs no flush.
 *
 * Why a policy-key cache and not a per-flow one: allowed flows are already cached per flow by conntrack (one entry
 * per connection, replies bypass policy); what is left to cache is the policy decision itself, which depends only on
 * (endpoint, direction, remote identity, proto, port). One entry then serves every flow and every source port between
 * the same identities — denied SYN retransmissions, port scans from one identity, many short connections — with a
 * far smaller working set than a 5-tuple cache and no per-flow churn.
 *
 * @remarks hot path (lookup, insert): no allocation, no closures.
 */
import { fmix32i, mix32i } from '../core/hash.js';
import { backwardShiftDelete } from './open-addressing.js';

/** {@link VerdictCache.lookup} result: no entry. */
export const VC_MISS = -1;
/** {@link VerdictCache.lookup} result: entry from another revision (counts as a miss). */
export const VC_STALE = -2;

/** Direction values of the key. */
export const VcDir = { INGRESS: 0, EGRESS: 1 } as const;

/** Packs direction, protocol and port into the third key word (layout above). */
export function vcKeyWord(dir: number, proto: number, port: number): number {
  return (((dir & 0xff) << 24) | ((proto & 0xff) << 16) | (port & 0xffff)) >>> 0;
}

/** Debug text of a key, e.g. `Endpoint=12,Direction=Ingress,Identity=23456,Nexthdr=6,DestPort=80`. */
export function vcKeyToString(endpoint: number, dir: number, identity: number, proto: number, port: number): string {
  return `Endpoint=${endpoint >>> 0},Direction=${dir === VcDir.EGRESS ? 'Egress' : 'Ingress'},Identity=${identity >>> 0},Nexthdr=${proto & 0xff},DestPort=${port & 0xffff}`;
}

/** Counter snapshot. */
export interface VerdictCacheStats {
  capacity: number;
  entries: number;
  hits: number;
  misses: number;
  stale: number;
  inserts: number;
  evictions: number;
}

/**
 * Bounded verdict cache.
 *
 * @example
 *   const vc = new VerdictCache(65536);
 *   let v = vc.lookup(ep, VcDir.INGRESS, remoteId, 6, 80, snapshot.revision);
 *   if (v < 0) {                                    // VC_MISS or VC_STALE
 *     v = policyMapLookup(...);                     // slow path
 *     vc.insert(ep, VcDir.INGRESS, remoteId, 6, 80, snapshot.revision, v, ruleRef);
 *   } else ruleRef = vc.ruleRef;
 */
export class VerdictCache {
  readonly capacity: number;
  private readonly mask: number;
  private readonly idxRef: Int32Array;
  private readonly idxHash: Int32Array;
  private readonly k0: Uint32Array;
  private readonly k1: Uint32Array;
  private readonly k2: Uint32Array;
  private readonly eHash: Int32Array;
  private readonly verdicts: Uint8Array;
  private readonly rules: Uint32Array;
  private readonly revs: Uint32Array;
  private readonly refBits: Uint8Array;
  private hand = 0;

  /** rule ref of the last hit */
  ruleRef = 0;
  /** entries in use (entries are never freed individually, only replaced) */
  entries = 0;
  hits = 0;
  misses = 0;
  stale = 0;
  inserts = 0;
  evictions = 0;

  constructor(capacity = 65536) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 26) throw new RangeError(`verdict cache: bad capacity ${capacity}`);
    this.capacity = capacity;
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.idxRef = new Int32Array(size).fill(-1);
    this.idxHash = new Int32Array(size);
    this.k0 = new Uint32Array(capacity);
    this.k1 = new Uint32Array(capacity);
    this.k2 = new Uint32Array(capacity);
    this.eHash = new Int32Array(capacity);
    this.verdicts = new Uint8Array(capacity);
    this.rules = new Uint32Array(capacity);
    this.revs = new Uint32Array(capacity);
    this.refBits = new Uint8Array(capacity);
  }

  private static hash(a: number, b: number, c: number): number {
    return fmix32i(mix32i(mix32i(mix32i(0x76636b31, a), b), c));
  }

  private find(a: number, b: number, c: number, h: number): number {
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const e = this.idxRef[i]!;
      if (e === -1) return -1;
      if (this.idxHash[i] === h && this.k0[e] === a && this.k1[e] === b && this.k2[e] === c) return e;
      i = (i + 1) & mask;
    }
  }

  /**
   * Looks a decision up. Returns the verdict (0..255; `ruleRef` holds its rule), or {@link VC_MISS}, or
   * {@link VC_STALE} when the entry was computed under another revision than `revision`.
   */
  lookup(endpoint: number, dir: number, identity: number, proto: number, port: number, revision: number): number {
    const a = endpoint >>> 0;
    const b = identity >>> 0;
    const c = vcKeyWord(dir, proto, port);
    const e = this.find(a, b, c, VerdictCache.hash(a, b, c));
    if (e < 0) {
      this.misses++;
      return VC_MISS;
    }
    if (this.revs[e] !== revision >>> 0) {
      this.stale++;
      return VC_STALE;
    }
    this.refBits[e] = 1;
    this.hits++;
    this.ruleRef = this.rules[e]!;
    return this.verdicts[e]!;
  }

  /** Stores a decision (replacing the key's entry, or taking a CLOCK victim when full). */
  insert(endpoint: number, dir: number, identity: number, proto: number, port: number, revision: number, verdict: number, ruleRef: number): void {
    const a = endpoint >>> 0;
    const b = identity >>> 0;
    const c = vcKeyWord(dir, proto, port);
    const h = VerdictCache.hash(a, b, c);
    const rev = revision >>> 0;
    this.inserts++;
    let e = this.find(a, b, c, h);
    if (e < 0) {
      if (this.entries < this.capacity) e = this.entries++;
      else {
        e = this.victim(rev);
        this.idxRemove(this.eHash[e]!, e);
        this.evictions++;
      }
      this.k0[e] = a;
      this.k1[e] = b;
      this.k2[e] = c;
      this.eHash[e] = h;
      const mask = this.mask;
      let i = h & mask;
      while (this.idxRef[i] !== -1) i = (i + 1) & mask;
      this.idxRef[i] = e;
      this.idxHash[i] = h;
    }
    this.verdicts[e] = verdict;
    this.rules[e] = ruleRef >>> 0;
    this.revs[e] = rev;
    this.refBits[e] = 0; // a new entry earns its second chance with its first hit
  }

  /** CLOCK: first entry with a clear reference bit or a stale revision; clears bits on the way. */
  private victim(rev: number): number {
    const cap = this.capacity;
    let h = this.hand;
    for (;;) {
      const e = h;
      h = h + 1 === cap ? 0 : h + 1;
      if (this.refBits[e] === 0 || this.revs[e] !== rev) {
        this.hand = h;
        return e;
      }
      this.refBits[e] = 0;
    }
  }

  private idxRemove(h: number, e: number): void {
    const mask = this.mask;
    const refs = this.idxRef;
    const hashes = this.idxHash;
    let i = h & mask;
    while (refs[i] !== e) {
      if (refs[i] === -1) return;
      i = (i + 1) & mask;
    }
    backwardShiftDelete(refs, hashes, mask, i);
  }

  /** Counter snapshot (allocates). */
  stats(): VerdictCacheStats {
    return {
      capacity: this.capacity,
      entries: this.entries,
      hits: this.hits,
      misses: this.misses,
      stale: this.stale,
      inserts: this.inserts,
      evictions: this.evictions,
    };
  }
}
