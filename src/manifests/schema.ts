/**
 * Field schemas of the supported kinds, for strict decoding (decode.ts).
 *
 * Strictness scope (a deliberate choice):
 *  - NetworkPolicy is decoded fully strictly: every field of networking.k8s.io/v1 NetworkPolicy (and of ObjectMeta)
 *    is known, anything else is an error (X1). A dropped key there silently widens a policy.
 *  - Pods, workloads, Services, Namespaces and Nodes must load exactly as `kubectl get -A -o yaml` prints them from a
 *    real cluster, including fields newer than this list. So only the parts kpf reads are type-checked; the rest
 *    (images, volumes, probes, status conditions, …) is accepted without being read. To catch typos that would
 *    silently change the model, structs on the read path are `open` with the full upstream field list: a key that is
 *    neither read nor an upstream field is still an error when it looks like a misspelling of a field kpf reads
 *    (`hostnetwork`, `selecter`, `port` for `ports`), and accepted otherwise. ObjectMeta, label selectors, Service
 *    ports, container ports and node addresses have small stable field sets and are fully strict.
 */

export type Schema =
  | { k: 'string' }
  | { k: 'int' }
  | { k: 'bool' }
  | { k: 'intOrString' }
  /** accepted as is, never read */
  | { k: 'any' }
  /** map[string]T */
  | { k: 'map'; of: Schema }
  | { k: 'list'; of: Schema }
  /** open: upstream field names accepted without reading (see header) */
  | { k: 'struct'; fields: Record<string, Schema>; open?: readonly string[] };

const str: Schema = { k: 'string' };
const int: Schema = { k: 'int' };
const bool: Schema = { k: 'bool' };
const any: Schema = { k: 'any' };
const intOrString: Schema = { k: 'intOrString' };
const strMap: Schema = { k: 'map', of: str };
const list = (of: Schema): Schema => ({ k: 'list', of });
const struct = (fields: Record<string, Schema>, open?: readonly string[]): Schema => ({ k: 'struct', fields, open });

export const objectMeta = struct({
  name: str,
  generateName: str,
  namespace: str,
  selfLink: str,
  uid: str,
  resourceVersion: str,
  generation: int,
  creationTimestamp: any,
  deletionTimestamp: any,
  deletionGracePeriodSeconds: int,
  labels: strMap,
  annotations: strMap,
  ownerReferences: list(
    struct({ apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool }),
  ),
  finalizers: list(str),
  managedFields: any,
  clusterName: str,
});

export const labelSelector = struct({
  matchLabels: strMap,
  matchExpressions: list(struct({ key: str, operator: str, values: list(str) })),
});

const npPort = struct({ protocol: str, port: intOrString, endPort: int });
const npPeer = struct({
  podSelector: labelSelector,
  namespaceSelector: labelSelector,
  ipBlock: struct({ cidr: str, except: list(str) }),
});

export const networkPolicy = struct({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: struct({
    podSelector: labelSelector,
    ingress: list(struct({ ports: list(npPort), from: list(npPeer) })),
    egress: list(struct({ ports: list(npPort), to: list(npPeer) })),
    policyTypes: list(str),
  }),
  // networking.k8s.io/v1 NetworkPolicyStatus existed in 1.24–1.26
  status: struct({ conditions: any }),
});

const containerPort = struct({ name: str, hostPort: int, containerPort: int, protocol: str, hostIP: str });

const CONTAINER_FIELDS = [
  'name', 'image', 'command', 'args', 'workingDir', 'envFrom', 'env', 'resources', 'resizePolicy', 'restartPolicy',
  'restartPolicyRules', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe',
  'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin',
  'stdinOnce', 'tty',
] as const;
const container = struct({ ports: list(containerPort) }, CONTAINER_FIELDS);

const POD_SPEC_FIELDS = [
  'volumes', 'initContainers', 'ephemeralContainers', 'restartPolicy', 'terminationGracePeriodSeconds',
  'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector', 'serviceAccountName', 'serviceAccount',
  'automountServiceAccountToken', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext',
  'imagePullSecrets', 'hostname', 'subdomain', 'affinity', 'schedulerName', 'tolerations', 'hostAliases',
  'priorityClassName', 'priority', 'dnsConfig', 'readinessGates', 'runtimeClassName', 'enableServiceLinks',
  'preemptionPolicy', 'overhead', 'topologySpreadConstraints', 'setHostnameAsFQDN', 'os', 'hostUsers',
  'schedulingGates', 'resourceClaims', 'resources', 'hostnameOverride',
] as const;
export const podSpec = struct({ hostNetwork: bool, nodeName: str, containers: list(container) }, POD_SPEC_FIELDS);

