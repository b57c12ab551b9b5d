/**
 * Typed manifest objects → the immutable cluster model.
 *
 *   1. duplicates (E33)         same kind/namespace/name: error naming both places, first kept; or last-wins
 *   2. namespaces (E34, D5)     default + kube-system implicit; others need a Namespace object (or
 *                               --create-namespaces); every namespace carries kubernetes.io/metadata.name=<name>
 *   3. nodes (E18)              Node objects, else the default node kpf-node
 *   4. workloads                expanded into pods when the input has none for them
 *   5. cluster DNS              added when missing (opts.defaultDns)
 *   6. placement + IPAM         pods without nodeName placed by hash; pod IPs (E27, E28, E20); ClusterIPs
 *   7. model + lint             frozen, sorted by namespace/name; lint warnings (§7)
 *
 * Problems with the input are diagnostics (severity 'error' blocks, the caller decides); the build always returns a
 * best-effort cluster. Unusable options (a pod or service CIDR that does not parse) throw UsageError.
 */
import { type Diagnostic, formatLoc, type SourceLoc, UsageError } from '../core/errors.js';
import { canonicalIP, type Cidr, parseCIDR } from '../core/ip.js';
import { DEFAULT_LOAD, type LoadOptions } from '../core/options.js';
import {
  type KubeObject,
  type NamespaceObject,
  type NetworkPolicyObject,
  type NodeObject,
  objectRef,
  type PodObject,
  type ServiceObject,
  type WorkloadObject,
} from '../manifests/types.js';
import { defaultDnsObjects, DNS_NAMESPACE, dnsNotice, hasClusterDns } from './dns.js';
import { byNamespaceName, type PodDraft } from './draft.js';
import { assignPodIPs, assignServiceIPs, type ServiceDraft, serviceCidrOffset } from './ipam.js';
import { lintCluster } from './lint.js';
import type { BuildResult, Cluster, Namespace, Node, Pod, Service } from './model.js';
import { buildNodes, placeByHash } from './nodes.js';
import { expandWorkloads } from './workloads.js';

/** The label every namespace carries (D5). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Namespaces that exist without a Namespace object (E34). */
export const IMPLICIT_NAMESPACES = ['default', 'kube-system'] as const;

function parsePools(texts: readonly string[], flag: string): Cidr[] {
  const out: Cidr[] = [];
  for (const raw of texts) {
    const t = raw.trim();
    if (t === '') continue;
    const r = parseCIDR(t, true);
    if (!r.ok) throw new UsageError(`${flag} "${t}": ${r.message}`);
    out.push(r.cidr);
  }
  if (out.length === 0) throw new UsageError(`${flag}: at least one CIDR is needed`);
  const families = out.map((c) => c.family);
  if (new Set(families).size !== families.length) {
    throw new UsageError(`${flag}: at most one CIDR per IP family (got ${texts.join(',')})`);
  }
  return out;
}

function objNamespace(o: KubeObject): string | undefined {
  return o.kind === 'Namespace' || o.kind === 'Node' ? undefined : o.namespace;
}

function where(loc: SourceLoc | undefined): string {
  return formatLoc(loc);
}

/** Step 1: drop duplicates per the E33 switch. Keeps input order (the kept object takes the first position). */
function dedupe(objects: readonly KubeObject[], mode: LoadOptions['duplicates'], diagnostics: Diagnostic[]): KubeObject[] {
  const index = new Map<string, number>();
  const out: KubeObject[] = [];
  for (const o of objects) {
    const key = `${o.kind}\u0000${objNamespace(o) ?? ''}\u0000${o.name}`;
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(o);
      continue;
    }
    const first = out[at]!;
    if (mode === 'last-wins') {
      out[at] = o;
      diagnostics.push({
        severity: 'notice',
        code: 'KPF_NOTICE_DUPLICATE_REPLACED',
        message: `${objectRef(o)} defined again; the definition at ${where(o.loc)} replaces the one at ${where(first.loc)} (--duplicates=last-wins)`,
        loc: o.loc,
        object: objectRef(o),
      });
    } else {
      diagnostics.push({
        severity: 'error',
        code: 'KPF_ERR_DUPLICATE_OBJECT',
        message: `${objectRef(o)} is defined twice: at ${where(first.loc)} and at ${where(o.loc)} (--duplicates=last-wins keeps the last)`,
        loc: o.loc,
        object: objectRef(o),
      });
    }
  }
  return out;
}

