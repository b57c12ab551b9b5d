/**
 * Compile: cluster model + policies → what an eBPF CNI holds in its maps.
 *
 *   Cluster ──► endpoints (policy pods, ids 1..n)
 *          ──► ipBlock prefixes ──► CIDR signatures (identity.ts)
 *          ──► identities (pods by labels+namespace labels [+ refinements], CIDR, node, reserved)
 *          ──► ipcache entries (pod /32,/128 · node IPs · ipBlock prefixes → identity)
 *          ──► flat rule table (one row per subject endpoint × direction × peer identity × port range)
 *          ──► per-endpoint policy map entries (peer identity|ANY, proto|ANY, port prefix) → rule rows
 *          ──► Service frontends and backends (DNAT)
 *
 * Everything here is control plane (Maps, strings, bigints are fine). The per-packet structures are built from the
 * result by datapath/snapshot.ts. The compile is deterministic: the same input gives the same identities, ids,
 * rows and entries, in the same order.
 */
import { KpfError } from '../core/errors.js';
import {
  cidrContains,
  cidrContainsCidr,
  formatCIDR,
  parseCIDR,
  ipWords,
  parseIP,
  type Cidr,
  type IpAddr,
  type IpFamily,
} from '../core/ip.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import { isPolicyEndpoint, podKey, type Cluster, type Pod } from '../cluster/model.js';
import { matchesSelector } from '../cluster/selectors.js';
import type { NetworkPolicyObject, NetworkPolicyPeer, NetworkPolicyPort, Protocol } from '../manifests/types.js';
import {
  ANY_IDENTITY,
  LOCAL_IDENTITY_BASE,
  MIN_CLUSTER_IDENTITY,
  ReservedIdentity,
  type Identity,
} from './identity.js';
import { serviceBackendsForPort } from './reference.js';

export const PROTO_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
export const PROTO_ANY = 0;

export const DIR_INGRESS = 0;
export const DIR_EGRESS = 1;
export type Dir = typeof DIR_INGRESS | typeof DIR_EGRESS;

export interface CompileOptions {
  semantics: SemanticsOptions;
  /** policy revision the result is stamped with */
  revision: number;
  /** entries per endpoint policy map (runtime.md §3); over it the compile fails naming the pod */
  policyMapMax: number;
}

export const DEFAULT_COMPILE: Readonly<CompileOptions> = Object.freeze({
  semantics: DEFAULT_SEMANTICS,
  revision: 1,
  policyMapMax: 16384,
});

/** A pod the dataplane enforces for. */
export interface Endpoint {
  /** 1-based endpoint id */
  id: number;
  pod: Pod;
  key: string;
  /** identity per IP (a dual-stack pod may hold two when ipBlock membership differs by family) */
  identities: number[];
  ips: string[];
  /** index into Compiled.nodes */
  node: number;
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  /** policies selecting it, by index into Compiled.policies */
  selectedBy: number[];
}

/** One row of the flat rule table. */
export interface RuleRow {
  dir: Dir;
  /** subject endpoint id */
  endpoint: number;
  /** peer identity, or ANY_IDENTITY (0) */
  peer: number;
  /** IP protocol number, or PROTO_ANY (0) for a rule without ports */
  proto: number;
  portLo: number;
  portHi: number;
  /** index into Compiled.policies and the rule's index in spec.ingress / spec.egress */
  policy: number;
  rule: number;
}

/** One entry of an endpoint's policy map. */
export interface MapEntry {
  endpoint: number;
  dir: Dir;
  peer: number;
  proto: number;
  /** bits of the port that are matched: 16 exact, 0 any */
  prefixLen: number;
  /** port with the low (16 - prefixLen) bits zero */
  port: number;
  /** rule rows that produced this entry (the first decides; all are reported) */
  rows: number[];
}

export interface IpcacheEntry {
  family: IpFamily;
  cidr: Cidr;
  identity: number;
  /** endpoint id for pod addresses, else 0 */
  endpoint: number;
  /** node index + 1 for node addresses, else 0 */
  node: number;
  /** `pod prod/web-0`, `node kpf-node`, `cidr 10.0.0.0/8` */
  source: string;
}

