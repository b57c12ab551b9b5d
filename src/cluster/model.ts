/**
 * The cluster model: what the policy stage compiles and the reference evaluator reads.
 * Immutable after build; every pod has its final labels, IPs and node; every Service its ClusterIPs.
 */
import type { Diagnostic, SourceLoc } from '../core/errors.js';
import type { LoadOptions } from '../core/options.js';
import type {
  ContainerPort,
  NetworkPolicyObject,
  ServicePort,
} from '../manifests/types.js';

export interface Namespace {
  name: string;
  /** always carries kubernetes.io/metadata.name=<name> (D5) */
  labels: Readonly<Record<string, string>>;
  /** how it came to exist */
  origin: 'manifest' | 'implicit' | 'created' | 'default-dns';
  loc?: SourceLoc;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** canonical IP texts (IPv4 and/or IPv6); empty for terminal or IP-less pods */
  ips: readonly string[];
  /** where the IPs came from */
  ipSource: 'status' | 'ipam' | 'none';
  phase: string;
  hostNetwork: boolean;
  nodeName: string;
  ports: readonly ContainerPort[];
  /** `Deployment/nginx` when derived from a workload template; undefined for Pod objects */
  derivedFrom?: string;
  origin: 'manifest' | 'workload' | 'default-dns';
  loc?: SourceLoc;
}

export interface Service {
  namespace: string;
  name: string;
  type: string;
  /** canonical texts; empty for headless (`None`) and ExternalName */
  clusterIPs: readonly string[];
  selector: Readonly<Record<string, string>> | null;
  ports: readonly ServicePort[];
  origin: 'manifest' | 'default-dns';
  loc?: SourceLoc;
}

export interface Node {
  name: string;
  /** node addresses and per-node gateway IPs (E18) */
  ips: readonly string[];
  podCIDRs: readonly string[];
  origin: 'manifest' | 'default';
}

export interface Cluster {
  /** by name */
  namespaces: ReadonlyMap<string, Namespace>;
  /** every pod, sorted by namespace then name, including terminal and hostNetwork ones */
  pods: readonly Pod[];
  /** sorted by namespace then name */
  services: readonly Service[];
  /** sorted by namespace then name */
  policies: readonly NetworkPolicyObject[];
  nodes: readonly Node[];
  /** canonical IP -> the live, non-hostNetwork pod that owns it (E27) */
  podByIP: ReadonlyMap<string, Pod>;
  /** canonical ClusterIP -> Service */
  serviceByIP: ReadonlyMap<string, Service>;
  /** canonical node IP -> node */
  nodeByIP: ReadonlyMap<string, Node>;
  options: Readonly<LoadOptions>;
}

export interface BuildResult {
  cluster: Cluster;
  /** notices (skipped kinds, added DNS), warnings (lint) and errors (duplicates, IP clashes) */
  diagnostics: Diagnostic[];
}

/** `namespace/name` */
export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/** A pod takes part in pod-to-pod policy: it has an IP, is not terminal and is not on the host network. */
export function isPolicyEndpoint(p: Pod): boolean {
  return p.ips.length > 0 && !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed';
}
