/**
 * Flow hashes for the per-packet tables and for sharding.
 *
 *   pairHash(a, b) === pairHash(b, a)      symmetric: unordered address pair → worker index (runtime.md §7)
 *   tupleHash(src, dst, proto, ports)      direction-sensitive: 5-tuple → table slot
 *
 * Both are 32-bit, deterministic across runs, processes and platforms (Math.imul mixing: murmur3 rounds with the
 * bits of core/hash.ts's mix32/fmix32, each address first folded to one word), and allocation-free. Addresses are
 * four big-endian u32 words (IPv4 in word 3, words 0..2 zero), exactly as in {@link FlowKey}.
 *
 * @remarks hot path: no allocation, no closures.
 */
import type { FlowKey } from '../core/flow-key.js';
import { fmix32i as fmixI, mix32i as mixI } from '../core/hash.js';

const SEED_ADDR = 0x6b706661; // "kpfa"
const SEED_TUPLE = 0x6b706674; // "kpft"

/*
 * Int32 variants for the tables. V8 (x64, no pointer compression in Node 20) keeps int32 values as Smis, but a
 * uint32 >= 2^31 or a double crossing a non-inlined call (argument or return value) is boxed into a heap number —
 * an allocation per packet. The tables therefore hash and store address words as int32 (`| 0`); the results are
 * bit-identical to the uint32 functions (`tupleHash(...) === tupleHashI(...) >>> 0`).
 */

/** murmur3's mixing step and finaliser on int32 (core/hash.ts; mix32/fmix32 are the same bits as uint32). */
export { mixI, fmixI };

/**
 * {@link tupleHash} as int32, with `fp = family << 8 | proto` and int32 words (allocation-free across calls).
 * Each address is first folded to one word ({@link foldAddr}; an IPv4 address is its own fold), then murmur3 mixes
 * four words (fp, source, destination, ports) and avalanches: five rounds instead of ten, which matters on the
 * per-packet conntrack lookup. Addresses that fold alike only share a hash slot; the tables compare whole tuples.
 * @remarks hot path: no allocation.
 */
export function tupleHashI(
  fp: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
  ports: number,
): number {
  let h = mixI(SEED_TUPLE, fp);
  h = mixI(h, foldAddr(s0, s1, s2, s3));
  h = mixI(h, foldAddr(d0, d1, d2, d3));
  h = mixI(h, ports);
  return fmixI(h);
}

/**
 * One int32 word from an address's four words: the last word (all of an IPv4 address), xor the other three each
 * multiplied by a distinct odd constant (so a permutation of IPv6 words does not fold alike).
 */
export function foldAddr(w0: number, w1: number, w2: number, w3: number): number {
  return w3 ^ Math.imul(w2, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w0, 0xc2b2ae35);
}

/**
 * Symmetric hash of the unordered address pair {a, b}: both directions of a connection, all of its fragments (which
 * carry no ports) and ICMP errors sharded by their inner header land on the same worker.
 */
export function pairHash(
  family: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): number {
  return pairHashI(family, a0 | 0, a1 | 0, a2 | 0, a3 | 0, b0 | 0, b1 | 0, b2 | 0, b3 | 0) >>> 0;
}

/**
 * {@link pairHash} as int32 with int32 words (`pairHash(...) === pairHashI(...) >>> 0`). It only spreads flows over
 * workers, so it is built for speed rather than for murmur's quality: each address is folded to one word (IPv4: the
 * address itself), the two folds are put in unsigned order (so the result is independent of direction; xor alone
 * would map a == b to 0), combined with one multiply, and avalanched once. It costs a few ns per packet, where
 * murmur over the eight words cost about 35.
 * @remarks hot path: no allocation.
 */
export function pairHashI(
  family: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): number {
  const fa = foldAddr(a0, a1, a2, a3);
  const fb = foldAddr(b0, b1, b2, b3);
  const aLess = fa >>> 0 < fb >>> 0;
  const lo = aLess ? fa : fb;
  const hi = aLess ? fb : fa;
  return fmixI((Math.imul(lo ^ SEED_ADDR, 0xcc9e2d51) ^ hi) + family);
}

/** {@link pairHash} of a decoded packet's addresses. */
export function flowPairHash(k: FlowKey): number {
  return pairHash(k.family, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3);
}

/**
 * Direction-sensitive hash of a tuple: (family, proto, src, dst, ports) where `ports` is a packed u32 (usually
 * sport << 16 | dport). Swapping source and destination gives a different hash.
 */
export function tupleHash(
  family: number,
  proto: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
  ports: number,
): number {
  // the same bits as the int32 variant the tables use (see above)
  return tupleHashI(((family & 0xff) << 8) | (proto & 0xff), s0 | 0, s1 | 0, s2 | 0, s3 | 0, d0 | 0, d1 | 0, d2 | 0, d3 | 0, ports | 0) >>> 0;
}

/** {@link tupleHash} of a decoded packet's 5-tuple, ports packed as sport << 16 | dport. */
export function flowTupleHash(k: FlowKey): number {
  return tupleHash(
    k.family,
    k.proto,
    k.src0,
    k.src1,
    k.src2,
    k.src3,
    k.dst0,
    k.dst1,
    k.dst2,
    k.dst3,
    (((k.sport & 0xffff) << 16) | (k.dport & 0xffff)) >>> 0,
  );
}

/** Maps a 32-bit hash to [0, n) without modulo bias worth caring about (multiply-shift). */
export function hashToIndex(h: number, n: number): number {
  return Math.floor(((h >>> 0) * n) / 4294967296);
}
