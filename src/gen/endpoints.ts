/**
 * Where the generators' packets come from and go to, at layer 2: which MAC a pod's frame carries for a given
 * destination. Captures are taken on the pod's side (its veth), so:
 *
 *   pod → pod on the same node        dst MAC = the other pod's MAC (one bridge)
 *   pod → anything else               dst MAC = the pod's gateway on its node (ClusterIPs, other nodes, outside)
 *
 * and replies mirror the request. MACs are derived from IPs (packets.ts {@link macOf}). Setup-time code.
 */
import { cidrContains, formatIP, parseCIDR, parseIP } from '../core/ip.js';
import type { Cluster, Pod } from '../cluster/model.js';
import { ipBytes, macOf } from './packets.js';

/** The first address of `family` in `ips`, or undefined. */
export function ipOfFamily(ips: readonly string[], family: 4 | 6): string | undefined {
  return ips.find((ip) => (family === 6) === ip.includes(':'));
}

/**
 * The gateway a pod's traffic leaves through: the node IP of the pod's family that lies inside one of the node's
 * pod CIDRs (kpf's default node has 10.244.0.1 in 10.244.0.0/16), else the pod CIDR's first address, else the
 * node's first IP of that family. Undefined when nothing fits.
 */
export function gatewayIP(cluster: Cluster, pod: Pod, family: 4 | 6): string | undefined {
  const node = cluster.nodes.find((n) => n.name === pod.nodeName) ?? cluster.nodes[0];
  if (!node) return undefined;
  const cidrs = node.podCIDRs.map((c) => parseCIDR(c, false)).flatMap((r) => (r.ok && r.cidr.family === family ? [r.cidr] : []));
  for (const ip of node.ips) {
    const a = parseIP(ip);
    if (a && a.family === family && cidrs.some((c) => cidrContains(c, a))) return ip;
  }
  const c = cidrs[0];
  if (c) return formatIP({ family, value: c.value + 1n });
  return ipOfFamily(node.ips, family);
}

/** The MAC of a pod's gateway (see {@link gatewayIP}); a fixed locally administered MAC when there is none. */
export function gatewayMac(cluster: Cluster, pod: Pod, family: 4 | 6): Uint8Array {
  const gw = gatewayIP(cluster, pod, family);
  return gw ? macOf(ipBytes(gw)) : Uint8Array.from([0x0a, 0x58, 0, 0, 0, 1]);
}

/** The destination MAC of a frame from `pod` to `dstIP`: the peer pod's MAC on the same node, else the gateway's. */
export function nextHopMac(cluster: Cluster, pod: Pod, dstIP: string, family: 4 | 6): Uint8Array {
  const peer = cluster.podByIP.get(dstIP);
  if (peer && peer.nodeName === pod.nodeName && !peer.hostNetwork) return macOf(ipBytes(dstIP));
  return gatewayMac(cluster, pod, family);
}
