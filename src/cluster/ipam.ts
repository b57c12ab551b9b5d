/**
 * Deterministic IPAM for pods and Services.
 *
 * Pods (E27, E28, E20):
 *   1. terminal (Succeeded/Failed): no IP, never in podByIP; their status IP is free for a live pod
 *   2. hostNetwork: the status IPs, else the node's addresses; never in podByIP
 *   3. live with status IPs: keep every one (dual-stack keeps both families); two live pods on one IP ⇒ error
 *   4. live without: one IP per family of the node's pod CIDRs, at `hash(namespace/name) mod usable`, linear probing
 *
 * Step 4 runs over pods sorted by namespace/name with every IP of steps 2–3 (and node IPs) reserved up front. With
 * linear probing the set of occupied addresses does not depend on insertion order, so adding one pod takes exactly
 * one more address per family, never moves a pod that sorts before it, and moves nobody at all unless it lands on an
 * address another pod held (then only that probe chain shifts) — in a /16 that is rare.
 *
 * Usable offsets in a pod CIDR: from 2 (0 is the network address, 1 the node's gateway, E18) to the last address
 * (IPv4: last − 1, the broadcast address is skipped).
 *
 * Services: given ClusterIPs are kept; headless (`None`) and ExternalName get none; the rest get one address per
 * configured service CIDR at `hash(namespace/name)`, avoiding given ones, offset 1 (`kubernetes`) and offset 10
 * (cluster DNS).
 */
import type { Diagnostic } from '../core/errors.js';
import { fmix32, fnv1a32, mix32 } from '../core/hash.js';
import { type Cidr, canonicalIP, cidrSize, formatCIDR, formatIP, parseCIDR } from '../core/ip.js';
import type { ServicePort } from '../manifests/types.js';
import { isTerminalPhase, type PodDraft } from './draft.js';
import type { Node, Service } from './model.js';
import { nodeAddresses } from './nodes.js';

/** Offsets in the service CIDR that allocation never hands out: `kubernetes` (.1) and the cluster DNS (.10). */
export const RESERVED_SERVICE_OFFSETS = [1n, 10n] as const;

/** A 64-bit hash of a key as a bigint (two rounds of the 32-bit hashes). */
export function hash64(key: string): bigint {
  const a = fmix32(fnv1a32(key));
  const b = fmix32(mix32(a, 0x9e3779b9));
  return (BigInt(a) << 32n) | BigInt(b);
}

/**
 * An address pool with linear-probing allocation over its usable offsets [first, first + usable).
 * `taken` is shared between pools (one address space); a pool found full once stays full, so a full pool costs
 * one scan, not one per pod.
 */
class Pool {
  readonly cidr: Cidr;
  readonly first: bigint;
  readonly usable: bigint;
  private full: boolean;
  private readonly taken: Set<string>;
  private readonly skip: Set<bigint>;

  constructor(cidr: Cidr, first: bigint, lastFromEnd: bigint, taken: Set<string>, skip: readonly bigint[] = []) {
    this.cidr = cidr;
    this.first = first;
    const usable = cidrSize(cidr) - first - lastFromEnd;
    this.usable = usable > 0n ? usable : 0n;
    this.taken = taken;
    this.skip = new Set(skip);
    this.full = this.usable === 0n;
  }

  /** Takes the first free address at or after `hash(key)`; null when the pool is full. */
  allocate(key: string): string | null {
    if (this.full) return null;
    let off = hash64(key) % this.usable;
    for (let n = 0n; n < this.usable; n++) {
      const o = this.first + off;
      if (!this.skip.has(o)) {
        const text = formatIP({ family: this.cidr.family, value: this.cidr.value + o });
        if (!this.taken.has(text)) {
          this.taken.add(text);
          return text;
        }
      }
      off = off + 1n === this.usable ? 0n : off + 1n;
    }
    this.full = true;
    return null;
  }
}

function podRef(p: PodDraft): string {
  return `Pod ${p.namespace}/${p.name}`;
}

