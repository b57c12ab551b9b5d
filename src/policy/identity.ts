/**
 * Security identities, as Cilium allocates them, and the ipcache that maps addresses to them.
 *
 * Numbering (Cilium's): reserved identities below 256 (1 host, 2 world, 6 remote-node), cluster identities from
 * 256 for pods, local CIDR identities from 1<<24 for addresses outside the cluster that some ipBlock names.
 *
 * A pod identity stands for one distinct set of (pod labels + labels of its namespace). kpf refines that set only
 * where labels alone cannot give the spec's verdict, so that the per-packet lookup stays a lookup by identity:
 *  - with `--ipblock-pods=match` (the default), ipBlock peers match pod IPs too; two pods with the same labels of
 *    which only one lies in an ipBlock's CIDR must then hold different identities. The identity key carries the
 *    ipBlock membership of the pod's address (the "CIDR signature", below).
 *  - named ports of egress rules resolve on the destination pod; pods with the same labels that give one port name
 *    different numbers hold different identities. The key carries the pod's numbers for the names egress rules use.
 * Pods that differ in neither keep Cilium's one-identity-per-label-set.
 *
 * CIDR signature: collect every ipBlock prefix (cidr and except) of every policy. For an address x, let L be the
 * longest of those prefixes containing x. Prefixes along x are nested, so x lies in a prefix P iff P contains L:
 * L alone decides every cidr and except test. The signature of L is the set of ipBlock peers whose cidr contains L
 * and none of whose excepts does; the ipcache maps L to an identity per distinct signature (empty: world).
 */
export const ReservedIdentity = {
  UNKNOWN: 0,
  HOST: 1,
  WORLD: 2,
  UNMANAGED: 3,
  HEALTH: 4,
  INIT: 5,
  REMOTE_NODE: 6,
} as const;

/** First identity of cluster-scoped (pod) identities. */
export const MIN_CLUSTER_IDENTITY = 256;
/** Local-scope identities (CIDRs) have bit 24 set, as in Cilium. */
export const LOCAL_IDENTITY_BASE = 1 << 24;
/** The wildcard peer of a policy-map key (Cilium's identity 0 = ANY). */
export const ANY_IDENTITY = 0;

export function reservedName(id: number): string | undefined {
  switch (id) {
    case ReservedIdentity.HOST:
      return 'host';
    case ReservedIdentity.WORLD:
      return 'world';
    case ReservedIdentity.REMOTE_NODE:
      return 'remote-node';
    case ReservedIdentity.UNMANAGED:
      return 'unmanaged';
    case ReservedIdentity.HEALTH:
      return 'health';
    case ReservedIdentity.INIT:
      return 'init';
    default:
      return undefined;
  }
}

export type IdentityKind = 'reserved' | 'pod' | 'cidr' | 'node';

export interface Identity {
  id: number;
  kind: IdentityKind;
  /** Cilium-style labels: `k8s:app=nginx`, `k8s:io.kubernetes.pod.namespace=prod`, `cidr:10.0.0.0/8`, `reserved:world` */
  labels: string[];
  /** pods: namespace, pod labels and namespace labels (what selectors are evaluated on) */
  namespace?: string;
  podLabels?: Readonly<Record<string, string>>;
  namespaceLabels?: Readonly<Record<string, string>>;
  /** index of the CIDR signature (see above); -1: none */
  signature: number;
  /** pods: named ports this identity resolves, `name/PROTO` → port, for the names egress rules use */
  namedPorts?: Readonly<Record<string, number>>;
}
