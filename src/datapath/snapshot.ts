/**
 * Snapshot: the per-packet view of one compiled policy revision — typed arrays only, so that it can be placed in
 * SharedArrayBuffers and attached by worker threads without copying. Built by policy/snapshot.ts; read here.
 *
 *   ipcache   LpmTable: address → ipinfo index (0 = world)
 *   ipinfo    identity u32 │ endpoint i32 (0: not a pod) │ node i32 (node index + 1; 0: not a node)
 *   endpoints node i32 per endpoint id (node index + 1)
 *   policy    PolicyMapArrays (policy-map.ts): per-endpoint maps, isolation bits
 *   rules     flat rule table: dir u8 │ endpoint i32 │ peer u32 │ proto u8 │ portLo u16 │ portHi u16 │ policy i32 │ rule i32
 *   services  frontend hash: (family, addr words, proto, port) → frontend; backends: addr words, port, endpoint
 *   vips      hash of ClusterIPs alone (a packet to a ClusterIP on a port the Service lacks is dropped)
 */
import { fmix32i, mix32i } from '../core/hash.js';
import { LpmTable } from './lpm.js';
import type { PolicyMapArrays } from './policy-map.js';

export interface RuleTable {
  count: number;
  dir: Uint8Array;
  endpoint: Int32Array;
  peer: Uint32Array;
  proto: Uint8Array;
  portLo: Uint16Array;
  portHi: Uint16Array;
  policy: Int32Array;
  rule: Int32Array;
}

export interface ServiceTable {
  /** capacity - 1 of the frontend hash */
  mask: number;
  /** frontend hash slots: frontend index + 1 (0 empty) */
  slot: Int32Array;
  /** per frontend: family, proto, port, address words (4), backend start and count */
  feFamily: Uint8Array;
  feProto: Uint8Array;
  fePort: Uint16Array;
  feAddr: Uint32Array;
  feStart: Int32Array;
  feCount: Int32Array;
  /** per backend: address words (4), port, endpoint id */
  beAddr: Uint32Array;
  bePort: Uint16Array;
  beEndpoint: Int32Array;
  /** ClusterIP-only hash: slots hold vip index + 1; vip addresses 4 words + family */
  vipMask: number;
  vipSlot: Int32Array;
  /** one bit per value of the low 16 bits of a ClusterIP's last word: a quick "certainly not a ClusterIP" */
  vipFilter: Uint8Array;
  vipAddr: Uint32Array;
  vipFamily: Uint8Array;
}

export interface Snapshot {
  revision: number;
  ipcache: LpmTable;
  ipIdentity: Uint32Array;
  ipEndpoint: Int32Array;
  ipNode: Int32Array;
  /** per endpoint id (index 0 unused): node index + 1 */
  endpointNode: Int32Array;
  policy: PolicyMapArrays;
  rules: RuleTable;
  services: ServiceTable;
  /** semantics switches as numbers (see SemanticsBits) */
  flags: number;
  /** ICMPv6 types that bypass policy: bit i of word i>>5 */
  icmpv6Bypass: Uint32Array;
}

/** Bits of Snapshot.flags. */
export const SemanticsBits = {
  IPBLOCK_IGNORE_PODS: 1,
  HAIRPIN_ALLOW: 2,
  ICMP_ALLOW: 4,
  NON_IP_DROP: 8,
  NODE_INGRESS_POLICY: 16,
  REEVALUATE: 32,
  DNAT_OFF: 64,
} as const;

/** Hash of a Service frontend or ClusterIP key (int32: see core/hash.ts mix32i). */
export function hashAddr(family: number, proto: number, port: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = mix32i(0x73766331, (family << 24) | (proto << 16) | port);
  h = mix32i(h, w0);
  h = mix32i(h, w1);
  h = mix32i(h, w2);
  h = mix32i(h, w3);
  return fmix32i(h);
}

/**
 * Index of the Service frontend for (family, dst, proto, dport), -1 when the address is no ClusterIP, -2 when it is a
 * ClusterIP but the Service has no such port/protocol.
 * @remarks hot path: no allocation.
 */
export function findFrontend(s: ServiceTable, family: number, w0: number, w1: number, w2: number, w3: number, proto: number, port: number): number {
  if (s.vipMask < 0 || (s.vipFilter[(w3 & 0xffff) >>> 3]! & (1 << (w3 & 7))) === 0) return -1;
  let i = hashAddr(family, proto, port, w0, w1, w2, w3) & s.mask;
  for (;;) {
    const v = s.slot[i]!;
    if (v === 0) break;
    const f = v - 1;
    if (s.fePort[f] === port && s.feProto[f] === proto && s.feFamily[f] === family) {
      const o = f * 4;
      // words compared as int32: callers may pass either form (the per-packet path passes int32, see decide.ts)
      if ((s.feAddr[o + 3]! | 0) === (w3 | 0) && (s.feAddr[o + 2]! | 0) === (w2 | 0) && (s.feAddr[o + 1]! | 0) === (w1 | 0) && (s.feAddr[o]! | 0) === (w0 | 0)) return f;
    }
    i = (i + 1) & s.mask;
  }
  let j = hashAddr(family, 0, 0, w0, w1, w2, w3) & s.vipMask;
  for (;;) {
    const v = s.vipSlot[j]!;
    if (v === 0) return -1;
    const o = (v - 1) * 4;
    if (
      s.vipFamily[v - 1] === family &&
      (s.vipAddr[o + 3]! | 0) === (w3 | 0) &&
      (s.vipAddr[o + 2]! | 0) === (w2 | 0) &&
      (s.vipAddr[o + 1]! | 0) === (w1 | 0) &&
      (s.vipAddr[o]! | 0) === (w0 | 0)
    )
      return -2;
    j = (j + 1) & s.vipMask;
  }
}
