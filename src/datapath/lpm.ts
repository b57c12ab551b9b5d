/**
 * Longest-prefix-match table for IPv4 and IPv6 (the ipcache: IP/CIDR → identity), immutable after build and
 * placeable in a SharedArrayBuffer so every worker attaches to the same memory without copying.
 *
 * Design: one hash table per prefix length, all lengths sharing a single open-addressing array; a lookup probes the
 * lengths present for the family from longest to shortest and stops at the first hit.
 *   - chosen over a binary trie because lookup cost is (number of distinct prefix lengths present) × (one hash + ~1
 *     probe), and an ipcache has few lengths (/32 and /128 per pod and node, a handful of ipBlock CIDRs, 0/0) — a
 *     bit-per-level IPv6 trie walks up to 128 dependent loads for every /128 pod address;
 *   - memory is proportional to the number of prefixes (24 B per slot at load ≤ 0.5), independent of how the
 *     addresses are spread (multibit tries explode on sparse /128s);
 *   - the whole table is one flat Uint32Array, trivially shareable.
 *   Worst case (all 33 IPv4 / 129 IPv6 lengths present) is 33 / 129 probes; acceptable for a policy ipcache.
 *
 *   buffer (u32 words)
 *   ┌──────────────────────┬──────────────────┬───────────────────┬──────────────────────────────────────────┐
 *   │ header [0..15]        │ lens4 [16..48]   │ lens6 [49..177]   │ slots [178..] × 6 words                  │
 *   │ magic 'KLPM', version,│ prefix lengths,  │ prefix lengths,   │ meta │ w0 │ w1 │ w2 │ w3 │ value          │
 *   │ slots, n4, n6,        │ longest first    │ longest first     │ meta = 1<<16 | family<<8 | len (0 empty)│
 *   │ default, entries      │                  │                   │ words masked to the prefix               │
 *   └──────────────────────┴──────────────────┴───────────────────┴──────────────────────────────────────────┘
 *
 * Addresses are four big-endian u32 words as in FlowKey (IPv4 in w3, w0..w2 ignored for IPv4).
 *
 * @remarks hot path (lookup): no allocation.
 */
import type { Cidr } from '../core/ip.js';
import { parseCIDR } from '../core/ip.js';
import type { FlowKey } from '../core/flow-key.js';
import { fmixI, mixI } from './flow-hash.js';

/** One prefix given to {@link LpmTable.build}. Host bits beyond the prefix are ignored. */
export interface LpmEntry {
  family: 4 | 6;
  /** address words (IPv4: w3 only) */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  prefixLen: number;
  /** u32 value, e.g. an identity */
  value: number;
}

/** Build options. */
export interface LpmBuildOptions {
  /** value returned when nothing matches (default 0) */
  defaultValue?: number;
  /** allocate a SharedArrayBuffer (default true) */
  shared?: boolean;
}

const MAGIC = 0x4b4c504d; // 'KLPM'
const VERSION = 1;
const H_SLOTS = 2;
const H_N4 = 3;
const H_N6 = 4;
const H_DEFAULT = 5;
const H_ENTRIES = 6;
const LENS4 = 16;
const LENS6 = 49;
const SLOTS = 178;
const STRIDE = 6;
const USED = 1 << 16;

/** int32 mask of word `word` (0..3) for a prefix of `len` bits (int32 so that it never gets boxed). */
function wordMask(len: number, word: number): number {
  const b = len - 32 * word;
  if (b <= 0) return 0;
  if (b >= 32) return -1;
  return -1 << (32 - b);
}

/** int32 hash of a slot key (words are int32). */
function slotHash(meta: number, w0: number, w1: number, w2: number, w3: number): number {
  return fmixI(mixI(mixI(mixI(mixI(mixI(0x6c706d31, meta), w0), w1), w2), w3));
}

