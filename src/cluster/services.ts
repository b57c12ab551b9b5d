/**
 * Service → ready backends and port resolution (E21).
 *
 * Ready endpoints are the policy-endpoint pods (isPolicyEndpoint: has an IP, not terminal, not hostNetwork) of the
 * Service's namespace whose labels match its selector, in phase Running (or with no phase). A Service with no
 * selector or an empty one has no backends here (its endpoints are managed elsewhere; the API server stores `{}`
 * as no selector). Backends are sorted by pod name: the order is part of the contract, because the dataplane and the
 * reference evaluator pick a backend by hashing the 5-tuple into this list.
 */
import type { Protocol, ServicePort } from '../manifests/types.js';
import { type Cluster, isPolicyEndpoint, type Pod, type Service } from './model.js';

const cache = new WeakMap<Cluster, Map<Service, readonly Pod[]>>();

/** Ready backends of `svc` in `cluster`, sorted by name. Memoised per (cluster, service); returns a fresh array. */
export function serviceBackends(cluster: Cluster, svc: Service): Pod[] {
  let perCluster = cache.get(cluster);
  if (!perCluster) {
    perCluster = new Map();
    cache.set(cluster, perCluster);
  }
  let list = perCluster.get(svc);
  if (!list) {
    list = computeBackends(cluster.pods, svc);
    perCluster.set(svc, list);
  }
  return [...list];
}

function computeBackends(pods: readonly Pod[], svc: Service): Pod[] {
  const sel = svc.selector;
  if (!sel) return [];
  const keys = Object.keys(sel);
  if (keys.length === 0) return [];
  const out = pods.filter(
    (p) =>
      p.namespace === svc.namespace &&
      isPolicyEndpoint(p) &&
      (p.phase === 'Running' || p.phase === '') &&
      keys.every((k) => Object.prototype.hasOwnProperty.call(p.labels, k) && p.labels[k] === sel[k]),
  );
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The port a Service port sends to on `pod`: a numeric targetPort as is; a named one resolves to the pod's
 * container port of that name **and the Service port's protocol**; null when the pod declares no such port.
 */
export function resolveTargetPort(svcPort: ServicePort, pod: Pod): number | null {
  const t = svcPort.targetPort;
  if (typeof t === 'number') return t;
  const cp = pod.ports.find((p) => p.name === t && p.protocol === svcPort.protocol);
  return cp ? cp.containerPort : null;
}

/** The Service port for (port, protocol), if the Service exposes it. */
export function findServicePort(svc: Service, port: number, protocol: Protocol): ServicePort | undefined {
  return svc.ports.find((p) => p.port === port && p.protocol === protocol);
}