const POD_STATUS_FIELDS = [
  'observedGeneration', 'conditions', 'message', 'reason', 'nominatedNodeName', 'hostIPs', 'startTime',
  'initContainerStatuses', 'containerStatuses', 'qosClass', 'ephemeralContainerStatuses', 'resize',
  'resourceClaimStatuses', 'extendedResourceClaimStatus',
] as const;
const podStatus = struct(
  { phase: str, podIP: str, podIPs: list(struct({ ip: str })), hostIP: str },
  POD_STATUS_FIELDS,
);

export const pod = struct({ apiVersion: str, kind: str, metadata: objectMeta, spec: podSpec, status: podStatus });

const podTemplate = struct({ metadata: objectMeta, spec: podSpec });

const WORKLOAD_SPEC_FIELDS: Record<string, readonly string[]> = {
  Deployment: ['strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  ReplicaSet: ['minReadySeconds'],
  StatefulSet: [
    'volumeClaimTemplates', 'serviceName', 'podManagementPolicy', 'updateStrategy', 'revisionHistoryLimit',
    'minReadySeconds', 'persistentVolumeClaimRetentionPolicy', 'ordinals',
  ],
  DaemonSet: ['updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'],
};

/** Deployment, ReplicaSet, StatefulSet, DaemonSet (status is not read). */
export function workload(kind: string): Schema {
  const fields: Record<string, Schema> = { selector: labelSelector, template: podTemplate };
  if (kind !== 'DaemonSet') fields.replicas = int;
  return struct({
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    spec: struct(fields, WORKLOAD_SPEC_FIELDS[kind] ?? []),
    status: any,
  });
}

const SERVICE_SPEC_FIELDS = [
  'externalIPs', 'sessionAffinity', 'loadBalancerIP', 'loadBalancerSourceRanges', 'externalName',
  'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses', 'sessionAffinityConfig', 'ipFamilies',
  'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy',
  'trafficDistribution',
] as const;

export const service = struct({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: struct(
    {
      type: str,
      clusterIP: str,
      clusterIPs: list(str),
      selector: strMap,
      ports: list(struct({ name: str, protocol: str, appProtocol: str, port: int, targetPort: intOrString, nodePort: int })),
    },
    SERVICE_SPEC_FIELDS,
  ),
  status: any,
});

export const namespace = struct({ apiVersion: str, kind: str, metadata: objectMeta, spec: any, status: any });

const NODE_SPEC_FIELDS = ['providerID', 'unschedulable', 'taints', 'configSource', 'externalID'] as const;
const NODE_STATUS_FIELDS = [
  'capacity', 'allocatable', 'phase', 'conditions', 'daemonEndpoints', 'nodeInfo', 'images', 'volumesInUse',
  'volumesAttached', 'config', 'runtimeHandlers', 'features', 'declaredFeatures',
] as const;

export const node = struct({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: struct({ podCIDR: str, podCIDRs: list(str) }, NODE_SPEC_FIELDS),
  status: struct({ addresses: list(struct({ type: str, address: str })) }, NODE_STATUS_FIELDS),
});

/** Supported kinds and their one accepted apiVersion. */
export const SUPPORTED: Record<string, { apiVersion: string; schema: Schema }> = {
  Namespace: { apiVersion: 'v1', schema: namespace },
  Pod: { apiVersion: 'v1', schema: pod },
  Service: { apiVersion: 'v1', schema: service },
  Node: { apiVersion: 'v1', schema: node },
  Deployment: { apiVersion: 'apps/v1', schema: workload('Deployment') },
  ReplicaSet: { apiVersion: 'apps/v1', schema: workload('ReplicaSet') },
  StatefulSet: { apiVersion: 'apps/v1', schema: workload('StatefulSet') },
  DaemonSet: { apiVersion: 'apps/v1', schema: workload('DaemonSet') },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', schema: networkPolicy },
};