function whereOf(p: PodDraft): string {
  if (p.origin === 'workload') return `derived from ${p.derivedFrom ?? 'a workload'}`;
  if (p.origin === 'default-dns') return 'added cluster DNS';
  return p.loc ? `${p.loc.file}${p.loc.line > 0 ? `:${p.loc.line}` : ''}` : '<input>';
}

/**
 * Gives every pod its IPs (fills `ips` and `ipSource` in place) and returns podByIP.
 * @param pods sorted by namespace/name, nodeName already set
 * @param reserved canonical IPs allocation must not hand out (given ClusterIPs and the like); extended in place
 */
export function assignPodIPs(
  pods: readonly PodDraft[],
  nodes: readonly Node[],
  podPools: readonly Cidr[],
  reserved: Set<string>,
  diagnostics: Diagnostic[],
): Map<string, PodDraft> {
  const podByIP = new Map<string, PodDraft>();
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  for (const n of nodes) for (const ip of n.ips) reserved.add(ip);

  // 1–3: terminal, hostNetwork, status IPs
  const toAllocate: PodDraft[] = [];
  for (const p of pods) {
    const status = [...new Set(p.statusIPs.map((s) => canonicalIP(s)).filter((s): s is string => s !== null))];
    if (isTerminalPhase(p.phase)) {
      p.ips = [];
      p.ipSource = 'none';
    } else if (p.hostNetwork) {
      const node = p.nodeName === undefined ? undefined : nodeByName.get(p.nodeName);
      if (status.length > 0) {
        p.ips = status;
        p.ipSource = 'status';
      } else if (node) {
        p.ips = nodeAddresses(node);
        p.ipSource = p.ips.length > 0 ? 'ipam' : 'none';
      } else if (p.hostIP) {
        p.ips = [p.hostIP];
        p.ipSource = 'status';
      }
    } else if (status.length > 0) {
      p.ips = status;
      p.ipSource = 'status';
      for (const ip of status) {
        const other = podByIP.get(ip);
        if (other) {
          diagnostics.push({
            severity: 'error',
            code: 'KPF_ERR_DUPLICATE_POD_IP',
            message: `pod IP ${ip} is used by two live pods: ${podRef(other)} (${whereOf(other)}) and ${podRef(p)} (${whereOf(p)})`,
            path: 'status.podIPs',
            ...(p.loc ? { loc: p.loc } : {}),
            object: podRef(p),
          });
          continue;
        }
        podByIP.set(ip, p);
        reserved.add(ip);
      }
    } else {
      toAllocate.push(p);
    }
  }

  // 4: allocation
  const pools = new Map<string, Pool>();
  const exhausted = new Map<string, string[]>();
  const poolFor = (c: Cidr): Pool => {
    const key = formatCIDR(c);
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool(c, 2n, c.family === 4 ? 1n : 0n, reserved);
      pools.set(key, pool);
    }
    return pool;
  };
  const parsedNodeCidrs = new Map<string, Cidr[]>();
  for (const n of nodes) {
    parsedNodeCidrs.set(
      n.name,
      n.podCIDRs.flatMap((t) => {
        const r = parseCIDR(t, false);
        return r.ok ? [r.cidr] : [];
      }),
    );
  }
  for (const p of toAllocate) {
    const nodeCidrs = p.nodeName === undefined ? undefined : parsedNodeCidrs.get(p.nodeName);
    const cidrs = nodeCidrs && nodeCidrs.length > 0 ? nodeCidrs : podPools;
    const key = `${p.namespace}/${p.name}`;
    const ips: string[] = [];
    for (const family of [4, 6] as const) {
      const ofFamily = cidrs.filter((c) => c.family === family);
      if (ofFamily.length === 0) continue;
      let got: string | null = null;
      for (const c of ofFamily) {
        got = poolFor(c).allocate(key);
        if (got) break;
      }
      if (got) {
        ips.push(got);
        podByIP.set(got, p);
      } else {
        const label = ofFamily.map(formatCIDR).join(', ');
        const list = exhausted.get(label) ?? [];
        list.push(key);
        exhausted.set(label, list);
      }
    }
    p.ips = ips;
    p.ipSource = ips.length > 0 ? 'ipam' : 'none';
  }
  for (const [label, keys] of exhausted) {
    const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? `, … (${keys.length - 5} more)` : '');
    diagnostics.push({
      severity: 'error',
      code: 'KPF_ERR_IPAM_EXHAUSTED',
      message: `pod CIDR ${label} is exhausted: ${keys.length} pod(s) got no IP (${shown}); give a larger pod CIDR (--pod-cidr) or status.podIPs`,
    });
  }
  return podByIP;
}

