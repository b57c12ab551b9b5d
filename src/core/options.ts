/**
 * Implementation-defined switches (semantics.md §6). One place, one default each; every run prints them.
 */
export interface SemanticsOptions {
  /** E8: does ipBlock match pod IPs? `match` (Calico, e2e) or `ignore` (Cilium "world" only). */
  ipBlockPods: 'match' | 'ignore';
  /** E17: pod -> own Service -> itself. `policy` evaluates it; `allow` bypasses (Antrea). */
  hairpin: 'policy' | 'allow';
  /** E14: ICMP under isolation. `portless`: only rules without ports match; `allow`: bypass. */
  icmp: 'portless' | 'allow';
  /** E15: non-IP frames. */
  nonIp: 'allow' | 'drop';
  /** E29: ICMPv6 types that bypass policy (default ND 133-137). */
  icmpv6Bypass: number[];
  /** E18: ingress from the destination pod's own node. */
  nodeIngress: 'allow' | 'policy';
  /** E26: established connections when policy changes. */
  onPolicyChange: 'keep' | 'reevaluate';
  /** E21: translate Service ClusterIP:port to a backend before policy. */
  serviceDnat: 'on' | 'off';
}

export const DEFAULT_SEMANTICS: Readonly<SemanticsOptions> = Object.freeze({
  ipBlockPods: 'match',
  hairpin: 'policy',
  icmp: 'portless',
  nonIp: 'allow',
  icmpv6Bypass: [133, 134, 135, 136, 137],
  nodeIngress: 'allow',
  onPolicyChange: 'keep',
  serviceDnat: 'on',
});

/** Options of loading and building the cluster model. */
export interface LoadOptions {
  /** -R: recurse into directories. */
  recursive: boolean;
  /** -n: namespace for objects without one (D4). */
  defaultNamespace: string;
  /** V21 switch. */
  cidrValidation: 'strict' | 'legacy';
  /** E33 switch. */
  duplicates: 'reject' | 'last-wins';
  /** E34 switch. */
  createNamespaces: boolean;
  /** Add kube-system/coredns + kube-dns Service when the input has no cluster DNS. */
  defaultDns: boolean;
  /** Pod CIDR(s) of the deterministic IPAM. */
  podCidrs: string[];
  /** Service CIDR for ClusterIPs that are not given. */
  serviceCidr: string;
}

export const DEFAULT_LOAD: Readonly<LoadOptions> = Object.freeze({
  recursive: false,
  defaultNamespace: 'default',
  cidrValidation: 'strict',
  duplicates: 'reject',
  createNamespaces: false,
  defaultDns: true,
  podCidrs: ['10.244.0.0/16'],
  serviceCidr: '10.96.0.0/12',
});

/** Hard limits against hostile input (X4). */
export const INPUT_LIMITS = Object.freeze({
  /** bytes per file / stdin */
  maxFileBytes: 64 * 1024 * 1024,
  /** bytes per YAML document */
  maxDocumentBytes: 16 * 1024 * 1024,
  /** YAML alias resolutions per document (yaml's maxAliasCount) */
  maxAliasCount: 100,
  /** nesting depth of collections */
  maxDepth: 64,
  /** documents per input set */
  maxDocuments: 200_000,
});
