/**
 * Builders for typed manifest objects (src/manifests/types.ts), for tests that start after the loader: the cluster
 * stage, the policy stage, anything that wants a `KubeObject[]` without YAML.
 *
 * Every builder fills in what the loader would (defaults D1, D2, D6, D7; `loc`), so a test only states what it is
 * about:
 *
 *   ns('prod', { team: 'a' })
 *   pod('prod', 'web', { labels: { app: 'web' }, ports: [port(80, 'http')], ips: ['10.0.0.5'], phase: 'Running' })
 *   deploy('prod', 'nginx', { labels: { app: 'nginx' }, replicas: 3 })
 *   svc('prod', 'web', { selector: { app: 'web' }, ports: [svcPort(80, { targetPort: 'http' })] })
 *   node('n1', { addresses: ['192.168.0.10'], podCIDRs: ['10.244.1.0/24'] })
 *   netpol('prod', 'deny', { podSelector: sel({ app: 'web' }), ingress: [rule([peer({ pod: sel() })], [npPort(80)])] })
 *
 * `loc` defaults to `{ file: 'test.yaml', line: 0 }`; pass `at('a.yaml', 3)` as `loc` where the place matters.
 */
import type { SourceLoc } from '../../src/core/errors.js';
import type {
  ContainerPort,
  LabelSelector,
  LabelSelectorRequirement,
  NamespaceObject,
  NetworkPolicyObject,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  NodeObject,
  PodObject,
  PolicyType,
  Protocol,
  ServiceObject,
  ServicePort,
  WorkloadObject,
} from '../../src/manifests/types.js';

export type Labels = Record<string, string>;

/** A source location. */
export function at(file: string, line = 0, doc?: number): SourceLoc {
  return doc === undefined ? { file, line } : { file, line, doc };
}

const DEFAULT_LOC: SourceLoc = { file: 'test.yaml', line: 0 };

// ---------------------------------------------------------------------------------------------------------------
// selectors

/** `sel({ app: 'web' })`, `sel({}, [expr('env', 'In', 'a', 'b')])`; `sel()` is the empty selector. */
export function sel(matchLabels: Labels = {}, matchExpressions: LabelSelectorRequirement[] = []): LabelSelector {
  return { matchLabels, matchExpressions };
}

/** One matchExpressions entry. */
export function expr(key: string, operator: LabelSelectorRequirement['operator'], ...values: string[]): LabelSelectorRequirement {
  return { key, operator, values };
}

// ---------------------------------------------------------------------------------------------------------------
// Namespace, Node

export function ns(name: string, labels: Labels = {}, loc: SourceLoc = DEFAULT_LOC): NamespaceObject {
  return { kind: 'Namespace', name, labels, loc };
}

