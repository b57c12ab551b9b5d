/**
 * Mutable working records of the build (internal to src/cluster). build.ts freezes them into the model types.
 */
import type { SourceLoc } from '../core/errors.js';
import type { ContainerPort } from '../manifests/types.js';
import type { Pod } from './model.js';

/** A pod while the build places it and gives it IPs. */
export interface PodDraft {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** as given; 'Running' when not given (a manifest pod without status is taken to run) */
  phase: string;
  hostNetwork: boolean;
  /** spec.nodeName when given; set by placement otherwise */
  nodeName?: string;
  ports: ContainerPort[];
  /** status.podIPs, canonical */
  statusIPs: string[];
  hostIP?: string;
  derivedFrom?: string;
  origin: Pod['origin'];
  loc?: SourceLoc;
  /** filled by IPAM */
  ips: string[];
  ipSource: Pod['ipSource'];
}

/** Succeeded and Failed pods are terminal: no IP, never an endpoint (E27). */
export function isTerminalPhase(phase: string): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Sort key `namespace/name`, compared by namespace first. */
export function byNamespaceName(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