export interface ServiceBackend {
  endpoint: number;
  ip: string;
  port: number;
}

/** One Service port on one ClusterIP: the DNAT frontend. */
export interface Frontend {
  service: string;
  ip: string;
  family: IpFamily;
  proto: number;
  port: number;
  portName?: string;
  backends: ServiceBackend[];
}

export interface CompiledNode {
  name: string;
  ips: string[];
}

export interface Compiled {
  revision: number;
  semantics: SemanticsOptions;
  policies: readonly NetworkPolicyObject[];
  /** `namespace/name` by index */
  policyNames: string[];
  identities: Identity[];
  identityById: Map<number, Identity>;
  endpoints: Endpoint[];
  nodes: CompiledNode[];
  ipcache: IpcacheEntry[];
  rows: RuleRow[];
  entries: MapEntry[];
  frontends: Frontend[];
  /** CIDR signatures: for each, the ipBlock peers it is in (text, for display) */
  signatures: string[][];
  stats: { identities: number; rows: number; entries: number; maxEntriesPerEndpoint: number; compileMs: number };
}

interface IpBlockPeer {
  policy: number;
  dir: Dir;
  rule: number;
  peer: number;
  cidr: Cidr;
  except: Cidr[];
  text: string;
}

function cidrKey(c: Cidr): string {
  return formatCIDR(c);
}

function hostCidr(a: IpAddr): Cidr {
  return { family: a.family, value: a.value, prefix: a.family === 4 ? 32 : 128 };
}

function parseStrictish(s: string): Cidr {
  const r = parseCIDR(s, false);
  if (!r.ok) throw new KpfError('KPF_ERR_COMPILE', `invalid CIDR "${s}" reached the compiler`);
  return r.cidr;
}

