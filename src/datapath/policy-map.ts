/**
 * Per-endpoint policy maps, as one open-addressing hash table over all endpoints, in typed arrays that can live in
 * SharedArrayBuffers and be read by worker threads without copying.
 *
 * Key (three u32 words; Cilium's `struct policy_key` with the endpoint folded in):
 *
 *   k0 = endpoint id << 1 | direction (0 ingress, 1 egress)
 *   k1 = remote identity (0 = ANY)
 *   k2 = proto << 24 | prefixLen << 16 | port & mask(prefixLen)      proto 0 = ANY (then prefixLen = port = 0)
 *
 * Port ranges are stored as aligned power-of-two blocks (prefixLen 16 = one port, 0 = all ports), so a range costs
 * at most 2×16 entries, never one per port.
 *
 * Lookup order (most specific first, as Cilium's policy map resolves it):
 *   1. identity, proto, port   for each prefix length in use by this endpoint+direction, longest first   (L3-L4)
 *   2. identity, ANY                                                                                   (L3-only)
 *   3. ANY, proto, port        likewise                                                                 (L4-only)
 *   4. ANY, ANY                                                                                        (allow all)
 * A prefix-length mask per (endpoint, direction) bounds the probes to the lengths actually present.
 *
 * Each entry points at the first rule row that produced it (rule metadata lives in the rule table) and has packet
 * and byte counters. There are only allow entries: NetworkPolicy v1 has no deny rules; an isolated direction with no
 * matching entry denies.
 *
 * @remarks hot path (lookup): no allocation, no closures, integer arithmetic only.
 */
import { fmix32i, mix32i } from '../core/hash.js';

export const LOOKUP_NOT_ISOLATED = -2;
export const LOOKUP_DENIED = -1;

/** Match types of a found entry (Hubble's PolicyMatchType numbers). */
export const MatchType = { NONE: 0, L3_ONLY: 1, L3_L4: 2, L4_ONLY: 3, ALL: 4 } as const;

/** The typed arrays of a policy map; all may be SharedArrayBuffer-backed. */
export interface PolicyMapArrays {
  /** capacity - 1 (capacity is a power of two) */
  mask: number;
  k0: Uint32Array;
  k1: Uint32Array;
  k2: Uint32Array;
  /** entry index + 1 per slot (0 = empty) */
  slot: Int32Array;
  /** per entry: first rule row, entry's match type */
  entryRow: Int32Array;
  entryMatch: Uint8Array;
  /** per (endpoint id << 1 | dir): bit i set when an identity-specific entry of prefixLen i exists; bit 17: L3-only */
  maskId: Uint32Array;
  /** same for ANY-identity entries; bit 17: allow-all */
  maskAny: Uint32Array;
  /** per endpoint id: bit 0 isolated for ingress, bit 1 isolated for egress */
  isolated: Uint8Array;
}

const BIT_PROTO_ANY = 1 << 17;

function hash3(a: number, b: number, c: number): number {
  return fmix32i(mix32i(mix32i(mix32i(0x9e3779b9, a), b), c));
}

