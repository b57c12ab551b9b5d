/**
 * API-server defaulting (semantics.md §3, D1–D7), applied after decoding and before validation.
 * Pure: returns a new object, never mutates its input. Idempotent: `applyDefaults(applyDefaults(x)) ≡ applyDefaults(x)`
 * (property-tested).
 */
import type { RawContainerPort, RawObject, RawPodSpec, RawRule } from './decode.js';

export interface DefaultOptions {
  /** D4: namespace for namespaced objects without one */
  defaultNamespace: string;
}

/** `kubernetes.io/metadata.name`, set on every Namespace by the control plane (D5). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const CLUSTER_SCOPED = new Set(['Namespace', 'Node']);

function defaultPorts(ports: RawContainerPort[] | undefined): void {
  for (const p of ports ?? []) if (p.protocol === undefined) p.protocol = 'TCP'; // D6
}

function defaultPodSpec(spec: RawPodSpec | undefined): void {
  for (const c of spec?.containers ?? []) defaultPorts(c.ports);
}

function defaultRules(rules: RawRule[] | undefined): void {
  for (const r of rules ?? []) for (const p of r.ports ?? []) if (p.protocol === undefined) p.protocol = 'TCP'; // D2
}

/** Applies D1–D7 to a copy of `raw`. */
export function applyDefaults<T extends RawObject>(raw: T, opts: DefaultOptions): T {
  const o = structuredClone(raw);
  o.metadata ??= {};
  if (!CLUSTER_SCOPED.has(o.kind) && !o.metadata.namespace) o.metadata.namespace = opts.defaultNamespace; // D4
  switch (o.kind) {
    case 'NetworkPolicy': {
      const spec = (o.spec ??= {});
      spec.podSelector ??= {}; // D3
      if (!spec.policyTypes || spec.policyTypes.length === 0) {
        // D1: Ingress always, Egress iff there are egress rules
        spec.policyTypes = spec.egress && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
      }
      defaultRules(spec.ingress);
      defaultRules(spec.egress);
      break;
    }
    case 'Namespace':
      // D5: set when absent; a conflicting value is replaced by the cluster stage, with a warning (build.ts)
      if (o.metadata.name && o.metadata.labels?.[NAMESPACE_NAME_LABEL] === undefined) {
        o.metadata.labels = { ...(o.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: o.metadata.name };
      }
      break;
    case 'Pod':
      defaultPodSpec(o.spec);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      defaultPodSpec(o.spec?.template?.spec);
      break;
    case 'Service':
      for (const p of o.spec?.ports ?? []) {
        if (p.protocol === undefined) p.protocol = 'TCP'; // D7
        if (p.targetPort === undefined && p.port !== undefined) p.targetPort = p.port; // D7
      }
      break;
    case 'Node':
      break;
  }
  return o;
}