export function node(name: string, o: { addresses?: string[]; podCIDRs?: string[]; labels?: Labels; loc?: SourceLoc } = {}): NodeObject {
  return {
    kind: 'Node',
    name,
    labels: o.labels ?? {},
    addresses: o.addresses ?? [],
    podCIDRs: o.podCIDRs ?? [],
    loc: o.loc ?? DEFAULT_LOC,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Pods and workloads

/** A container port; protocol defaults to TCP (D6). `port(80, 'http')`, `port(53, 'dns', 'UDP')`. */
export function port(containerPort: number, name?: string, protocol: Protocol = 'TCP'): ContainerPort {
  return name === undefined ? { containerPort, protocol } : { name, containerPort, protocol };
}

export interface PodOpts {
  labels?: Labels;
  ports?: ContainerPort[];
  /** status.podIPs */
  ips?: string[];
  /** status.phase; omitted = not given */
  phase?: string;
  hostNetwork?: boolean;
  nodeName?: string;
  hostIP?: string;
  /** ownerReferences[0] as `Kind/name` */
  owner?: string;
  loc?: SourceLoc;
}

export function pod(namespace: string, name: string, o: PodOpts = {}): PodObject {
  const p: PodObject = {
    kind: 'Pod',
    namespace,
    name,
    labels: o.labels ?? {},
    spec: { hostNetwork: o.hostNetwork ?? false, ports: o.ports ?? [] },
    podIPs: o.ips ?? [],
    loc: o.loc ?? DEFAULT_LOC,
  };
  if (o.nodeName !== undefined) p.spec.nodeName = o.nodeName;
  if (o.phase !== undefined) p.phase = o.phase;
  if (o.hostIP !== undefined) p.hostIP = o.hostIP;
  if (o.owner !== undefined) p.owner = o.owner;
  return p;
}

export interface WorkloadOpts {
  /** template labels; also the selector's matchLabels unless `selector` is given */
  labels?: Labels;
  selector?: LabelSelector;
  /** defaults to 1 */
  replicas?: number;
  ports?: ContainerPort[];
  hostNetwork?: boolean;
  nodeName?: string;
  /** metadata labels of the workload itself */
  metaLabels?: Labels;
  owner?: string;
  loc?: SourceLoc;
}

export function workload(kind: WorkloadObject['kind'], namespace: string, name: string, o: WorkloadOpts = {}): WorkloadObject {
  const labels = o.labels ?? { app: name };
  const spec: WorkloadObject['template']['spec'] = { hostNetwork: o.hostNetwork ?? false, ports: o.ports ?? [] };
  if (o.nodeName !== undefined) spec.nodeName = o.nodeName;
  const w: WorkloadObject = {
    kind,
    namespace,
    name,
    labels: o.metaLabels ?? {},
    replicas: o.replicas ?? 1,
    selector: o.selector ?? sel({ ...labels }),
    template: { labels, spec },
    loc: o.loc ?? DEFAULT_LOC,
  };
  if (o.owner !== undefined) w.owner = o.owner;
  return w;
}

export const deploy = (namespace: string, name: string, o: WorkloadOpts = {}): WorkloadObject => workload('Deployment', namespace, name, o);
export const rs = (namespace: string, name: string, o: WorkloadOpts = {}): WorkloadObject => workload('ReplicaSet', namespace, name, o);
export const sts = (namespace: string, name: string, o: WorkloadOpts = {}): WorkloadObject => workload('StatefulSet', namespace, name, o);
export const ds = (namespace: string, name: string, o: WorkloadOpts = {}): WorkloadObject => workload('DaemonSet', namespace, name, o);

// ---------------------------------------------------------------------------------------------------------------
// Services

/** A Service port; protocol TCP and targetPort = port by default (D7). */
export function svcPort(portNumber: number, o: { name?: string; protocol?: Protocol; targetPort?: number | string } = {}): ServicePort {
  const p: ServicePort = { protocol: o.protocol ?? 'TCP', port: portNumber, targetPort: o.targetPort ?? portNumber };
  if (o.name !== undefined) p.name = o.name;
  return p;
}

export interface SvcOpts {
  /** null = no selector; defaults to `{ app: name }` */
  selector?: Labels | null;
  ports?: ServicePort[];
  /** clusterIPs: [] (allocate, the default), ['None'] (headless) or addresses */
  clusterIPs?: string[];
  type?: ServiceObject['type'];
  labels?: Labels;
  loc?: SourceLoc;
}

export function svc(namespace: string, name: string, o: SvcOpts = {}): ServiceObject {
  return {
    kind: 'Service',
    namespace,
    name,
    labels: o.labels ?? {},
    type: o.type ?? 'ClusterIP',
    clusterIPs: o.clusterIPs ?? [],
    selector: o.selector === undefined ? { app: name } : o.selector,
    ports: o.ports ?? [svcPort(80)],
    loc: o.loc ?? DEFAULT_LOC,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// NetworkPolicy

/** A peer: `peer({ pod: sel(...), ns: sel(...) })` or `peer({ cidr: '10.0.0.0/8', except: [...] })`. */
export function peer(p: { pod?: LabelSelector; ns?: LabelSelector; cidr?: string; except?: string[] }): NetworkPolicyPeer {
  const out: NetworkPolicyPeer = {};
  if (p.pod) out.podSelector = p.pod;
  if (p.ns) out.namespaceSelector = p.ns;
  if (p.cidr !== undefined) out.ipBlock = { cidr: p.cidr, except: p.except ?? [] };
  return out;
}

/** A policy port; protocol defaults to TCP (D2). `npPort(80)`, `npPort('http')`, `npPort(8000, 'TCP', 9000)`. */
export function npPort(p?: number | string, protocol: Protocol = 'TCP', endPort?: number): NetworkPolicyPort {
  const out: NetworkPolicyPort = { protocol };
  if (p !== undefined) out.port = p;
  if (endPort !== undefined) out.endPort = endPort;
  return out;
}

/** One ingress/egress rule: peers (`from`/`to`) and ports; both empty = everything. */
export function rule(peers: NetworkPolicyPeer[] = [], ports: NetworkPolicyPort[] = []): NetworkPolicyRule {
  return { peers, ports };
}

export interface NetpolOpts {
  podSelector?: LabelSelector;
  /** omitted = defaulted as the API server does (D1): Ingress, plus Egress iff egress rules are given */
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyRule[];
  egress?: NetworkPolicyRule[];
  labels?: Labels;
  loc?: SourceLoc;
}

export function netpol(namespace: string, name: string, o: NetpolOpts = {}): NetworkPolicyObject {
  const egress = o.egress ?? [];
  return {
    kind: 'NetworkPolicy',
    namespace,
    name,
    labels: o.labels ?? {},
    podSelector: o.podSelector ?? sel(),
    policyTypes: o.policyTypes ?? (egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress']),
    ingress: o.ingress ?? [],
    egress,
    loc: o.loc ?? DEFAULT_LOC,
  };
}
