/**
 * The reference evaluator: semantics.md §4 written out literally, slowly and obviously. It is the oracle every fast
 * path (compiled tables, verdict cache, workers) is tested against, so it favours plain loops over cleverness and
 * computes *every* allowing rule and every why-not, not just the first hit.
 *
 * Per-flow order (semantics.md §4, "Evaluation order per packet"; conntrack is not modelled here — this decides the
 * first packet of a connection):
 *
 *   1. BYPASS checks needing no lookup: ICMPv6 ND (E29) → loopback (E16, same pod IP before DNAT) → `--icmp=allow` (E14)
 *   2. Service DNAT (E21): ClusterIP:port → backend pod:targetPort, backend chosen by {@link chooseBackend}
 *   3. endpoint lookup for src and dst: pod (podByIP) / node (nodeByIP) / external
 *   4. hairpin switch (E17): the backend is the source pod itself
 *   5. egress of the source pod (only if the source is a pod)
 *   6. ingress of the destination pod (only if it is a pod); BYPASS node_ingress from its own node (E18)
 *
 * Rule matching (§4.5–4.8): rule = peer match AND port match; empty peers = every peer (pods and non-pods); empty
 * ports = every port of every protocol (ICMP and other L4 included); selectors never match non-pod IPs; ipBlock is
 * per family, `except` narrows only its own peer, and matches pod (and node) IPs only with `--ipblock-pods=match` (E8);
 * named ports resolve on the destination pod (E10); endPort is inclusive (E11); protocols never cross-match (E13).
 */
import { KpfError } from '../core/errors.js';
import { backendHash, chooseBackend } from '../core/hash.js';
import { canonicalIP, cidrContains, ipWords, parseCIDR, parseIP, type IpAddr } from '../core/ip.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import type { Cluster, Node, Pod, Service } from '../cluster/model.js';
import { isPolicyEndpoint, podKey } from '../cluster/model.js';
import { matchesSelector } from '../cluster/selectors.js';
import { resolveTargetPort, serviceBackends } from '../cluster/services.js';
import type {
  LabelSelector,
  NetworkPolicyObject,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  Protocol,
  ServicePort,
} from '../manifests/types.js';
import type {
  Decision,
  DirectionResult,
  EndpointDesc,
  Flow,
  FlowProtocol,
  NatInfo,
  RuleDenial,
  RuleRef,
} from './types.js';

// ---------------------------------------------------------------------------------------------------------------
// Small helpers. Selector matching is cluster/selectors.ts (§4.8); ready Service backends and targetPort resolution
// are cluster/services.ts (E21), shared with the compiled dataplane.
// ---------------------------------------------------------------------------------------------------------------