/** Address words of a CIDR (build-time helper; allocates). */
export function cidrWords(c: Cidr): [number, number, number, number] {
  if (c.family === 4) return [0, 0, 0, Number(c.value)];
  const v = c.value;
  return [Number((v >> 96n) & 0xffffffffn), Number((v >> 64n) & 0xffffffffn), Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
}

/**
 * Immutable LPM table.
 *
 * @example
 *   const t = LpmTable.fromCidrs([['10.0.0.0/8', 2], ['10.244.1.7/32', 23456], ['::/0', 2]], { defaultValue: 2 });
 *   t.lookup(4, 0, 0, 0, 0x0af40107);            // 23456
 *   worker.postMessage(t.buffer);                 // SharedArrayBuffer: no copy
 *   const view = LpmTable.fromBuffers(buffer);    // in the worker
 */
export class LpmTable {
  /** the single backing buffer (header, lengths and slots) */
  readonly buffer: ArrayBufferLike;
  private readonly u: Uint32Array;
  /** the same words as int32 (slot words and compares stay Smis) */
  private readonly i32: Int32Array;
  private readonly mask: number;
  private readonly n4: number;
  private readonly n6: number;
  readonly defaultValue: number;
  readonly size: number;
  /** prefix length of the last lookup's match, -1 when the default was returned */
  lastPrefixLen = -1;

  private constructor(buffer: ArrayBufferLike) {
    const u = new Uint32Array(buffer);
    if (u.length < SLOTS || u[0] !== MAGIC || u[1] !== VERSION) throw new TypeError('lpm: not an LPM table buffer');
    const slots = u[H_SLOTS]!;
    if ((slots & (slots - 1)) !== 0 || u.length < SLOTS + slots * STRIDE) throw new TypeError('lpm: corrupt LPM table buffer');
    this.buffer = buffer;
    this.u = u;
    this.i32 = new Int32Array(buffer, 0, u.length);
    this.mask = slots - 1;
    this.n4 = u[H_N4]!;
    this.n6 = u[H_N6]!;
    this.defaultValue = u[H_DEFAULT]!;
    this.size = u[H_ENTRIES]!;
  }

  /** Attaches to a buffer produced by {@link build} (e.g. received by a worker). No copy. */
  static fromBuffers(buffer: ArrayBufferLike): LpmTable {
    return new LpmTable(buffer);
  }

  /** Builds a table. For duplicate prefixes the last entry wins. Throws on a bad family or prefix length. */
  static build(entries: readonly LpmEntry[], opts: LpmBuildOptions = {}): LpmTable {
    let slots = 8;
    while (slots < entries.length * 2) slots *= 2;
    const words = SLOTS + slots * STRIDE;
    const buf = opts.shared === false ? new ArrayBuffer(words * 4) : new SharedArrayBuffer(words * 4);
    const u = new Uint32Array(buf);
    const si = new Int32Array(buf);
    u[0] = MAGIC;
    u[1] = VERSION;
    u[H_SLOTS] = slots;
    u[H_DEFAULT] = (opts.defaultValue ?? 0) >>> 0;
    const mask = slots - 1;
    const has4 = new Uint8Array(33);
    const has6 = new Uint8Array(129);
    let count = 0;
    for (const en of entries) {
      const fam = en.family;
      const len = en.prefixLen;
      if (fam !== 4 && fam !== 6) throw new RangeError(`lpm: bad family ${String(fam)}`);
      if (!Number.isInteger(len) || len < 0 || len > (fam === 4 ? 32 : 128)) throw new RangeError(`lpm: bad prefix length ${len}`);
      let w0 = 0,
        w1 = 0,
        w2 = 0,
        w3: number;
      if (fam === 4) w3 = en.w3 & wordMask(len, 0);
      else {
        w0 = en.w0 & wordMask(len, 0);
        w1 = en.w1 & wordMask(len, 1);
        w2 = en.w2 & wordMask(len, 2);
        w3 = en.w3 & wordMask(len, 3);
      }
      const meta = USED | (fam << 8) | len;
      let i = slotHash(meta, w0, w1, w2, w3) & mask;
      for (;;) {
        const o = SLOTS + i * STRIDE;
        if (si[o] === 0) {
          si[o] = meta;
          si[o + 1] = w0;
          si[o + 2] = w1;
          si[o + 3] = w2;
          si[o + 4] = w3;
          u[o + 5] = en.value >>> 0;
          count++;
          break;
        }
        if (si[o] === meta && si[o + 1] === w0 && si[o + 2] === w1 && si[o + 3] === w2 && si[o + 4] === w3) {
          u[o + 5] = en.value >>> 0; // duplicate: last wins
          break;
        }
        i = (i + 1) & mask;
      }
      if (fam === 4) has4[len] = 1;
      else has6[len] = 1;
    }
    let n4 = 0;
    for (let l = 32; l >= 0; l--) if (has4[l]) u[LENS4 + n4++] = l;
    let n6 = 0;
    for (let l = 128; l >= 0; l--) if (has6[l]) u[LENS6 + n6++] = l;
    u[H_N4] = n4;
    u[H_N6] = n6;
    u[H_ENTRIES] = count;
    return new LpmTable(buf);
  }

  /** Builds from CIDR text ([cidr, value] pairs; non-canonical host bits are masked). Throws on a bad CIDR. */
  static fromCidrs(list: ReadonlyArray<readonly [string, number]>, opts: LpmBuildOptions = {}): LpmTable {
    const entries: LpmEntry[] = list.map(([text, value]) => {
      const p = parseCIDR(text, false);
      if (!p.ok) throw new RangeError(`lpm: ${text}: ${p.message}`);
      const [w0, w1, w2, w3] = cidrWords(p.cidr);
      return { family: p.cidr.family, w0, w1, w2, w3, prefixLen: p.cidr.prefix, value };
    });
    return LpmTable.build(entries, opts);
  }

  /**
   * Value of the longest prefix containing the address, else the default (`lastPrefixLen` = -1).
   * Note: a word >= 2^31 passed as an argument may be boxed by V8; {@link lookupSrc}/{@link lookupDst} read the
   * words from a FlowKey instead and are strictly allocation-free.
   */
  lookup(family: number, w0: number, w1: number, w2: number, w3: number): number {
    return this.lookupI(family, w0 | 0, w1 | 0, w2 | 0, w3 | 0);
  }

  /** {@link lookup} of a packet's source address. */
  lookupSrc(k: FlowKey): number {
    return this.lookupI(k.family, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0);
  }

  /** {@link lookup} of a packet's destination address. */
  lookupDst(k: FlowKey): number {
    return this.lookupI(k.family, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0);
  }

  /**
   * The lookup on int32 words. Values are returned as u32; identities are < 2^31 in practice (Cilium: 24 bits), so
   * the return value stays a Smi; a value >= 2^31 would be boxed on return from a non-inlined call.
   */
  private lookupI(family: number, w0: number, w1: number, w2: number, w3: number): number {
    const u = this.i32;
    const mask = this.mask;
    if (family === 4) {
      const n = this.n4;
      for (let k = 0; k < n; k++) {
        const len = u[LENS4 + k]!;
        const m3 = len === 0 ? 0 : w3 & (-1 << (32 - len));
        const meta = USED | 0x400 | len;
        let i = slotHash(meta, 0, 0, 0, m3) & mask;
        for (;;) {
          const o = SLOTS + i * STRIDE;
          const mt = u[o]!;
          if (mt === 0) break;
          if (mt === meta && u[o + 4] === m3) {
            this.lastPrefixLen = len;
            return this.u[o + 5]!;
          }
          i = (i + 1) & mask;
        }
      }
    } else if (family === 6) {
      const n = this.n6;
      for (let k = 0; k < n; k++) {
        const len = u[LENS6 + k]!;
        const m0 = len >= 32 ? w0 : len === 0 ? 0 : w0 & (-1 << (32 - len));
        const m1 = len >= 64 ? w1 : len <= 32 ? 0 : w1 & (-1 << (64 - len));
        const m2 = len >= 96 ? w2 : len <= 64 ? 0 : w2 & (-1 << (96 - len));
        const m3 = len >= 128 ? w3 : len <= 96 ? 0 : w3 & (-1 << (128 - len));
        const meta = USED | 0x600 | len;
        let i = slotHash(meta, m0, m1, m2, m3) & mask;
        for (;;) {
          const o = SLOTS + i * STRIDE;
          const mt = u[o]!;
          if (mt === 0) break;
          if (mt === meta && u[o + 4] === m3 && u[o + 3] === m2 && u[o + 2] === m1 && u[o + 1] === m0) {
            this.lastPrefixLen = len;
            return this.u[o + 5]!;
          }
          i = (i + 1) & mask;
        }
      }
    }
    this.lastPrefixLen = -1;
    return this.defaultValue;
  }

  /** Prefix lengths present for a family, longest first (debugging, explain). */
  prefixLengths(family: 4 | 6): number[] {
    const out: number[] = [];
    const n = family === 4 ? this.n4 : this.n6;
    const base = family === 4 ? LENS4 : LENS6;
    for (let k = 0; k < n; k++) out.push(this.u[base + k]!);
    return out;
  }
}