function freezeLabels(l: Record<string, string>): Readonly<Record<string, string>> {
  return Object.freeze({ ...l });
}

/**
 * Builds the cluster model from typed manifest objects.
 * @param objects everything the loader produced, in input order
 * @param opts overrides of DEFAULT_LOAD
 * @throws UsageError when opts.podCidrs or opts.serviceCidr do not parse
 */
/** Node objects implied by the pods: one per spec.nodeName, addressed by the hostIPs its pods report. */
function nodesFromPods(pods: readonly PodObject[]): NodeObject[] {
  const byName = new Map<string, NodeObject>();
  for (const p of pods) {
    const name = p.spec.nodeName;
    if (!name) continue;
    let n = byName.get(name);
    if (!n) {
      n = { kind: 'Node', name, labels: {}, addresses: [], podCIDRs: [], loc: p.loc };
      byName.set(name, n);
    }
    const ip = p.hostIP ? canonicalIP(p.hostIP) : null;
    if (ip && !n.addresses.includes(ip)) n.addresses.push(ip);
  }
  return [...byName.values()];
}

export function buildCluster(objects: readonly KubeObject[], opts: Partial<LoadOptions> = {}): BuildResult {
  const options: LoadOptions = {
    ...DEFAULT_LOAD,
    ...opts,
    podCidrs: [...(opts.podCidrs ?? DEFAULT_LOAD.podCidrs)],
  };
  Object.freeze(options.podCidrs);
  Object.freeze(options);
  const podPools = parsePools(options.podCidrs, '--pod-cidr');
  const serviceCidrs = parsePools(options.serviceCidr.split(','), '--service-cidr');
  const diagnostics: Diagnostic[] = [];

  // 1. duplicates
  const unique = dedupe(objects, options.duplicates, diagnostics);
  const nsObjs: NamespaceObject[] = [];
  const podObjs: PodObject[] = [];
  const workloadObjs: WorkloadObject[] = [];
  const serviceObjs: ServiceObject[] = [];
  const nodeObjs: NodeObject[] = [];
  const policyObjs: NetworkPolicyObject[] = [];
  for (const o of unique) {
    switch (o.kind) {
      case 'Namespace':
        nsObjs.push(o);
        break;
      case 'Pod':
        podObjs.push(o);
        break;
      case 'Deployment':
      case 'ReplicaSet':
      case 'StatefulSet':
      case 'DaemonSet':
        workloadObjs.push(o);
        break;
      case 'Service':
        serviceObjs.push(o);
        break;
      case 'Node':
        nodeObjs.push(o);
        break;
      case 'NetworkPolicy':
        policyObjs.push(o);
        break;
    }
  }

  // 2. namespaces
  const namespaces = new Map<string, Namespace>();
  for (const n of nsObjs) {
    const given = n.labels[NAMESPACE_NAME_LABEL];
    if (given !== undefined && given !== n.name) {
      diagnostics.push({
        severity: 'warning',
        code: 'KPF_WARN_NAMESPACE_NAME_LABEL',
        message: `label ${NAMESPACE_NAME_LABEL}=${given} is replaced by ${NAMESPACE_NAME_LABEL}=${n.name}: the control plane always sets it to the namespace name`,
        path: `metadata.labels.${NAMESPACE_NAME_LABEL}`,
        loc: n.loc,
        object: objectRef(n),
      });
    }
    namespaces.set(n.name, {
      name: n.name,
      labels: freezeLabels({ ...n.labels, [NAMESPACE_NAME_LABEL]: n.name }),
      origin: 'manifest',
      loc: n.loc,
    });
  }
  for (const name of IMPLICIT_NAMESPACES) {
    if (!namespaces.has(name)) {
      namespaces.set(name, { name, labels: freezeLabels({ [NAMESPACE_NAME_LABEL]: name }), origin: 'implicit' });
    }
  }
  const missingReported = new Set<string>();
  for (const o of unique) {
    const ns = objNamespace(o);
    if (ns === undefined || (namespaces.has(ns) && !missingReported.has(ns))) continue;
    if (options.createNamespaces) {
      namespaces.set(ns, { name: ns, labels: freezeLabels({ [NAMESPACE_NAME_LABEL]: ns }), origin: 'created' });
      diagnostics.push({
        severity: 'notice',
        code: 'KPF_NOTICE_NAMESPACE_CREATED',
        message: `created namespace "${ns}" (--create-namespaces)`,
        loc: o.loc,
        object: objectRef(o),
      });
      continue;
    }
    // E34: every object in the missing namespace is refused; the namespace is still modelled (best effort)
    missingReported.add(ns);
    diagnostics.push({
      severity: 'error',
      code: 'KPF_ERR_NAMESPACE_NOT_FOUND',
      message: `namespaces "${ns}" not found: add a Namespace object or use --create-namespaces`,
      path: 'metadata.namespace',
      loc: o.loc,
      object: objectRef(o),
    });
    if (!namespaces.has(ns)) {
      namespaces.set(ns, { name: ns, labels: freezeLabels({ [NAMESPACE_NAME_LABEL]: ns }), origin: 'created' });
    }
  }

  // 3. nodes: the Node objects; without any, the nodes the pods name (spec.nodeName, with status.hostIP as the
  // node's address), as in `kubectl get pods -A -o yaml` of a real cluster; without those, one default node
  const podNodes = nodeObjs.length === 0 ? nodesFromPods(podObjs) : [];
  if (podNodes.length > 0) {
    diagnostics.push({
      severity: 'notice',
      code: 'KPF_NOTICE_NODES_FROM_PODS',
      message: `no Node objects: ${podNodes.length} node${podNodes.length === 1 ? '' : 's'} taken from the pods' spec.nodeName and status.hostIP (${podNodes.map((n) => n.name).join(', ')})`,
    });
  }
  const nodes = buildNodes(nodeObjs.length > 0 ? nodeObjs : podNodes, podPools, diagnostics);
  const nodeNames = new Set(nodes.map((n) => n.name));

  // 4. pods: given, then derived from workloads
  const drafts: PodDraft[] = podObjs.map((p) => {
    const d: PodDraft = {
      namespace: p.namespace,
      name: p.name,
      labels: { ...p.labels },
      phase: p.phase ?? 'Running',
      hostNetwork: p.spec.hostNetwork,
      ports: p.spec.ports.map((cp) => ({ ...cp })),
      statusIPs: [...p.podIPs],
      origin: 'manifest',
      loc: p.loc,
      ips: [],
      ipSource: 'none',
    };
    if (p.spec.nodeName !== undefined) d.nodeName = p.spec.nodeName;
    if (p.hostIP !== undefined) d.hostIP = p.hostIP;
    return d;
  });
  const takenPodKeys = new Set(drafts.map((d) => `${d.namespace}/${d.name}`));
  drafts.push(...expandWorkloads(workloadObjs, podObjs, nodes, diagnostics, takenPodKeys));

  const serviceDrafts: ServiceDraft[] = serviceObjs.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    type: s.type,
    givenIPs: [...s.clusterIPs],
    clusterIPs: [],
    selector: s.selector === null ? null : { ...s.selector },
    ports: s.ports.map((p) => ({ ...p })),
    origin: 'manifest',
    loc: s.loc,
  }));

  // 5. cluster DNS
  let dnsService: ServiceDraft | undefined;
  if (options.defaultDns && !hasClusterDns(drafts, serviceDrafts)) {
    let dnsIP = serviceCidrOffset(serviceCidrs, 10n);
    if (dnsIP && serviceDrafts.some((s) => s.givenIPs.includes(dnsIP!))) dnsIP = null;
    const dns = defaultDnsObjects(dnsIP);
    if (!takenPodKeys.has(`${dns.pod.namespace}/${dns.pod.name}`)) drafts.push(dns.pod);
    serviceDrafts.push(dns.service);
    dnsService = dns.service;
    const ks = namespaces.get(DNS_NAMESPACE);
    if (ks && ks.origin === 'implicit') namespaces.set(DNS_NAMESPACE, { ...ks, origin: 'default-dns' });
  }

  // 6. placement and IPs
  drafts.sort(byNamespaceName);
  serviceDrafts.sort(byNamespaceName);
  for (const d of drafts) {
    if (d.nodeName === undefined) {
      d.nodeName = placeByHash(d.namespace, d.name, nodes);
    } else if (!nodeNames.has(d.nodeName) && nodeObjs.length > 0) {
      diagnostics.push({
        severity: 'warning',
        code: 'KPF_WARN_UNKNOWN_NODE',
        message: `spec.nodeName "${d.nodeName}" names no Node of the input; the pod gets an address from the cluster pod CIDR`,
        path: 'spec.nodeName',
        ...(d.loc ? { loc: d.loc } : {}),
        object: `Pod ${d.namespace}/${d.name}`,
      });
    }
  }
  const reserved = new Set<string>();
  for (const s of serviceDrafts) for (const ip of s.givenIPs) if (ip !== 'None') reserved.add(ip);
  const podDraftByIP = assignPodIPs(drafts, nodes, podPools, reserved, diagnostics);
  const serviceDraftByIP = assignServiceIPs(serviceDrafts, serviceCidrs, diagnostics);
  if (dnsService) diagnostics.push(dnsNotice(dnsService.clusterIPs[0]));

  // 7. model
  const podOf = new Map<PodDraft, Pod>();
  const pods: Pod[] = drafts.map((d) => {
    const p: Pod = {
      namespace: d.namespace,
      name: d.name,
      labels: freezeLabels(d.labels),
      ips: Object.freeze([...d.ips]),
      ipSource: d.ipSource,
      phase: d.phase,
      hostNetwork: d.hostNetwork,
      nodeName: d.nodeName ?? '',
      ports: Object.freeze(d.ports.map((cp) => Object.freeze({ ...cp }))),
      origin: d.origin,
    };
    if (d.derivedFrom !== undefined) p.derivedFrom = d.derivedFrom;
    if (d.loc !== undefined) p.loc = d.loc;
    podOf.set(d, Object.freeze(p));
    return podOf.get(d)!;
  });
  const serviceOf = new Map<ServiceDraft, Service>();
  const services: Service[] = serviceDrafts.map((d) => {
    const s: Service = {
      namespace: d.namespace,
      name: d.name,
      type: d.type,
      clusterIPs: Object.freeze([...d.clusterIPs]),
      selector: d.selector === null ? null : freezeLabels(d.selector),
      ports: Object.freeze(d.ports.map((p) => Object.freeze({ ...p }))),
      origin: d.origin,
    };
    if (d.loc !== undefined) s.loc = d.loc;
    serviceOf.set(d, Object.freeze(s));
    return serviceOf.get(d)!;
  });
  const podByIP = new Map<string, Pod>();
  for (const [ip, d] of podDraftByIP) podByIP.set(ip, podOf.get(d)!);
  const serviceByIP = new Map<string, Service>();
  for (const [ip, d] of serviceDraftByIP) serviceByIP.set(ip, serviceOf.get(d)!);
  const frozenNodes: Node[] = nodes.map((n) =>
    Object.freeze({ ...n, ips: Object.freeze([...n.ips]), podCIDRs: Object.freeze([...n.podCIDRs]) }),
  );
  const nodeByIP = new Map<string, Node>();
  for (const n of frozenNodes) for (const ip of n.ips) if (!nodeByIP.has(ip)) nodeByIP.set(ip, n);

  const sortedNamespaces = new Map<string, Namespace>(
    [...namespaces.keys()].sort().map((k) => [k, Object.freeze(namespaces.get(k)!)]),
  );
  const cluster: Cluster = Object.freeze({
    namespaces: sortedNamespaces,
    pods: Object.freeze(pods),
    services: Object.freeze(services),
    policies: Object.freeze([...policyObjs].sort(byNamespaceName)),
    nodes: Object.freeze(frozenNodes),
    podByIP,
    serviceByIP,
    nodeByIP,
    options,
  });
  diagnostics.push(...lintCluster(cluster, { podPools, serviceCidrs }));
  return { cluster, diagnostics };
}
