/**
 * Flow hashes for the per-packet tables and for sharding.
 *
 *   pairHash(a, b) === pairHash(b, a)      symmetric: unordered address pair → worker index (runtime.md §7)
 *   tupleHash(src, dst, proto, ports)      direction-sensitive: 5-tuple → table slot
 *
 * Both are 32-bit, deterministic across runs, processes and platforms (Math.imul murmur3-style mixing from
 * core/hash.ts), and allocation-free. Addresses are four big-endian u32 words (IPv4 in word 3, words 0..2 zero),
 * exactly as in {@link FlowKey}.
 *
 * @remarks hot path: no allocation, no closures.
 */
import type { FlowKey } from '../core/flow-key.js';
import { fmix32, mix32 } from '../core/hash.js';

const SEED_ADDR = 0x6b706661; // "kpfa"
const SEED_TUPLE = 0x6b706674; // "kpft"

/*
 * Int32 variants for the tables. V8 (x64, no pointer compression in Node 20) keeps int32 values as Smis, but a
 * uint32 >= 2^31 or a double crossing a non-inlined call (argument or return value) is boxed into a heap number —
 * an allocation per packet. The tables therefore hash and store address words as int32 (`| 0`); the results are
 * bit-identical to the uint32 functions (`tupleHash(...) === tupleHashI(...) >>> 0`).
 */

/** murmur3 mixing step on int32 (same bits as core/hash.ts mix32). */
export function mixI(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3 finaliser on int32 (same bits as core/hash.ts fmix32). */
export function fmixI(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * {@link tupleHash} as int32, with `fp = family << 8 | proto` and int32 words (allocation-free across calls).
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
  h = mixI(h, s0);
  h = mixI(h, s1);
  h = mixI(h, s2);
  h = mixI(h, s3);
  h = mixI(h, d0);
  h = mixI(h, d1);
  h = mixI(h, d2);
  h = mixI(h, d3);
  h = mixI(h, ports);
  return fmixI(h);
}


/** Hash of one address (family + four words); an intermediate of {@link pairHash}. */
export function addrHash(family: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = mix32(SEED_ADDR, family);
  h = mix32(h, w0);
  h = mix32(h, w1);
  h = mix32(h, w2);
  h = mix32(h, w3);
  return fmix32(h);
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
  const ha = addrHash(family, a0, a1, a2, a3);
  const hb = addrHash(family, b0, b1, b2, b3);
  // order the two halves so the result is independent of direction (xor alone would map a==b to 0)
  const lo = ha < hb ? ha : hb;
  const hi = ha < hb ? hb : ha;
  return fmix32(mix32(mix32(SEED_ADDR ^ family, lo), hi));
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
