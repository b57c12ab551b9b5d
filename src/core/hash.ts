/**
 * Deterministic hashes shared by the control plane and the dataplane, so that the reference evaluator and the
 * compiled path pick the same Service backend for the same flow, and IPAM hands out the same IPs on every run.
 */

/** 32-bit FNV-1a over a string (UTF-16 code units, folded to bytes). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
    if (c > 0xff) {
      h ^= c >>> 8;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/**
 * Mixes one 32-bit word into a hash (murmur3's mixing step), as int32: an int32 stays a small integer in V8, where a
 * uint32 of 2^31 or more returned from a call that is not inlined is a heap number (an allocation per call).
 */
export function mix32i(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Final avalanche, as int32 (see {@link mix32i}). */
export function fmix32i(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** {@link mix32i} as uint32. */
export function mix32(h: number, w: number): number {
  return mix32i(h, w) >>> 0;
}

/** {@link fmix32i} as uint32. */
export function fmix32(h: number): number {
  return fmix32i(h) >>> 0;
}

/** Seed of {@link backendHash}. Changing it changes which backend every flow gets: don't. */
export const BACKEND_HASH_SEED = 0x6b706631; // "kpf1"

/**
 * Hash of the 5-tuple (src, dst, IP protocol number, sport, dport) that chooses a Service backend
 * (`hash % backends`, backends in name order). Addresses as four big-endian words, IPv4 in the last, as FlowKey
 * holds them. The reference evaluator and the compiled dataplane both call this, so they pick the same backend.
 * The per-packet path calls {@link backendHashI} (the same bits as int32), which allocates nothing.
 */
export function backendHash(
  s0: number, s1: number, s2: number, s3: number,
  d0: number, d1: number, d2: number, d3: number,
  proto: number, sport: number, dport: number,
): number {
  return backendHashI(s0, s1, s2, s3, d0, d1, d2, d3, proto, sport, dport) >>> 0;
}

/** {@link backendHash} as int32 (the same bits), for the per-packet path: see {@link mix32i}. */
export function backendHashI(
  s0: number, s1: number, s2: number, s3: number,
  d0: number, d1: number, d2: number, d3: number,
  proto: number, sport: number, dport: number,
): number {
  let h = BACKEND_HASH_SEED;
  h = mix32i(h, s0);
  h = mix32i(h, s1);
  h = mix32i(h, s2);
  h = mix32i(h, s3);
  h = mix32i(h, d0);
  h = mix32i(h, d1);
  h = mix32i(h, d2);
  h = mix32i(h, d3);
  h = mix32i(h, proto & 0xff);
  h = mix32i(h, ((sport & 0xffff) << 16) | (dport & 0xffff));
  return fmix32i(h);
}

/** Index of the backend a flow with hash `hash` goes to among `n` backends (name order); -1 for none. */
export function chooseBackend(hash: number, n: number): number {
  if (n <= 0) return -1;
  return (hash >>> 0) % n;
}
