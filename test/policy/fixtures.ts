/**
 * Builders for the policy tests: a Cluster made directly (no YAML, no cluster/build.ts), so the reference evaluator
 * is tested on exactly the model it is given. Policies get API-server defaulting D1 (policyTypes) and D2 (TCP).
 */
import { DEFAULT_LOAD } from '../../src/core/options.js';
import { netpol as objectsNetpol } from '../helpers/objects.js';
import type { Cluster, Namespace, Node, Pod, Service } from '../../src/cluster/model.js';
import { isPolicyEndpoint } from '../../src/cluster/model.js';
import type {
  ContainerPort,
  LabelSelector,
  NetworkPolicyObject,
  NetworkPolicyRule,
  PolicyType,
  Protocol,
  ServicePort,
} from '../../src/manifests/types.js';

export type Labels = Record<string, string>;

// The selector, peer, port and rule builders are the shared ones (test/helpers/objects.ts).
export { expr, peer, rule, sel } from '../helpers/objects.js';
export { npPort as port } from '../helpers/objects.js';

export interface PolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyRule[];
  egress?: NetworkPolicyRule[];
}

/** A NetworkPolicy with D1 defaulting (policyTypes absent ⇒ [Ingress] + Egress iff egress rules exist). */
export function netpol(namespace: string, name: string, spec: PolicySpec): NetworkPolicyObject {
  return objectsNetpol(namespace, name, { ...spec, loc: { file: `${namespace}-${name}.yaml`, line: 1 } });
}

export function namespace(name: string, labels: Labels = {}): Namespace {
  return { name, labels: { ...labels, 'kubernetes.io/metadata.name': name }, origin: 'manifest' };
}

export interface PodOpts {
  ports?: ContainerPort[];
  phase?: string;
  hostNetwork?: boolean;
  nodeName?: string;
}

export function pod(ns: string, name: string, labels: Labels, ips: string[], o: PodOpts = {}): Pod {
  return {
    namespace: ns,
    name,
    labels,
    ips,
    ipSource: ips.length ? 'status' : 'none',
    phase: o.phase ?? 'Running',
    hostNetwork: o.hostNetwork ?? false,
    nodeName: o.nodeName ?? 'node-1',
    ports: o.ports ?? [],
    origin: 'manifest',
  };
}

export function service(ns: string, name: string, clusterIPs: string[], selector: Labels | null, ports: ServicePort[]): Service {
  return { namespace: ns, name, type: 'ClusterIP', clusterIPs, selector, ports, origin: 'manifest' };
}

export function svcPort(port: number, targetPort: number | string = port, protocol: Protocol = 'TCP', name?: string): ServicePort {
  const out: ServicePort = { protocol, port, targetPort };
  if (name !== undefined) out.name = name;
  return out;
}

export function node(name: string, ips: string[], podCIDRs: string[] = []): Node {
  return { name, ips, podCIDRs, origin: 'manifest' };
}

function byNsName<T extends { namespace: string; name: string }>(a: T, b: T): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Builds the Cluster maps as cluster/build.ts does (terminal / hostNetwork / IP-less pods are not in podByIP). */
export function makeCluster(parts: {
  namespaces?: Namespace[];
  pods?: Pod[];
  services?: Service[];
  policies?: NetworkPolicyObject[];
  nodes?: Node[];
}): Cluster {
  const pods = [...(parts.pods ?? [])].sort(byNsName);
  const services = [...(parts.services ?? [])].sort(byNsName);
  const policies = [...(parts.policies ?? [])].sort(byNsName);
  const nodes = parts.nodes ?? [node('node-1', ['172.18.0.2', '10.244.0.1'])];
  const namespaces = new Map<string, Namespace>();
  for (const n of parts.namespaces ?? []) namespaces.set(n.name, n);
  for (const p of pods) if (!namespaces.has(p.namespace)) namespaces.set(p.namespace, namespace(p.namespace));
  const podByIP = new Map<string, Pod>();
  for (const p of pods) if (isPolicyEndpoint(p)) for (const ip of p.ips) podByIP.set(ip, p);
  const serviceByIP = new Map<string, Service>();
  for (const s of services) for (const ip of s.clusterIPs) if (ip !== 'None') serviceByIP.set(ip, s);
  const nodeByIP = new Map<string, Node>();
  for (const n of nodes) for (const ip of n.ips) nodeByIP.set(ip, n);
  return { namespaces, pods, services, policies, nodes, podByIP, serviceByIP, nodeByIP, options: DEFAULT_LOAD };
}

/** Same cluster, other policies (order kept as given: the evaluator must not care). */
export function withPolicies(c: Cluster, policies: NetworkPolicyObject[]): Cluster {
  return { ...c, policies };
}

// ---------------------------------------------------------------------------------------------------------------
// The upstream e2e model: namespaces x, y, z (label ns=<name>) × pods a, b, c (label pod=<name>); every pod serves
// 80 and 81 on TCP, UDP and SCTP with ports named serve-<port>-<proto>. Pod IPs: 10.244.<1|2|3>.<10|11|12>.
// ---------------------------------------------------------------------------------------------------------------

export const E2E_NAMESPACES = ['x', 'y', 'z'] as const;
export const E2E_PODS = ['a', 'b', 'c'] as const;

export function e2ePodIP(ns: string, p: string): string {
  return `10.244.${E2E_NAMESPACES.indexOf(ns as 'x') + 1}.${E2E_PODS.indexOf(p as 'a') + 10}`;
}

export function e2eContainerPorts(): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const n of [80, 81]) {
    for (const proto of ['TCP', 'UDP', 'SCTP'] as const) {
      out.push({ name: `serve-${n}-${proto.toLowerCase()}`, containerPort: n, protocol: proto });
    }
  }
  return out;
}

export interface E2EModelOpts {
  /** extra labels per namespace, e.g. { y: { ns2: 'updated' } } */
  namespaceLabels?: Record<string, Labels>;
  /** extra labels per pod, e.g. { 'x/a': { target: 'isolated' } } */
  podLabels?: Record<string, Labels>;
  /** add kube-system/coredns-0 (k8s-app=kube-dns, 10.244.0.53) and the kube-dns Service 10.96.0.10 */
  dns?: boolean;
  services?: Service[];
}

export function e2eCluster(policies: NetworkPolicyObject[], o: E2EModelOpts = {}): Cluster {
  const namespaces: Namespace[] = E2E_NAMESPACES.map((n) => namespace(n, { ns: n, ...(o.namespaceLabels?.[n] ?? {}) }));
  const pods: Pod[] = [];
  for (const n of E2E_NAMESPACES) {
    for (const p of E2E_PODS) {
      pods.push(pod(n, p, { pod: p, ...(o.podLabels?.[`${n}/${p}`] ?? {}) }, [e2ePodIP(n, p)], { ports: e2eContainerPorts() }));
    }
  }
  const services = [...(o.services ?? [])];
  if (o.dns) {
    namespaces.push(namespace('kube-system'));
    pods.push(
      pod('kube-system', 'coredns-0', { 'k8s-app': 'kube-dns' }, ['10.244.0.53'], {
        ports: [
          { name: 'dns', containerPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
        ],
      }),
    );
    services.push(
      service('kube-system', 'kube-dns', ['10.96.0.10'], { 'k8s-app': 'kube-dns' }, [
        svcPort(53, 'dns', 'UDP', 'dns'),
        svcPort(53, 'dns-tcp', 'TCP', 'dns-tcp'),
      ]),
    );
  }
  return makeCluster({ namespaces, pods, services, policies });
}
