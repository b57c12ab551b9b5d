/**
 * Typed, defaulted, validated objects as the manifest stage hands them to the cluster stage.
 * Only the fields kpf uses are kept; every field of the input has been checked (strict decoding), so nothing
 * here is a silently dropped or widened reading of the input.
 */
import type { SourceLoc } from '../core/errors.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type PolicyType = 'Ingress' | 'Egress';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

/** Empty matchLabels and matchExpressions = matches everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

interface ObjectBase {
  name: string;
  labels: Record<string, string>;
  loc: SourceLoc;
}

export interface NamespaceObject extends ObjectBase {
  kind: 'Namespace';
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

/** A pod template as workloads carry it and pods are built from. */
export interface PodSpecLite {
  hostNetwork: boolean;
  nodeName?: string;
  /** all containers' ports (init containers excluded), in order */
  ports: ContainerPort[];
}

export interface PodObject extends ObjectBase {
  kind: 'Pod';
  namespace: string;
  spec: PodSpecLite;
  /** status.phase when given */
  phase?: string;
  /** status.podIPs (or status.podIP), canonical text; empty when not given */
  podIPs: string[];
  /** status.hostIP when given */
  hostIP?: string;
  /** metadata.ownerReferences[0] as `Kind/name`, when given */
  owner?: string;
}

export interface WorkloadObject extends ObjectBase {
  kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet';
  namespace: string;
  /** spec.replicas, defaulted to 1 (DaemonSet: one per node) */
  replicas: number;
  selector: LabelSelector;
  template: { labels: Record<string, string>; spec: PodSpecLite };
  /** metadata.ownerReferences[0] as `Kind/name` (a ReplicaSet owned by a Deployment) */
  owner?: string;
}

export interface ServicePort {
  name?: string;
  protocol: Protocol;
  port: number;
  /** defaulted to `port` (D7) */
  targetPort: number | string;
  nodePort?: number;
}

export interface ServiceObject extends ObjectBase {
  kind: 'Service';
  namespace: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs / spec.clusterIP, canonical text; ['None'] for headless; [] when to be allocated */
  clusterIPs: string[];
  /** null: no selector (endpoints managed elsewhere) */
  selector: Record<string, string> | null;
  ports: ServicePort[];
}

export interface NodeObject extends ObjectBase {
  kind: 'Node';
  /** status.addresses of type InternalIP/ExternalIP, canonical text */
  addresses: string[];
  /** spec.podCIDRs */
  podCIDRs: string[];
}

export interface IPBlock {
  cidr: string;
  except: string[];
}

/** One `from`/`to` item. At least one field is set (V17); ipBlock excludes the others (V18). */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  /** defaulted to TCP (D2) */
  protocol: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyRule {
  /** `from` (ingress) or `to` (egress). Empty = every peer. */
  peers: NetworkPolicyPeer[];
  /** Empty = every port and every protocol. */
  ports: NetworkPolicyPort[];
}

export interface NetworkPolicyObject extends ObjectBase {
  kind: 'NetworkPolicy';
  namespace: string;
  podSelector: LabelSelector;
  /** defaulted (D1) */
  policyTypes: PolicyType[];
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
}

export type KubeObject =
  | NamespaceObject
  | PodObject
  | WorkloadObject
  | ServiceObject
  | NodeObject
  | NetworkPolicyObject;

/** `Kind namespace/name` or `Kind name`, for messages. */
export function objectRef(o: { kind: string; name: string; namespace?: string }): string {
  return o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`;
}