/** kubectl-style text of a selector: `pod=b,app in (x,y),!legacy`; `{}` for the empty selector. */
export function formatSelector(sel: LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    if (r.operator === 'In') parts.push(`${r.key} in (${r.values.join(',')})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${r.values.join(',')})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.length ? parts.join(',') : '{}';
}

/** Labels of a namespace; a namespace missing from the model still carries its D5 name label. */
function namespaceLabels(cluster: Cluster, ns: string): Readonly<Record<string, string>> {
  return cluster.namespaces.get(ns)?.labels ?? { 'kubernetes.io/metadata.name': ns };
}

const PROTO_NUMBER: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 };
const PROTO_NAME: Record<number, FlowProtocol> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMP', 58: 'ICMPv6' };

/** IP protocol number of a flow protocol. */
export function protocolNumber(p: FlowProtocol): number {
  return typeof p === 'number' ? p : PROTO_NUMBER[p]!;
}

/** Canonical form of a flow protocol: numbers of known protocols become their names. */
export function normaliseProtocol(p: FlowProtocol): FlowProtocol {
  if (typeof p === 'number') return PROTO_NAME[p] ?? p;
  if (!(p in PROTO_NUMBER)) throw new KpfError('KPF_ERR_FLOW', `unknown protocol ${String(p)}`);
  return p;
}

function isPortProtocol(p: FlowProtocol): p is Protocol {
  return p === 'TCP' || p === 'UDP' || p === 'SCTP';
}

function protoText(p: FlowProtocol): string {
  return typeof p === 'number' ? `proto ${p}` : p;
}

// ---------------------------------------------------------------------------------------------------------------
// Service backends and the backend choice shared with the compiled dataplane
// ---------------------------------------------------------------------------------------------------------------

/** One usable backend of one Service port for one address family. */
export interface BackendChoice {
  pod: Pod;
  ip: string;
  port: number;
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/**
 * The backends a flow to `svcPort` of `svc` may be DNATed to, in the order {@link chooseBackend} indexes: the ready
 * backends of cluster/services.ts `serviceBackends` (sorted by name) that have an IP of `family` and on which the targetPort resolves (a pod lacking a named
 * targetPort is not an endpoint of that port, as the EndpointSlice controller has it).
 */
export function serviceBackendsForPort(cluster: Cluster, svc: Service, svcPort: ServicePort, family: 4 | 6): BackendChoice[] {
  const out: BackendChoice[] = [];
  for (const pod of serviceBackends(cluster, svc)) {
    const ip = pod.ips.find((x) => familyOf(x) === family);
    if (ip === undefined) continue;
    const port = resolveTargetPort(svcPort, pod);
    if (port === null) continue;
    out.push({ pod, ip, port });
  }
  return out;
}

/** {@link backendHash} of text addresses (the reference evaluator's form). */
export function flowTupleHashText(src: string, dst: string, proto: number, sport: number, dport: number): number {
  const s = parseIP(src);
  const d = parseIP(dst);
  if (!s || !d) throw new KpfError('KPF_ERR_FLOW', `not an IP address: ${!s ? src : dst}`);
  const [s0, s1, s2, s3] = ipWords(s);
  const [d0, d1, d2, d3] = ipWords(d);
  return backendHash(s0, s1, s2, s3, d0, d1, d2, d3, proto, sport, dport);
}

// ---------------------------------------------------------------------------------------------------------------
// Direction evaluation
// ---------------------------------------------------------------------------------------------------------------

/** The remote end of a direction: a pod, or a non-pod address (node, external, un-DNATed ClusterIP). */
interface Remote {
  ip: string;
  addr: IpAddr;
  pod: Pod | null;
  node: Node | null;
  desc: EndpointDesc;
}

interface PortCtx {
  protocol: FlowProtocol;
  dstPort: number | undefined;
  /** the pod whose container ports named ports resolve on (the destination pod), or null */
  dstPod: Pod | null;
}

function policyName(p: NetworkPolicyObject): string {
  return `${p.namespace}/${p.name}`;
}

/** Does one peer match the remote end? Returns null on match, else why not. */
function peerMismatch(
  policy: NetworkPolicyObject,
  peer: NetworkPolicyPeer,
  remote: Remote,
  cluster: Cluster,
  sem: SemanticsOptions,
  notes: Set<string>,
): string | null {
  if (peer.ipBlock) {
    const blk = peer.ipBlock;
    const label = `ipBlock ${blk.cidr}${blk.except.length ? ` except ${blk.except.join(',')}` : ''}`;
    if (remote.pod || remote.node) {
      const what = remote.pod ? 'pod' : 'node';
      if (sem.ipBlockPods === 'ignore') {
        notes.add(`E8 ipBlock never matches pod or node IPs (--ipblock-pods=ignore)`);
        return `${label} does not apply to ${what} ${remote.desc.name} (--ipblock-pods=ignore)`;
      }
      notes.add(`E8 ipBlock matches pod and node IPs (--ipblock-pods=match)`);
    }
    const c = parseCIDR(blk.cidr, false);
    if (!c.ok) return `${label}: invalid CIDR`;
    if (c.cidr.family !== remote.addr.family) return `${label} is IPv${c.cidr.family}, ${remote.ip} is IPv${remote.addr.family}`;
    if (!cidrContains(c.cidr, remote.addr)) return `${label} does not contain ${remote.ip}`;
    for (const ex of blk.except) {
      const e = parseCIDR(ex, false);
      if (e.ok && cidrContains(e.cidr, remote.addr)) return `${label}: ${remote.ip} is in except ${ex}`;
    }
    return null;
  }
  // selector peer
  const desc = [
    peer.namespaceSelector ? `namespaceSelector ${formatSelector(peer.namespaceSelector)}` : '',
    peer.podSelector ? `podSelector ${formatSelector(peer.podSelector)}` : '',
  ]
    .filter(Boolean)
    .join(' + ');
  const pod = remote.pod;
  if (!pod) return `peer ${desc} never matches non-pod ${remote.desc.kind} ${remote.desc.name}`;
  if (peer.namespaceSelector) {
    if (!matchesSelector(peer.namespaceSelector, namespaceLabels(cluster, pod.namespace))) {
      return `peer ${desc}: namespace ${pod.namespace} does not match ${formatSelector(peer.namespaceSelector)}`;
    }
  } else if (pod.namespace !== policy.namespace) {
    return `peer ${desc} does not match ${podKey(pod)} (namespace ${pod.namespace} ≠ ${policy.namespace})`;
  }
  if (peer.podSelector && !matchesSelector(peer.podSelector, pod.labels)) {
    return `peer ${desc}: pod ${podKey(pod)} labels do not match ${formatSelector(peer.podSelector)}`;
  }
  return null;
}

function portEntryText(p: NetworkPolicyPort): string {
  if (p.port === undefined) return `*/${p.protocol}`;
  if (p.endPort !== undefined && typeof p.port === 'number') return `${p.port}-${p.endPort}/${p.protocol}`;
  return `${p.port}/${p.protocol}`;
}

/** Does one port entry match? */
function portEntryMatches(p: NetworkPolicyPort, ctx: PortCtx, notes: Set<string>): boolean {
  if (!isPortProtocol(ctx.protocol)) return false; // E14/E12: a port entry never matches ICMP or other L4
  if (p.protocol !== ctx.protocol) return false; // E13: never cross-match
  if (p.port === undefined) return true; // E12: all ports of that protocol
  const d = ctx.dstPort;
  if (d === undefined) return false;
  if (typeof p.port === 'number') {
    if (p.endPort !== undefined) return p.port <= d && d <= p.endPort; // E11 inclusive
    return d === p.port;
  }
  // E10 named port: on the destination pod, name and protocol must match
  if (!ctx.dstPod) {
    notes.add('E10 named port matches nothing when the destination is not a pod');
    return false;
  }
  const cp = ctx.dstPod.ports.find((c) => c.name === p.port && c.protocol === p.protocol);
  return cp !== undefined && cp.containerPort === d;
}

function portsMismatch(rule: NetworkPolicyRule, ctx: PortCtx, notes: Set<string>): string | null {
  if (rule.ports.length === 0) return null; // E3: every port, every protocol
  for (const p of rule.ports) if (portEntryMatches(p, ctx, notes)) return null;
  const want = rule.ports.map(portEntryText).join(', ');
  if (!isPortProtocol(ctx.protocol)) {
    return `ports [${want}] never match ${protoText(ctx.protocol)} (only rules without ports do, --icmp=portless)`;
  }
  const got = `${ctx.dstPort ?? '?'}/${ctx.protocol}`;
  const named = rule.ports.filter((p) => typeof p.port === 'string');
  let extra = '';
  if (named.length) {
    if (!ctx.dstPod) extra = ' (named ports match nothing: destination is not a pod)';
    else {
      const res = named.map((p) => {
        const cp = ctx.dstPod!.ports.find((c) => c.name === p.port && c.protocol === p.protocol);
        return `${String(p.port)}→${cp ? cp.containerPort : 'undeclared'} on ${podKey(ctx.dstPod!)}`;
      });
      extra = ` (${res.join(', ')})`;
    }
  }
  return `port ${got} not in [${want}]${extra}`;
}

function notEvaluated(direction: 'Ingress' | 'Egress', endpoint: string | null, reason: string): DirectionResult {
  return {
    direction,
    endpoint,
    evaluated: false,
    isolated: false,
    isolatedBy: [],
    allowed: true,
    allowedBy: [],
    reason,
    denials: [],
  };
}

/**
 * Evaluates one direction for pod `pod`: egress (pod is the source, `remote` the destination) or ingress (pod is the
 * destination, `remote` the source). §4.1–4.3 and §4.5–4.7.
 */
export function evaluateDirection(
  cluster: Cluster,
  direction: 'Ingress' | 'Egress',
  pod: Pod,
  remote: { ip: string; pod: Pod | null; node: Node | null; desc: EndpointDesc },
  l4: { protocol: FlowProtocol; dstPort?: number },
  sem: SemanticsOptions = DEFAULT_SEMANTICS,
  notes: Set<string> = new Set(),
): DirectionResult {
  const lower = direction === 'Ingress' ? 'ingress' : 'egress';
  const key = podKey(pod);
  const addr = parseIP(remote.ip);
  if (!addr) throw new KpfError('KPF_ERR_FLOW', `not an IP address: ${remote.ip}`);
  const rem: Remote = { ...remote, addr };
  // 1. selection: policies of the pod's own namespace whose podSelector matches
  const selecting = cluster.policies.filter((p) => p.namespace === pod.namespace && matchesSelector(p.podSelector, pod.labels));
  // 2. isolation per direction from the defaulted policyTypes
  const isolating = selecting.filter((p) => p.policyTypes.includes(direction));
  for (const p of selecting) {
    if (!p.policyTypes.includes(direction) && (direction === 'Ingress' ? p.ingress : p.egress).length > 0) {
      notes.add(`E32 ${policyName(p)} has ${lower} rules but policyTypes ${p.policyTypes.join(',')}: they have no effect`);
    }
  }
  if (isolating.length === 0) {
    const others = selecting.map((p) => `${policyName(p)} (policyTypes: ${p.policyTypes.join(',')})`);
    const reason = others.length
      ? `not isolated for ${lower}: selected only by ${others.join(', ')}`
      : `not isolated for ${lower}: no policy selects it with ${direction}`;
    return { direction, endpoint: key, evaluated: true, isolated: false, isolatedBy: [], allowed: true, allowedBy: [], reason, denials: [] };
  }
  // 3. union of the rules of the isolating policies
  const ctx: PortCtx = {
    protocol: l4.protocol,
    dstPort: l4.dstPort,
    dstPod: direction === 'Ingress' ? pod : rem.pod,
  };
  if (!isPortProtocol(l4.protocol) && sem.icmp === 'portless') {
    notes.add(`E14 ${protoText(l4.protocol)} under isolation is matched only by rules without ports (--icmp=portless)`);
  }
  const allowedBy: RuleRef[] = [];
  const denials: RuleDenial[] = [];
  for (const p of isolating) {
    const rules = direction === 'Ingress' ? p.ingress : p.egress;
    rules.forEach((rule, index) => {
      const ref: RuleRef = { policy: policyName(p), direction: lower, index };
      let peerWhy: string | null = null;
      if (rule.peers.length > 0) {
        const whys: string[] = [];
        let matched = false;
        for (const peer of rule.peers) {
          const w = peerMismatch(p, peer, rem, cluster, sem, notes);
          if (w === null) {
            matched = true;
            break;
          }
          whys.push(w);
        }
        if (!matched) peerWhy = whys.join('; ');
      }
      const portWhy = portsMismatch(rule, ctx, notes);
      if (peerWhy === null && portWhy === null) allowedBy.push(ref);
      else {
        denials.push({
          rule: ref,
          failed: peerWhy !== null && portWhy !== null ? 'peer+port' : peerWhy !== null ? 'peer' : 'port',
          why: [peerWhy, portWhy].filter((x): x is string => x !== null).join('; '),
        });
      }
    });
  }
  const isolatedBy = isolating.map(policyName).sort();
  const allowed = allowedBy.length > 0;
  let reason: string;
  if (allowed) {
    reason = `allowed by ${allowedBy.map((r) => `${r.policy} ${r.direction}[${r.index}]`).join(', ')}`;
  } else {
    const ruleCount = isolating.reduce((n, p) => n + (direction === 'Ingress' ? p.ingress : p.egress).length, 0);
    reason = ruleCount === 0 ? `isolated for ${lower} and no ${lower} rule exists (default deny)` : `isolated for ${lower} and no ${lower} rule allows it`;
  }
  return { direction, endpoint: key, evaluated: true, isolated: true, isolatedBy, allowed, allowedBy, reason, denials };
}

// ---------------------------------------------------------------------------------------------------------------
// The evaluator
// ---------------------------------------------------------------------------------------------------------------

/** Extra knobs of {@link evaluate} for tools built on it (the truth table's per-backend Service columns). */
export interface EvaluateOptions {
  /** force Service DNAT to this backend (`namespace/name`) instead of the hash choice; ignored without DNAT */
  backend?: string;
}

function describe(cluster: Cluster, ip: string): { pod: Pod | null; node: Node | null; svc: Service | null; desc: EndpointDesc } {
  const pod = cluster.podByIP.get(ip);
  if (pod && isPolicyEndpoint(pod)) return { pod, node: null, svc: null, desc: { kind: 'pod', name: podKey(pod), ip } };
  const node = cluster.nodeByIP.get(ip);
  if (node) return { pod: null, node, svc: null, desc: { kind: 'node', name: node.name, ip } };
  const svc = cluster.serviceByIP.get(ip);
  if (svc) return { pod: null, node: null, svc, desc: { kind: 'service', name: `${svc.namespace}/${svc.name}`, ip } };
  return { pod: null, node: null, svc: null, desc: { kind: 'external', name: ip, ip } };
}

function normaliseFlow(flow: Flow): Flow {
  const src = canonicalIP(flow.src);
  const dst = canonicalIP(flow.dst);
  if (src === null) throw new KpfError('KPF_ERR_FLOW', `flow source is not an IP address: ${flow.src}`);
  if (dst === null) throw new KpfError('KPF_ERR_FLOW', `flow destination is not an IP address: ${flow.dst}`);
  if (familyOf(src) !== familyOf(dst)) throw new KpfError('KPF_ERR_FLOW', `flow mixes address families: ${src} -> ${dst}`);
  const out: Flow = { src, dst, protocol: normaliseProtocol(flow.protocol) };
  if (flow.srcPort !== undefined) out.srcPort = flow.srcPort;
  if (flow.dstPort !== undefined) out.dstPort = flow.dstPort;
  if (flow.icmpType !== undefined) out.icmpType = flow.icmpType;
  if (flow.icmpCode !== undefined) out.icmpCode = flow.icmpCode;
  return out;
}

function bypassDecision(
  reason: Decision['reason'],
  detail: string,
  flow: Flow,
  src: EndpointDesc,
  dst: EndpointDesc,
  notes: Set<string>,
): Decision {
  const srcKey = src.kind === 'pod' ? src.name : null;
  const dstKey = dst.kind === 'pod' ? dst.name : null;
  return {
    verdict: 'BYPASS',
    reason,
    detail,
    flow,
    effectiveFlow: flow,
    src,
    dst,
    egress: notEvaluated('Egress', srcKey, `bypassed (${reason})`),
    ingress: notEvaluated('Ingress', dstKey, `bypassed (${reason})`),
    notes: [...notes],
  };
}

/**
 * Decides the first packet of a connection (semantics.md §4). Pure: the same cluster, flow and switches always give
 * the same Decision.
 * @throws KpfError KPF_ERR_FLOW for addresses that do not parse, mixed families or unknown protocol names
 */
export function evaluate(
  cluster: Cluster,
  flowIn: Flow,
  sem: SemanticsOptions = DEFAULT_SEMANTICS,
  opts: EvaluateOptions = {},
): Decision {
  const flow = normaliseFlow(flowIn);
  const notes = new Set<string>();
  const srcInfo = describe(cluster, flow.src);
  const dstInfo0 = describe(cluster, flow.dst);

  // 1. bypasses that need no lookup
  if (flow.protocol === 'ICMPv6' && flow.icmpType !== undefined && sem.icmpv6Bypass.includes(flow.icmpType)) {
    notes.add(`E29 ICMPv6 type ${flow.icmpType} bypasses policy (--icmpv6-bypass=${sem.icmpv6Bypass.join(',') || 'none'})`);
    return bypassDecision('icmpv6_nd', `ICMPv6 type ${flow.icmpType} (neighbor discovery) is never subject to policy`, flow, srcInfo.desc, dstInfo0.desc, notes);
  }
  if (flow.src === flow.dst && srcInfo.pod) {
    notes.add('E16 traffic from a pod to its own IP never leaves the pod (loopback)');
    return bypassDecision('loopback', `${srcInfo.desc.name} to its own IP ${flow.dst}`, flow, srcInfo.desc, dstInfo0.desc, notes);
  }
  if (sem.icmp === 'allow' && (flow.protocol === 'ICMP' || flow.protocol === 'ICMPv6')) {
    notes.add('E14 ICMP is never subject to policy (--icmp=allow)');
    return bypassDecision('icmp_allow', `${flow.protocol} is never subject to policy (--icmp=allow)`, flow, srcInfo.desc, dstInfo0.desc, notes);
  }

  // 2. Service DNAT
  let eff: Flow = flow;
  let nat: NatInfo | undefined;
  let serviceDesc: EndpointDesc | undefined;
  let dstInfo = dstInfo0;
  if (dstInfo0.svc) {
    const svc = dstInfo0.svc;
    const svcName = `${svc.namespace}/${svc.name}`;
    if (sem.serviceDnat === 'off') {
      notes.add('E21 Service DNAT is off (--service-dnat=off): the ClusterIP is evaluated as a plain non-pod address');
    } else {
      notes.add('E21 policy is evaluated after Service DNAT (--service-dnat=on)');
      serviceDesc = dstInfo0.desc;
      const drop = (detail: string): Decision => ({
        verdict: 'DROP',
        reason: 'SERVICE_BACKEND_NOT_FOUND',
        detail,
        flow,
        effectiveFlow: flow,
        src: srcInfo.desc,
        dst: dstInfo0.desc,
        service: dstInfo0.desc,
        egress: notEvaluated('Egress', srcInfo.pod ? podKey(srcInfo.pod) : null, 'not evaluated: no Service backend'),
        ingress: notEvaluated('Ingress', null, 'not evaluated: no Service backend'),
        notes: [...notes],
      });
      const proto = flow.protocol;
      if (!isPortProtocol(proto) || flow.dstPort === undefined) {
        return drop(`Service ${svcName} (${flow.dst}) only forwards its TCP/UDP/SCTP ports, not ${protoText(proto)}`);
      }
      const sp = svc.ports.find((p) => p.protocol === proto && p.port === flow.dstPort);
      if (!sp) {
        const have = svc.ports.map((p) => `${p.port}/${p.protocol}`).join(', ') || 'none';
        return drop(`port ${flow.dstPort}/${proto} is not a port of Service ${svcName} (ports: ${have})`);
      }
      const backends = serviceBackendsForPort(cluster, svc, sp, familyOf(flow.dst));
      if (backends.length === 0) {
        const named = typeof sp.targetPort === 'string' ? ` on which targetPort "${sp.targetPort}" resolves` : '';
        return drop(`Service ${svcName} has no ready IPv${familyOf(flow.dst)} backend${named} for port ${sp.port}/${proto}`);
      }
      let chosen: BackendChoice | undefined;
      if (opts.backend !== undefined) {
        chosen = backends.find((b) => podKey(b.pod) === opts.backend);
        if (!chosen) return drop(`backend ${opts.backend} is not a backend of Service ${svcName} port ${sp.port}/${proto}`);
      } else {
        const h = flowTupleHashText(flow.src, flow.dst, protocolNumber(proto), flow.srcPort ?? 0, flow.dstPort);
        chosen = backends[chooseBackend(h, backends.length)]!;
      }
      nat = {
        service: svcName,
        clusterIP: flow.dst,
        servicePort: sp.port,
        protocol: proto,
        backend: podKey(chosen.pod),
        backendIP: chosen.ip,
        backendPort: chosen.port,
      };
      eff = { ...flow, dst: chosen.ip, dstPort: chosen.port };
      dstInfo = describe(cluster, chosen.ip);
    }
  }

  // 3. endpoints
  const src = srcInfo.desc;
  const dst = dstInfo.desc;
  const srcPod = srcInfo.pod;
  const dstPod = dstInfo.pod;

  // 4. hairpin (E17)
  if (nat && srcPod && dstPod && srcPod === dstPod) {
    if (sem.hairpin === 'allow') {
      notes.add('E17 hairpin (pod → own Service → itself) bypasses policy (--hairpin=allow)');
      const d = bypassDecision('hairpin', `${src.name} reached itself through Service ${nat.service}`, flow, src, dst, notes);
      return { ...d, effectiveFlow: eff, nat, service: serviceDesc };
    }
    notes.add('E17 hairpin is evaluated as an ordinary flow with src = dst (--hairpin=policy)');
  }

  // 5. egress of the source pod
  const l4 = { protocol: eff.protocol, dstPort: eff.dstPort };
  const egress = srcPod
    ? evaluateDirection(cluster, 'Egress', srcPod, { ip: eff.dst, pod: dstPod, node: dstInfo.node, desc: dst }, l4, sem, notes)
    : notEvaluated('Egress', null, `source is not a pod (${src.kind} ${src.name}): no egress policy applies`);

  // 6. ingress of the destination pod
  let ingress: DirectionResult;
  let nodeBypass = false;
  if (!dstPod) {
    ingress = notEvaluated('Ingress', null, `destination is not a pod (${dst.kind} ${dst.name}): no ingress policy applies`);
  } else if (srcInfo.node && srcInfo.node.name === dstPod.nodeName && sem.nodeIngress === 'allow') {
    notes.add(`E18 ingress from the pod's own node ${srcInfo.node.name} bypasses policy (--node-ingress=allow)`);
    ingress = notEvaluated('Ingress', podKey(dstPod), `bypassed (node_ingress): source is the pod's own node ${srcInfo.node.name}`);
    nodeBypass = true;
  } else {
    if (srcInfo.node && srcInfo.node.name === dstPod.nodeName) {
      notes.add(`E18 ingress from the pod's own node is subject to policy (--node-ingress=policy)`);
    }
    ingress = evaluateDirection(cluster, 'Ingress', dstPod, { ip: eff.src, pod: srcPod, node: srcInfo.node, desc: src }, l4, sem, notes);
  }

  const base = { flow, effectiveFlow: eff, src, dst, egress, ingress, notes: [...notes] };
  const extra: Partial<Decision> = {};
  if (serviceDesc) extra.service = serviceDesc;
  if (nat) extra.nat = nat;
  if (!egress.allowed || !ingress.allowed) {
    const deniedBy = !egress.allowed ? 'Egress' : 'Ingress';
    const who = deniedBy === 'Egress' ? egress.endpoint : ingress.endpoint;
    return {
      verdict: 'DROP',
      reason: 'POLICY_DENIED',
      detail: `${deniedBy.toLowerCase()} of ${who} denies it: ${deniedBy === 'Egress' ? egress.reason : ingress.reason}`,
      ...base,
      ...extra,
      deniedBy,
    };
  }
  if (nodeBypass) {
    return {
      verdict: 'BYPASS',
      reason: 'node_ingress',
      detail: `ingress from ${src.name}, the own node of ${dst.name}, is never subject to policy`,
      ...base,
      ...extra,
    };
  }
  return { verdict: 'ALLOW', reason: 'policy', detail: `egress: ${egress.reason}; ingress: ${ingress.reason}`, ...base, ...extra };
}

/** True when the decision lets the packet through (ALLOW or BYPASS). */
export function isAllowed(d: Decision): boolean {
  return d.verdict !== 'DROP';
}
