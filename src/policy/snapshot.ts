/**
 * Builds the per-packet Snapshot (datapath/snapshot.ts) from a compile result: typed arrays only, optionally in
 * SharedArrayBuffers so worker threads attach to them without copying.
 */
import { parseIP } from '../core/ip.js';
import { LpmTable, cidrWords, type LpmEntry } from '../datapath/lpm.js';
import { buildPolicyMap } from '../datapath/policy-map.js';
import { SemanticsBits, hashAddr, type RuleTable, type ServiceTable, type Snapshot } from '../datapath/snapshot.js';
import type { DecideInput } from '../datapath/decide.js';
import type { Flow } from './types.js';
import { addressWords, type Compiled } from './compile.js';

function arr<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(
  ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
  n: number,
  shared: boolean,
): T {
  const bytes = Math.max(1, n) * ctor.BYTES_PER_ELEMENT;
  return new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

function pow2(n: number): number {
  let c = 8;
  while (c < n) c *= 2;
  return c;
}

export function buildSnapshot(c: Compiled, opts: { shared?: boolean } = {}): Snapshot {
  const shared = opts.shared ?? true;
  // ---- ipcache: value = ipinfo index; index 0 is world (the default) ----
  const n = c.ipcache.length + 1;
  const ipIdentity = arr(Uint32Array, n, shared);
  const ipEndpoint = arr(Int32Array, n, shared);
  const ipNode = arr(Int32Array, n, shared);
  ipIdentity[0] = 2; // reserved:world
  const lpm: LpmEntry[] = c.ipcache.map((e, i) => {
    ipIdentity[i + 1] = e.identity;
    ipEndpoint[i + 1] = e.endpoint;
    ipNode[i + 1] = e.node;
    const [w0, w1, w2, w3] = cidrWords(e.cidr);
    return { family: e.family, w0, w1, w2, w3, prefixLen: e.cidr.prefix, value: i + 1 };
  });
  const ipcache = LpmTable.build(lpm, { defaultValue: 0, shared });

  const endpointNode = arr(Int32Array, c.endpoints.length + 1, shared);
  for (const ep of c.endpoints) endpointNode[ep.id] = ep.node + 1;

  // ---- policy map ----
  const policy = buildPolicyMap({
    endpointCount: c.endpoints.length,
    isolation: c.endpoints.map((e) => ({ endpoint: e.id, ingress: e.isolatedIngress, egress: e.isolatedEgress })),
    entries: c.entries.map((e) => ({ endpoint: e.endpoint, dir: e.dir, peer: e.peer, proto: e.proto, prefixLen: e.prefixLen, port: e.port, row: e.rows[0]! })),
    shared,
  });

  // ---- flat rule table ----
  const R = c.rows.length;
  const rules: RuleTable = {
    count: R,
    dir: arr(Uint8Array, R, shared),
    endpoint: arr(Int32Array, R, shared),
    peer: arr(Uint32Array, R, shared),
    proto: arr(Uint8Array, R, shared),
    portLo: arr(Uint16Array, R, shared),
    portHi: arr(Uint16Array, R, shared),
    policy: arr(Int32Array, R, shared),
    rule: arr(Int32Array, R, shared),
  };
  c.rows.forEach((r, i) => {
    rules.dir[i] = r.dir;
    rules.endpoint[i] = r.endpoint;
    rules.peer[i] = r.peer;
    rules.proto[i] = r.proto;
    rules.portLo[i] = r.portLo;
    rules.portHi[i] = r.portHi;
    rules.policy[i] = r.policy;
    rules.rule[i] = r.rule;
  });

  // ---- Services ----
  const F = c.frontends.length;
  const B = c.frontends.reduce((s, f) => s + f.backends.length, 0);
  const vips = [...new Set(c.frontends.map((f) => f.ip))];
  const cap = pow2(F * 2);
  const vcap = pow2(vips.length * 2);
  const services: ServiceTable = {
    mask: cap - 1,
    slot: arr(Int32Array, cap, shared),
    feFamily: arr(Uint8Array, F, shared),
    feProto: arr(Uint8Array, F, shared),
    fePort: arr(Uint16Array, F, shared),
    feAddr: arr(Uint32Array, F * 4, shared),
    feStart: arr(Int32Array, F, shared),
    feCount: arr(Int32Array, F, shared),
    beAddr: arr(Uint32Array, B * 4, shared),
    bePort: arr(Uint16Array, B, shared),
    beEndpoint: arr(Int32Array, B, shared),
    vipMask: vips.length ? vcap - 1 : -1,
    vipFilter: arr(Uint8Array, 8192, shared),
    vipSlot: arr(Int32Array, vcap, shared),
    vipAddr: arr(Uint32Array, vips.length * 4, shared),
    vipFamily: arr(Uint8Array, vips.length, shared),
  };
  let b = 0;
  c.frontends.forEach((f, i) => {
    const w = addressWords(f.ip);
    services.feFamily[i] = f.family;
    services.feProto[i] = f.proto;
    services.fePort[i] = f.port;
    services.feAddr.set(w, i * 4);
    services.feStart[i] = b;
    services.feCount[i] = f.backends.length;
    for (const be of f.backends) {
      services.beAddr.set(addressWords(be.ip), b * 4);
      services.bePort[b] = be.port;
      services.beEndpoint[b] = be.endpoint;
      b++;
    }
    let s = hashAddr(f.family, f.proto, f.port, w[0], w[1], w[2], w[3]) & services.mask;
    while (services.slot[s] !== 0) s = (s + 1) & services.mask;
    services.slot[s] = i + 1;
  });
  vips.forEach((ip, i) => {
    const a = parseIP(ip)!;
    const w = addressWords(ip);
    services.vipAddr.set(w, i * 4);
    services.vipFamily[i] = a.family;
    services.vipFilter[(w[3] & 0xffff) >>> 3] = services.vipFilter[(w[3] & 0xffff) >>> 3]! | (1 << (w[3] & 7));
    let s = hashAddr(a.family, 0, 0, w[0], w[1], w[2], w[3]) & services.vipMask;
    while (services.vipSlot[s] !== 0) s = (s + 1) & services.vipMask;
    services.vipSlot[s] = i + 1;
  });

  const sem = c.semantics;
  let flags = 0;
  if (sem.ipBlockPods === 'ignore') flags |= SemanticsBits.IPBLOCK_IGNORE_PODS;
  if (sem.hairpin === 'allow') flags |= SemanticsBits.HAIRPIN_ALLOW;
  if (sem.icmp === 'allow') flags |= SemanticsBits.ICMP_ALLOW;
  if (sem.nonIp === 'drop') flags |= SemanticsBits.NON_IP_DROP;
  if (sem.nodeIngress === 'policy') flags |= SemanticsBits.NODE_INGRESS_POLICY;
  if (sem.onPolicyChange === 'reevaluate') flags |= SemanticsBits.REEVALUATE;
  if (sem.serviceDnat === 'off') flags |= SemanticsBits.DNAT_OFF;
  const icmpv6Bypass = arr(Uint32Array, 8, shared);
  for (const t of sem.icmpv6Bypass) icmpv6Bypass[t >>> 5] = (icmpv6Bypass[t >>> 5]! | (1 << (t & 31))) >>> 0;

  return { revision: c.revision, ipcache, ipIdentity, ipEndpoint, ipNode, endpointNode, policy, rules, services, flags, icmpv6Bypass };
}

const PROTO_NUM: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 };

/** A reference-evaluator Flow as the dataplane's decision input (for explain and the differential tests). */
export function decideInputOf(f: Flow): DecideInput {
  const [s0, s1, s2, s3] = addressWords(f.src);
  const [d0, d1, d2, d3] = addressWords(f.dst);
  return {
    family: f.src.includes(':') ? 6 : 4,
    proto: typeof f.protocol === 'number' ? f.protocol : PROTO_NUM[f.protocol]!,
    src0: s0, src1: s1, src2: s2, src3: s3,
    dst0: d0, dst1: d1, dst2: d2, dst3: d3,
    sport: f.srcPort ?? 0,
    dport: f.dstPort ?? 0,
    icmpType: f.icmpType ?? 0,
  };
}
