/**
 * Nodes of the cluster model (E18): Node objects when given, else one default node.
 *
 * A node's IP set is its status addresses plus the gateway (.1, the bridge address) of each of its pod CIDRs.
 * Nodes without spec.podCIDRs get a /24 (IPv4) or /64 (IPv6) carved from the configured pod CIDRs in node-name
 * order, as the node IPAM controller's range allocator does; when the pool is too small to carve, they share it.
 */
import type { Diagnostic } from '../core/errors.js';
import { fmix32, fnv1a32 } from '../core/hash.js';
import {
  type Cidr,
  canonicalIP,
  cidrContainsCidr,
  cidrNth,
  formatCIDR,
  formatIP,
  parseCIDR,
} from '../core/ip.js';
import { objectRef, type NodeObject } from '../manifests/types.js';
import { byName } from './draft.js';
import type { Node } from './model.js';

/** Name of the node kpf invents when the input has none. */
export const DEFAULT_NODE_NAME = 'kpf-node';
/** Address of the default node (a kind-style docker network address). */
export const DEFAULT_NODE_IP = '172.18.0.2';

/** Per-node subnet size carved from the pod CIDR, per family (kube-controller-manager defaults). */
const NODE_MASK = { 4: 24, 6: 64 } as const;

/** The gateway address of a pod CIDR: its first address after the network address. */
export function gatewayOf(c: Cidr): string {
  return formatIP(cidrNth(c, 1n));
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/**
 * Builds the node list, sorted by name.
 * @param objs Node objects of the input (may be empty)
 * @param podPools the parsed `podCidrs` option
 */
export function buildNodes(objs: readonly NodeObject[], podPools: readonly Cidr[], diagnostics: Diagnostic[]): Node[] {
  if (objs.length === 0) {
    const cidrs = podPools.map(formatCIDR);
    return [
      {
        name: DEFAULT_NODE_NAME,
        ips: [DEFAULT_NODE_IP, ...podPools.map(gatewayOf)],
        podCIDRs: cidrs,
        origin: 'default',
      },
    ];
  }
  const sorted = [...objs].sort(byName);
  // explicit pod CIDRs first, so carving avoids them
  const explicit = new Map<string, Cidr[]>();
  for (const o of sorted) {
    const list: Cidr[] = [];
    for (const text of o.podCIDRs) {
      const p = parseCIDR(text, false);
      if (p.ok) list.push(p.cidr);
      else
        diagnostics.push({
          severity: 'warning',
          code: 'KPF_WARN_NODE_POD_CIDR',
          message: `pod CIDR "${text}" ${p.message}; ignored`,
          path: 'spec.podCIDRs',
          loc: o.loc,
          object: objectRef(o),
        });
    }
    explicit.set(o.name, list);
  }
  const taken: Cidr[] = [...explicit.values()].flat();
  const nextIndex = new Map<Cidr, bigint>();

  function carve(pool: Cidr): Cidr {
    const sub = Math.max(pool.prefix, NODE_MASK[pool.family]);
    const bits = BigInt((pool.family === 4 ? 32 : 128) - sub);
    const count = 1n << BigInt(sub - pool.prefix);
    for (let i = nextIndex.get(pool) ?? 0n; i < count; i++) {
      const c: Cidr = { family: pool.family, value: pool.value + (i << bits), prefix: sub };
      if (taken.some((t) => overlaps(t, c))) continue;
      nextIndex.set(pool, i + 1n);
      taken.push(c);
      return c;
    }
    return pool; // too small to carve: share the whole pool
  }

  const nodes: Node[] = [];
  for (const o of sorted) {
    let cidrs = explicit.get(o.name)!;
    if (cidrs.length === 0) cidrs = podPools.map(carve);
    const ips: string[] = [];
    for (const a of o.addresses) {
      const c = canonicalIP(a);
      if (c && !ips.includes(c)) ips.push(c);
    }
    for (const c of cidrs) {
      const g = gatewayOf(c);
      if (!ips.includes(g)) ips.push(g);
    }
    nodes.push({ name: o.name, ips, podCIDRs: cidrs.map(formatCIDR), origin: 'manifest' });
  }
  return nodes;
}

/** The node a pod without spec.nodeName runs on: a hash of `namespace/name` over the sorted node list. */
export function placeByHash(namespace: string, name: string, nodes: readonly Node[]): string {
  if (nodes.length === 0) return DEFAULT_NODE_NAME;
  const h = fmix32(fnv1a32(`${namespace}/${name}`));
  return nodes[h % nodes.length]!.name;
}

/** The node addresses of a node (its IPs without the pod-CIDR gateways), for hostNetwork pods. */
export function nodeAddresses(node: Node): string[] {
  const gws = new Set<string>();
  for (const t of node.podCIDRs) {
    const p = parseCIDR(t, false);
    if (p.ok) gws.add(gatewayOf(p.cidr));
  }
  return node.ips.filter((ip) => !gws.has(ip));
}
