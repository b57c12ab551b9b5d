/**
 * The policy decision for the first packet of a connection, on a Snapshot — the order of semantics.md §4:
 *
 *   1. bypass without lookup: ICMPv6 types in --icmpv6-bypass (ND), --icmp=allow, loopback (src = dst address)
 *   2. Service DNAT: a ClusterIP:port → backend chosen by the 5-tuple hash (the reference's choice); a ClusterIP on a
 *      port the Service lacks, or without a usable backend → DROP SERVICE_BACKEND_NOT_FOUND
 *   3. ipcache: source and destination → identity, endpoint, node
 *   4. hairpin (source endpoint = destination endpoint after DNAT) with --hairpin=allow → BYPASS
 *   5. egress of the source endpoint (only when the source is a pod), remote = destination identity
 *   6. ingress of the destination endpoint (only when the destination is a pod), remote = source identity; from the
 *      destination's own node with --node-ingress=allow → BYPASS
 *
 * Conntrack, fragments and the verdict cache sit in front of this (classify.ts); this function is stateless.
 * Results go into a caller-owned {@link Decision} record (hot path: no allocation).
 */
import { DropReason } from '../core/enums.js';
import { backendHashI, chooseBackend } from '../core/hash.js';
import { LOOKUP_DENIED, LOOKUP_NOT_ISOLATED, lookupPolicy } from './policy-map.js';
import { SemanticsBits, findFrontend, type Snapshot } from './snapshot.js';
import { VerdictCache } from './verdict-cache.js';

export const Verdict = { ALLOW: 1, DROP: 2, BYPASS: 3 } as const;

/** Why: DropReason numbers for drops; these for allows and bypasses. */
export const Why = {
  POLICY: 1,
  LOOPBACK: 2,
  NODE_INGRESS: 3,
  HAIRPIN: 4,
  ICMPV6_ND: 5,
  ICMP_ALLOW: 6,
} as const;

/** Result record, reused for every packet. */
export class Decision {
  verdict = 0;
  /** Why.* for ALLOW/BYPASS, DropReason for DROP */
  reason = 0;
  /** 'Egress' (1) or 'Ingress' (0) that denied; -1 */
  deniedDir = -1;
  srcIdentity = 0;
  dstIdentity = 0;
  srcEndpoint = 0;
  dstEndpoint = 0;
  /** policy-map entry that allowed egress / ingress; LOOKUP_NOT_ISOLATED (-2), LOOKUP_DENIED (-1), or -3 not evaluated */
  egressEntry = -3;
  ingressEntry = -3;
  /** Service frontend index, -1 none */
  frontend = -1;
  /** backend index (into ServiceTable.be*), -1 none */
  backend = -1;
  /** destination after DNAT */
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  dport = 0;
}

/** Input of {@link decide}: a connection's first packet. */
export interface DecideInput {
  family: number;
  proto: number;
  src0: number; src1: number; src2: number; src3: number;
  dst0: number; dst1: number; dst2: number; dst3: number;
  sport: number;
  dport: number;
  icmpType: number;
}

const NOT_EVALUATED = -3;

/**
 * Decides one connection. `k` may be a FlowKey (it has every field of DecideInput).
 * @remarks hot path: no allocation, no closures.
 */