/** A Service while the build gives it ClusterIPs. */
export interface ServiceDraft {
  namespace: string;
  name: string;
  type: string;
  /** as given: canonical texts, ['None'] for headless, [] when to be allocated */
  givenIPs: string[];
  clusterIPs: string[];
  selector: Record<string, string> | null;
  ports: ServicePort[];
  origin: Service['origin'];
  loc?: Service['loc'];
}

/**
 * Gives every Service its ClusterIPs (fills `clusterIPs` in place) and returns serviceByIP.
 * @param services sorted by namespace/name
 */
export function assignServiceIPs(
  services: readonly ServiceDraft[],
  serviceCidrs: readonly Cidr[],
  diagnostics: Diagnostic[],
): Map<string, ServiceDraft> {
  const byIP = new Map<string, ServiceDraft>();
  const taken = new Set<string>();
  const toAllocate: ServiceDraft[] = [];
  for (const s of services) {
    if (s.type === 'ExternalName' || s.givenIPs.includes('None')) {
      s.clusterIPs = [];
      continue;
    }
    if (s.givenIPs.length === 0) {
      toAllocate.push(s);
      continue;
    }
    const ips: string[] = [];
    for (const g of s.givenIPs) {
      const ip = canonicalIP(g);
      if (!ip) {
        diagnostics.push({
          severity: 'error',
          code: 'KPF_ERR_CLUSTER_IP',
          message: `clusterIP "${g}" is not an IP address`,
          path: 'spec.clusterIPs',
          ...(s.loc ? { loc: s.loc } : {}),
          object: `Service ${s.namespace}/${s.name}`,
        });
        continue;
      }
      const other = byIP.get(ip);
      if (other && other !== s) {
        diagnostics.push({
          severity: 'error',
          code: 'KPF_ERR_DUPLICATE_CLUSTER_IP',
          message: `ClusterIP ${ip} is used by two Services: ${other.namespace}/${other.name} and ${s.namespace}/${s.name}`,
          path: 'spec.clusterIPs',
          ...(s.loc ? { loc: s.loc } : {}),
          object: `Service ${s.namespace}/${s.name}`,
        });
        continue;
      }
      ips.push(ip);
      byIP.set(ip, s);
      taken.add(ip);
    }
    s.clusterIPs = ips;
  }
  const pools = serviceCidrs.map(
    (c) => new Pool(c, 1n, c.family === 4 ? 1n : 0n, taken, [...RESERVED_SERVICE_OFFSETS]),
  );
  const failed: string[] = [];
  for (const s of toAllocate) {
    const ips: string[] = [];
    for (const pool of pools) {
      const ip = pool.allocate(`${s.namespace}/${s.name}`);
      if (ip) {
        ips.push(ip);
        byIP.set(ip, s);
      } else failed.push(`${s.namespace}/${s.name}`);
    }
    s.clusterIPs = ips;
  }
  if (failed.length > 0) {
    const shown = failed.slice(0, 5).join(', ') + (failed.length > 5 ? `, … (${failed.length - 5} more)` : '');
    diagnostics.push({
      severity: 'error',
      code: 'KPF_ERR_IPAM_EXHAUSTED',
      message: `service CIDR ${serviceCidrs.map(formatCIDR).join(', ')} is exhausted: ${failed.length} Service(s) got no ClusterIP (${shown}); give a larger --service-cidr`,
    });
  }
  return byIP;
}

/** The address at `offset` of the first service CIDR (offset 10 = the cluster DNS address, 10.96.0.10 by default). */
export function serviceCidrOffset(serviceCidrs: readonly Cidr[], offset: bigint): string | null {
  const c = serviceCidrs[0];
  if (!c || offset >= cidrSize(c)) return null;
  return formatIP({ family: c.family, value: c.value + offset });
}