function nextPow2(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

export interface PolicyMapInput {
  endpointCount: number;
  /** endpoint id → isolation bits */
  isolation: Array<{ endpoint: number; ingress: boolean; egress: boolean }>;
  entries: Array<{ endpoint: number; dir: number; peer: number; proto: number; prefixLen: number; port: number; row: number }>;
  /** allocate in SharedArrayBuffers (for worker threads) */
  shared?: boolean;
}

function alloc<T extends Uint32Array | Int32Array | Uint8Array>(ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, n: number, shared: boolean): T {
  const bytes = Math.max(1, n) * ctor.BYTES_PER_ELEMENT;
  return new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** Builds the arrays from compiled entries. */
export function buildPolicyMap(input: PolicyMapInput): PolicyMapArrays {
  const shared = input.shared ?? false;
  const cap = nextPow2(input.entries.length * 2);
  const a: PolicyMapArrays = {
    mask: cap - 1,
    k0: alloc(Uint32Array, cap, shared),
    k1: alloc(Uint32Array, cap, shared),
    k2: alloc(Uint32Array, cap, shared),
    slot: alloc(Int32Array, cap, shared),
    entryRow: alloc(Int32Array, input.entries.length, shared),
    entryMatch: alloc(Uint8Array, input.entries.length, shared),
    maskId: alloc(Uint32Array, (input.endpointCount + 1) * 2, shared),
    maskAny: alloc(Uint32Array, (input.endpointCount + 1) * 2, shared),
    isolated: alloc(Uint8Array, input.endpointCount + 1, shared),
  };
  for (const iso of input.isolation) a.isolated[iso.endpoint] = (iso.ingress ? 1 : 0) | (iso.egress ? 2 : 0);
  input.entries.forEach((e, i) => {
    const k0 = ((e.endpoint << 1) | e.dir) >>> 0;
    const k2 = ((e.proto << 24) | (e.prefixLen << 16) | e.port) >>> 0;
    let s = hash3(k0, e.peer, k2) & a.mask;
    while (a.slot[s] !== 0) s = (s + 1) & a.mask;
    a.k0[s] = k0;
    a.k1[s] = e.peer >>> 0;
    a.k2[s] = k2;
    a.slot[s] = i + 1;
    a.entryRow[i] = e.row;
    const bits = e.proto === 0 ? BIT_PROTO_ANY : 1 << e.prefixLen;
    if (e.peer === 0) a.maskAny[k0] = (a.maskAny[k0]! | bits) >>> 0;
    else a.maskId[k0] = (a.maskId[k0]! | bits) >>> 0;
    a.entryMatch[i] = e.peer === 0 ? (e.proto === 0 ? MatchType.ALL : MatchType.L4_ONLY) : e.proto === 0 ? MatchType.L3_ONLY : MatchType.L3_L4;
  });
  return a;
}

function probe(a: PolicyMapArrays, k0: number, k1: number, k2: number): number {
  let s = hash3(k0, k1, k2) & a.mask;
  for (;;) {
    const v = a.slot[s]!;
    if (v === 0) return -1;
    if (a.k0[s] === k0 && a.k1[s] === k1 && a.k2[s] === k2) return v - 1;
    s = (s + 1) & a.mask;
  }
}

function probeTier(a: PolicyMapArrays, k0: number, id: number, bits: number, proto: number, port: number): number {
  if (bits === 0) return -1;
  if (proto !== 0) {
    for (let len = 16; len >= 0; len--) {
      if ((bits & (1 << len)) === 0) continue;
      const masked = len === 0 ? 0 : (port >>> (16 - len)) << (16 - len);
      const e = probe(a, k0, id, ((proto << 24) | (len << 16) | masked) >>> 0);
      if (e >= 0) return e;
    }
  }
  if ((bits & BIT_PROTO_ANY) !== 0) return probe(a, k0, id, 0);
  return -1;
}

/**
 * The policy decision for one direction of one endpoint: LOOKUP_NOT_ISOLATED (-2) when the endpoint is not isolated
 * in that direction, LOOKUP_DENIED (-1) when isolated and no entry matches, else the matching entry's index.
 * `proto` is the IP protocol number (6, 17, 132, 1, 58 …); `port` the destination port (0 for port-less protocols —
 * entries with ports never match protocols other than TCP, UDP and SCTP because their proto differs).
 * @remarks hot path: no allocation.
 */
export function lookupPolicy(a: PolicyMapArrays, endpoint: number, dir: number, remoteId: number, proto: number, port: number): number {
  const iso = a.isolated[endpoint]!;
  if ((iso & (dir === 0 ? 1 : 2)) === 0) return LOOKUP_NOT_ISOLATED;
  const k0 = ((endpoint << 1) | dir) >>> 0;
  let e = probeTier(a, k0, remoteId >>> 0, a.maskId[k0]!, proto, port);
  if (e >= 0) return e;
  e = probeTier(a, k0, 0, a.maskAny[k0]!, proto, port);
  return e >= 0 ? e : LOOKUP_DENIED;
}