export function decide(s: Snapshot, k: DecideInput, out: Decision, vc?: VerdictCache): Decision {
  out.deniedDir = -1;
  out.egressEntry = NOT_EVALUATED;
  out.ingressEntry = NOT_EVALUATED;
  out.frontend = -1;
  out.backend = -1;
  out.srcEndpoint = out.dstEndpoint = 0;
  out.srcIdentity = out.dstIdentity = 0;
  out.dst0 = k.dst0;
  out.dst1 = k.dst1;
  out.dst2 = k.dst2;
  out.dst3 = k.dst3;
  out.dport = k.dport;
  const flags = s.flags;
  const proto = k.proto;
  const ports = proto === 6 || proto === 17 || proto === 132;
  // 1. bypasses
  if (proto === 58 && (s.icmpv6Bypass[(k.icmpType & 255) >>> 5]! & (1 << (k.icmpType & 31))) !== 0) return bypass(out, Why.ICMPV6_ND);
  if (k.src3 === k.dst3 && k.src2 === k.dst2 && k.src1 === k.dst1 && k.src0 === k.dst0) {
    const v = s.ipcache.lookup(k.family, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0);
    if (s.ipEndpoint[v]! !== 0) return bypass(out, Why.LOOPBACK);
  }
  if ((proto === 1 || proto === 58) && (flags & SemanticsBits.ICMP_ALLOW) !== 0) return bypass(out, Why.ICMP_ALLOW);
  const port = ports ? k.dport : 0;
  // 2. Service DNAT
  if ((flags & SemanticsBits.DNAT_OFF) === 0) {
    const f = findFrontend(s.services, k.family, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0, proto, port);
    if (f === -2) return drop(out, DropReason.SERVICE_BACKEND_NOT_FOUND, -1);
    if (f >= 0) {
      out.frontend = f;
      const n = s.services.feCount[f]!;
      if (n === 0) return drop(out, DropReason.SERVICE_BACKEND_NOT_FOUND, -1);
      const h = backendHashI(k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0, proto, k.sport, k.dport);
      const b = s.services.feStart[f]! + chooseBackend(h, n);
      out.backend = b;
      const o = b * 4;
      out.dst0 = s.services.beAddr[o]!;
      out.dst1 = s.services.beAddr[o + 1]!;
      out.dst2 = s.services.beAddr[o + 2]!;
      out.dst3 = s.services.beAddr[o + 3]!;
      out.dport = s.services.bePort[b]!;
    }
  }
  const dport = ports ? out.dport : 0;
  // 3. ipcache
  // address words go to calls as int32: a uint32 of 2^31 or more passed to a call V8 did not inline is boxed
  const sv = s.ipcache.lookup(k.family, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0);
  const dv = s.ipcache.lookup(k.family, out.dst0 | 0, out.dst1 | 0, out.dst2 | 0, out.dst3 | 0);
  const srcEp = s.ipEndpoint[sv]!;
  const dstEp = s.ipEndpoint[dv]!;
  out.srcIdentity = s.ipIdentity[sv]!;
  out.dstIdentity = s.ipIdentity[dv]!;
  out.srcEndpoint = srcEp;
  out.dstEndpoint = dstEp;
  // 4. hairpin
  if (out.frontend >= 0 && srcEp !== 0 && srcEp === dstEp && (flags & SemanticsBits.HAIRPIN_ALLOW) !== 0) return bypass(out, Why.HAIRPIN);
  // 5. egress of the source pod
  if (srcEp !== 0) {
    const e = vc === undefined ? lookupPolicy(s.policy, srcEp, 1, out.dstIdentity, proto, dport) : cachedLookup(s, vc, srcEp, 1, out.dstIdentity, proto, dport);
    out.egressEntry = e;
    if (e === LOOKUP_DENIED) return drop(out, DropReason.POLICY_DENIED, 1);
  }
  // 6. ingress of the destination pod
  if (dstEp !== 0) {
    const node = s.ipNode[sv]!;
    if (node !== 0 && node === s.endpointNode[dstEp]! && (flags & SemanticsBits.NODE_INGRESS_POLICY) === 0) {
      return bypass(out, Why.NODE_INGRESS);
    }
    const e = vc === undefined ? lookupPolicy(s.policy, dstEp, 0, out.srcIdentity, proto, dport) : cachedLookup(s, vc, dstEp, 0, out.srcIdentity, proto, dport);
    out.ingressEntry = e;
    if (e === LOOKUP_DENIED) return drop(out, DropReason.POLICY_DENIED, 0);
  }
  out.verdict = Verdict.ALLOW;
  out.reason = Why.POLICY;
  return out;
}

/** The policy-map lookup behind the verdict cache (entries stamped with the snapshot's revision). */
function cachedLookup(s: Snapshot, vc: VerdictCache, ep: number, dir: number, remote: number, proto: number, port: number): number {
  // a direction that is not isolated needs no lookup at all
  if ((s.policy.isolated[ep]! & (dir === 0 ? 1 : 2)) === 0) return LOOKUP_NOT_ISOLATED;
  const v = vc.lookup(ep, dir, remote, proto, port, s.revision);
  if (v >= 0) return vc.ruleRef - 3;
  const e = lookupPolicy(s.policy, ep, dir, remote, proto, port);
  vc.insert(ep, dir, remote, proto, port, s.revision, e === LOOKUP_DENIED ? 2 : 1, e + 3);
  return e;
}

function bypass(out: Decision, why: number): Decision {
  out.verdict = Verdict.BYPASS;
  out.reason = why;
  return out;
}

function drop(out: Decision, reason: number, dir: number): Decision {
  out.verdict = Verdict.DROP;
  out.reason = reason;
  out.deniedDir = dir;
  return out;
}

export { LOOKUP_DENIED, LOOKUP_NOT_ISOLATED };