function sortedLabels(l: Readonly<Record<string, string>>): string[] {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`);
}

/** Splits [lo, hi] into aligned power-of-two blocks: (port, prefixLen) with prefixLen = 16 - log2(size). */
export function portBlocks(lo: number, hi: number): Array<{ port: number; prefixLen: number }> {
  const out: Array<{ port: number; prefixLen: number }> = [];
  let p = lo;
  while (p <= hi) {
    let size = 1;
    // grow while aligned and inside the range
    while (size < 65536 && p % (size * 2) === 0 && p + size * 2 - 1 <= hi) size *= 2;
    out.push({ port: p, prefixLen: 16 - Math.log2(size) });
    p += size;
  }
  return out;
}

/** Compiles a cluster. Throws KpfError (KPF_ERR_COMPILE) when an endpoint's policy map exceeds its cap. */
export function compile(cluster: Cluster, options: Partial<CompileOptions> = {}): Compiled {
  const t0 = performance.now();
  const opts: CompileOptions = { ...DEFAULT_COMPILE, ...options };
  const sem = opts.semantics;
  const policies = cluster.policies;
  const policyNames = policies.map((p) => `${p.namespace}/${p.name}`);

  // ---- 1. nodes and endpoints ----
  const nodes: CompiledNode[] = cluster.nodes.map((n) => ({ name: n.name, ips: [...n.ips] }));
  const nodeIndex = new Map(cluster.nodes.map((n, i) => [n.name, i]));
  const pods = cluster.pods.filter(isPolicyEndpoint);

  // ---- 2. ipBlock peers and prefixes ----
  const ipPeers: IpBlockPeer[] = [];
  policies.forEach((p, pi) => {
    const scan = (rules: NetworkPolicyObject['ingress'], dir: Dir) =>
      rules.forEach((r, ri) =>
        r.peers.forEach((peer, k) => {
          if (!peer.ipBlock) return;
          ipPeers.push({
            policy: pi,
            dir,
            rule: ri,
            peer: k,
            cidr: parseStrictish(peer.ipBlock.cidr),
            except: peer.ipBlock.except.map(parseStrictish),
            text: `${policyNames[pi]} ${dir === DIR_INGRESS ? 'ingress' : 'egress'}[${ri}] ipBlock ${peer.ipBlock.cidr}`,
          });
        }),
      );
    scan(p.ingress, DIR_INGRESS);
    scan(p.egress, DIR_EGRESS);
  });
  const prefixes = new Map<string, Cidr>();
  for (const b of ipPeers) {
    prefixes.set(cidrKey(b.cidr), b.cidr);
    for (const e of b.except) prefixes.set(cidrKey(e), e);
  }
  const prefixList = [...prefixes.values()].sort((a, b) => a.family - b.family || a.prefix - b.prefix || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));

  // signature of a prefix L: the ipBlock peers whose cidr contains L and no except of which contains L
  const signatures: string[][] = [];
  const sigIndex = new Map<string, number>();
  const sigSets: Set<number>[] = [];
  const signatureOf = (L: Cidr): number => {
    const members: number[] = [];
    ipPeers.forEach((b, i) => {
      if (cidrContainsCidr(b.cidr, L) && !b.except.some((e) => cidrContainsCidr(e, L))) members.push(i);
    });
    if (members.length === 0) return -1;
    const key = members.join(',');
    let idx = sigIndex.get(key);
    if (idx === undefined) {
      idx = signatures.length;
      sigIndex.set(key, idx);
      signatures.push(members.map((i) => ipPeers[i]!.text));
      sigSets.push(new Set(members));
    }
    return idx;
  };
  const prefixSig = new Map<string, number>();
  for (const L of prefixList) prefixSig.set(cidrKey(L), signatureOf(L));
  /** signature of an address: that of its longest containing prefix */
  const addressSig = (a: IpAddr): number => {
    let best: Cidr | undefined;
    for (const L of prefixList) if (cidrContains(L, a) && (!best || L.prefix > best.prefix)) best = L;
    return best ? prefixSig.get(cidrKey(best))! : -1;
  };

  // ---- 3. named ports used by egress rules (resolved on the destination pod) ----
  const egressNames = new Set<string>();
  for (const p of policies) for (const r of p.egress) for (const pp of r.ports) if (typeof pp.port === 'string') egressNames.add(`${pp.port}/${pp.protocol}`);
  const namedPortsOf = (pod: Pod): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const n of [...egressNames].sort()) {
      const [name, proto] = n.split('/') as [string, Protocol];
      const cp = pod.ports.find((c) => c.name === name && c.protocol === proto);
      if (cp) out[n] = cp.containerPort;
    }
    return out;
  };

  // ---- 4. identities ----
  const nsLabels = (ns: string): Readonly<Record<string, string>> => cluster.namespaces.get(ns)?.labels ?? { 'kubernetes.io/metadata.name': ns };
  interface PodIdKey {
    key: string;
    pod: Pod;
    sig: number;
    named: Record<string, number>;
  }
  const podIdKeys: Array<{ pod: Pod; ip: string; k: PodIdKey }> = [];
  for (const pod of pods) {
    const named = namedPortsOf(pod);
    for (const ip of pod.ips) {
      const a = parseIP(ip)!;
      const sig = sem.ipBlockPods === 'match' ? addressSig(a) : -1;
      const key = [pod.namespace, sortedLabels(pod.labels).join(','), `sig=${sig}`, `np=${JSON.stringify(named)}`].join('\u0000');
      podIdKeys.push({ pod, ip, k: { key, pod, sig, named } });
    }
  }
  const identities: Identity[] = [];
  const reserved = (id: number, name: string): Identity => ({ id, kind: 'reserved', labels: [`reserved:${name}`], signature: -1 });
  identities.push(reserved(ReservedIdentity.HOST, 'host'), reserved(ReservedIdentity.WORLD, 'world'), reserved(ReservedIdentity.REMOTE_NODE, 'remote-node'));
  const podIdentityByKey = new Map<string, number>();
  const distinctPodKeys = [...new Map(podIdKeys.map((x) => [x.k.key, x.k])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  distinctPodKeys.forEach((k, i) => {
    const id = MIN_CLUSTER_IDENTITY + i;
    podIdentityByKey.set(k.key, id);
    const nl = nsLabels(k.pod.namespace);
    identities.push({
      id,
      kind: 'pod',
      labels: [
        ...sortedLabels(k.pod.labels).map((l) => `k8s:${l}`),
        ...sortedLabels(nl).map((l) => `k8s:io.cilium.k8s.namespace.labels.${l}`),
        `k8s:io.kubernetes.pod.namespace=${k.pod.namespace}`,
        ...(k.sig >= 0 ? [`kpf:ipblock-signature=${k.sig}`] : []),
      ],
      namespace: k.pod.namespace,
      podLabels: k.pod.labels,
      namespaceLabels: nl,
      signature: k.sig,
      namedPorts: k.named,
    });
  });
  // CIDR identities: one per distinct signature of a prefix; node identities where node IPs carry a signature
  let nextLocal = LOCAL_IDENTITY_BASE;
  const cidrIdentityBySig = new Map<number, number>();
  const cidrIdentity = (sig: number): number => {
    if (sig < 0) return ReservedIdentity.WORLD;
    let id = cidrIdentityBySig.get(sig);
    if (id === undefined) {
      id = nextLocal++;
      cidrIdentityBySig.set(sig, id);
      const cidrs = [...new Set([...sigSets[sig]!].map((i) => formatCIDR(ipPeers[i]!.cidr)))].sort();
      identities.push({ id, kind: 'cidr', labels: [...cidrs.map((c) => `cidr:${c}`), 'reserved:world'], signature: sig });
    }
    return id;
  };
  const nodeIdentityBySig = new Map<number, number>();
  const nodeIdentity = (sig: number): number => {
    if (sig < 0 || sem.ipBlockPods === 'ignore') return ReservedIdentity.REMOTE_NODE;
    let id = nodeIdentityBySig.get(sig);
    if (id === undefined) {
      id = nextLocal++;
      nodeIdentityBySig.set(sig, id);
      const cidrs = [...new Set([...sigSets[sig]!].map((i) => formatCIDR(ipPeers[i]!.cidr)))].sort();
      identities.push({ id, kind: 'node', labels: ['reserved:remote-node', ...cidrs.map((c) => `cidr:${c}`)], signature: sig });
    }
    return id;
  };

  // ---- 5. ipcache ----
  const ipcache: IpcacheEntry[] = [];
  for (const L of prefixList) {
    ipcache.push({ family: L.family, cidr: L, identity: cidrIdentity(prefixSig.get(cidrKey(L))!), endpoint: 0, node: 0, source: `cidr ${cidrKey(L)}` });
  }
  cluster.nodes.forEach((n, i) => {
    for (const ip of n.ips) {
      const a = parseIP(ip)!;
      ipcache.push({ family: a.family, cidr: hostCidr(a), identity: nodeIdentity(addressSig(a)), endpoint: 0, node: i + 1, source: `node ${n.name}` });
    }
  });
  const endpoints: Endpoint[] = pods.map((pod, i) => ({
    id: i + 1,
    pod,
    key: podKey(pod),
    identities: [],
    ips: [...pod.ips],
    node: nodeIndex.get(pod.nodeName) ?? -1,
    isolatedIngress: false,
    isolatedEgress: false,
    selectedBy: [],
  }));
  const endpointByPod = new Map(endpoints.map((e) => [e.pod, e]));
  for (const x of podIdKeys) {
    const ep = endpointByPod.get(x.pod)!;
    const id = podIdentityByKey.get(x.k.key)!;
    ep.identities.push(id);
    const a = parseIP(x.ip)!;
    ipcache.push({ family: a.family, cidr: hostCidr(a), identity: id, endpoint: ep.id, node: 0, source: `pod ${ep.key}` });
  }
  const identityById = new Map(identities.map((i) => [i.id, i]));
  const podIdentities = identities.filter((i) => i.kind === 'pod');
  const ipBlockIdentities = identities.filter((i) => i.signature >= 0);
  const ipPeerIndex = new Map<string, number>();
  ipPeers.forEach((b, i) => ipPeerIndex.set(`${b.policy}/${b.dir}/${b.rule}/${b.peer}`, i));

  // ---- 6. rule rows and policy map entries ----
  const rows: RuleRow[] = [];
  const entries: MapEntry[] = [];
  // each endpoint's entries by key: (direction, peer, protocol, port block) as one number, the block as its place in
  // a binary tree of the port space (1 << prefixLen | port >> (16 - prefixLen): 17 bits), 51 bits in all, as every
  // identity is below 2^25 (cluster identities below 2^24, local ones from it, as in Cilium). A string key for every
  // entry made this loop a third of the compile of the peers' 3,000 rows (~16 → ~9 ms, cold), which a replay runs
  // before its first packet.
  const entryIndex = new Map<number, Map<number, number>>();
  const addEntry = (ep: Endpoint, dir: Dir, peer: number, proto: number, prefixLen: number, port: number, row: number) => {
    let own = entryIndex.get(ep.id);
    if (own === undefined) entryIndex.set(ep.id, (own = new Map()));
    if (peer >= 2 ** 25) throw new KpfError('KPF_ERR_INTERNAL', `identity ${peer} is outside the identity space`);
    const key = ((dir * 2 ** 25 + peer) * 256 + proto) * 2 ** 17 + ((1 << prefixLen) | (port >>> (16 - prefixLen)));
    const idx = own.get(key);
    if (idx !== undefined) {
      entries[idx]!.rows.push(row);
      return;
    }
    if (own.size >= opts.policyMapMax) {
      throw new KpfError(
        'KPF_ERR_POLICY_MAP_FULL',
        `policy map of ${ep.key} would need more than ${opts.policyMapMax} entries (--policy-map-max); the revision is rejected`,
      );
    }
    own.set(key, entries.length);
    entries.push({ endpoint: ep.id, dir, peer, proto, prefixLen, port, rows: [row] });
  };
  const addRow = (ep: Endpoint, dir: Dir, peer: number, proto: number, lo: number, hi: number, policy: number, rule: number) => {
    const r = rows.length;
    rows.push({ dir, endpoint: ep.id, peer, proto, portLo: lo, portHi: hi, policy, rule });
    if (proto === PROTO_ANY) addEntry(ep, dir, peer, PROTO_ANY, 0, 0, r);
    else if (lo === hi) addEntry(ep, dir, peer, proto, 16, lo, r);
    else for (const b of portBlocks(lo, hi)) addEntry(ep, dir, peer, proto, b.prefixLen, b.port, r);
  };

  /** identities a peer matches (policy namespace `ns`) */
  const peerIdentities = (pi: number, dir: Dir, ri: number, k: number, peer: NetworkPolicyPeer, ns: string): number[] => {
    if (peer.ipBlock) {
      const b = ipPeerIndex.get(`${pi}/${dir}/${ri}/${k}`)!;
      return ipBlockIdentities.filter((i) => sigSets[i.signature]!.has(b)).map((i) => i.id);
    }
    return podIdentities
      .filter((i) => {
        if (peer.namespaceSelector) {
          if (!matchesSelector(peer.namespaceSelector, i.namespaceLabels!)) return false;
        } else if (i.namespace !== ns) return false;
        return !peer.podSelector || matchesSelector(peer.podSelector, i.podLabels!);
      })
      .map((i) => i.id);
  };

  /** (proto, lo, hi) triples of one port entry, for the destination: `dstPod` (ingress) or per peer identity (egress) */
  const numericPorts = (pp: NetworkPolicyPort): [number, number] | null => {
    if (pp.port === undefined) return [0, 65535];
    if (typeof pp.port === 'number') return [pp.port, pp.endPort ?? pp.port];
    return null;
  };

  // policies are visited once each; the endpoints they select come from a per-namespace index
  const endpointsByNs = new Map<string, Endpoint[]>();
  for (const ep of endpoints) {
    const list = endpointsByNs.get(ep.pod.namespace) ?? [];
    list.push(ep);
    endpointsByNs.set(ep.pod.namespace, list);
  }
  policies.forEach((p, pi) => {
    const selected = (endpointsByNs.get(p.namespace) ?? []).filter((ep) => matchesSelector(p.podSelector, ep.pod.labels));
    for (const ep of selected) ep.selectedBy.push(pi);
    if (selected.length === 0) return;
    for (const dir of [DIR_INGRESS, DIR_EGRESS] as const) {
      const type = dir === DIR_INGRESS ? 'Ingress' : 'Egress';
      if (!p.policyTypes.includes(type)) continue; // E32: rules of an unlisted direction have no effect
      for (const ep of selected) {
        if (dir === DIR_INGRESS) ep.isolatedIngress = true;
        else ep.isolatedEgress = true;
      }
      const rules = dir === DIR_INGRESS ? p.ingress : p.egress;
      rules.forEach((rule, ri) => {
        // peers: ANY, or the identities matched by any peer item (deduplicated, in id order)
        let peers: number[];
        if (rule.peers.length === 0) peers = [ANY_IDENTITY];
        else {
          const s = new Set<number>();
          rule.peers.forEach((peer, k) => peerIdentities(pi, dir, ri, k, peer, p.namespace).forEach((id) => s.add(id)));
          peers = [...s].sort((a, b) => a - b);
        }
        for (const ep of selected) {
          if (rule.ports.length === 0) {
            for (const peer of peers) addRow(ep, dir, peer, PROTO_ANY, 0, 65535, pi, ri);
            continue;
          }
          for (const pp of rule.ports) {
            const proto = PROTO_NUMBER[pp.protocol];
            const range = numericPorts(pp);
            if (range) {
              for (const peer of peers) addRow(ep, dir, peer, proto, range[0], range[1], pi, ri);
              continue;
            }
            // E10 named port: resolved on the destination pod
            const name = pp.port as string;
            if (dir === DIR_INGRESS) {
              const cp = ep.pod.ports.find((c) => c.name === name && c.protocol === pp.protocol);
              if (cp) for (const peer of peers) addRow(ep, dir, peer, proto, cp.containerPort, cp.containerPort, pi, ri);
            } else {
              // egress: each destination identity resolves the name itself; non-pod destinations never match
              const candidates = peers.length === 1 && peers[0] === ANY_IDENTITY ? podIdentities.map((i) => i.id) : peers;
              for (const peer of candidates) {
                const num = identityById.get(peer)?.namedPorts?.[`${name}/${pp.protocol}`];
                if (num !== undefined) addRow(ep, dir, peer, proto, num, num, pi, ri);
              }
            }
          }
        }
      });
    }
  });

  // ---- 7. Service frontends ----
  const frontends: Frontend[] = [];
  for (const svc of cluster.services) {
    for (const ip of svc.clusterIPs) {
      const a = parseIP(ip);
      if (!a) continue;
      for (const sp of svc.ports) {
        const backends = serviceBackendsForPort(cluster, svc, sp, a.family).map((b) => ({
          endpoint: endpointByPod.get(b.pod)?.id ?? 0,
          ip: b.ip,
          port: b.port,
        }));
        frontends.push({
          service: `${svc.namespace}/${svc.name}`,
          ip,
          family: a.family,
          proto: PROTO_NUMBER[sp.protocol],
          port: sp.port,
          ...(sp.name ? { portName: sp.name } : {}),
          backends,
        });
      }
    }
  }

  const maxEntries = Math.max(0, ...[...entryIndex.values()].map((m) => m.size));
  return {
    revision: opts.revision,
    semantics: sem,
    policies,
    policyNames,
    identities,
    identityById,
    endpoints,
    nodes,
    ipcache,
    rows,
    entries,
    frontends,
    signatures,
    stats: {
      identities: identities.length,
      rows: rows.length,
      entries: entries.length,
      maxEntriesPerEndpoint: maxEntries,
      compileMs: performance.now() - t0,
    },
  };
}

/** Words of an address text, as FlowKey holds them. */
export function addressWords(ip: string): [number, number, number, number] {
  const a = parseIP(ip);
  if (!a) throw new KpfError('KPF_ERR_COMPILE', `not an IP address: ${ip}`);
  return ipWords(a);
}
