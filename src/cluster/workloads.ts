/**
 * Workloads → pods, for inputs that describe a Deployment/ReplicaSet/StatefulSet/DaemonSet but not its pods.
 *
 * Names follow the shape the controllers give them, made deterministic (same input ⇒ same names on every run):
 *
 *   Deployment   <name>-<pod-template-hash: 10 chars>-<5-char suffix>    (the ReplicaSet is <name>-<hash>)
 *   ReplicaSet   <name>-<5-char suffix>
 *   StatefulSet  <name>-<ordinal>
 *   DaemonSet    <name>-<5-char suffix>, one per node
 *
 * Suffixes and the template hash use the "safe" alphabet of Kubernetes name generation (no vowels, no 0/1/3, so no
 * words and no look-alike characters). Where Kubernetes draws random suffixes, kpf hashes `namespace/owner/index`.
 *
 * A workload is expanded only when the input has no pods for it. "Has pods" means any of: a Pod object owned by it
 * (`ownerReferences[0]`), a Pod object in its namespace matching its selector, or — for a Deployment — a ReplicaSet
 * object owned by it (that ReplicaSet is then expanded instead, so nothing is expanded twice).
 */
import type { Diagnostic } from '../core/errors.js';
import { fmix32, fnv1a32, mix32 } from '../core/hash.js';
import { objectRef, type PodObject, type PodSpecLite, type WorkloadObject } from '../manifests/types.js';
import { byName, byNamespaceName, type PodDraft } from './draft.js';
import type { Node } from './model.js';
import { matchesSelector } from './selectors.js';

/** Characters Kubernetes uses for generated name parts (`k8s.io/apimachinery/pkg/util/rand`). */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Longest prefix kept before a generated suffix (63 − 5, as the API server's name generator). */
const MAX_GENERATED_PREFIX = 58;

/** Upper bound on pods expanded from one workload (hostile `replicas`). */
export const MAX_REPLICAS = 10_000;

/** Maps each character of `s` onto the safe alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The `pod-template-hash` of a pod template: FNV-1a over its canonical JSON, written as ten decimal digits and
 * mapped onto the safe alphabet (the controller writes the decimal hash through the same alphabet).
 */
export function podTemplateHash(template: { labels: Record<string, string>; spec: PodSpecLite }): string {
  const h = fnv1a32(stableJson(template));
  return safeEncode(String(h).padStart(10, '0'));
}

/** A deterministic `length`-character suffix over the safe alphabet, from a seed string. */
export function nameSuffix(seed: string, length = 5): string {
  let h = fnv1a32(seed);
  let out = '';
  for (let i = 0; i < length; i++) {
    h = fmix32(mix32(h, i + 1));
    out += SAFE_ALPHABET[h % SAFE_ALPHABET.length];
  }
  return out;
}

/** `prefix-` cut to the generator limit, plus a suffix from `seed` that is not yet taken in `taken`. */
function generateName(prefix: string, seed: string, namespace: string, taken: Set<string>): string {
  const base = `${prefix}-`.slice(0, MAX_GENERATED_PREFIX);
  for (let attempt = 0; ; attempt++) {
    const name = base + nameSuffix(attempt === 0 ? seed : `${seed}#${attempt}`);
    if (!taken.has(`${namespace}/${name}`)) {
      taken.add(`${namespace}/${name}`);
      return name;
    }
  }
}

function draftFrom(
  w: WorkloadObject,
  name: string,
  labels: Record<string, string>,
  nodeName: string | undefined,
): PodDraft {
  const d: PodDraft = {
    namespace: w.namespace,
    name,
    labels,
    phase: 'Running',
    hostNetwork: w.template.spec.hostNetwork,
    ports: w.template.spec.ports.map((p) => ({ ...p })),
    statusIPs: [],
    derivedFrom: `${w.kind}/${w.name}`,
    origin: 'workload',
    loc: w.loc,
    ips: [],
    ipSource: 'none',
  };
  if (nodeName !== undefined) d.nodeName = nodeName;
  return d;
}

/** True when the input already has pods for this workload (see the module comment). */
export function hasGivenPods(w: WorkloadObject, pods: readonly PodObject[], workloads: readonly WorkloadObject[]): boolean {
  const ref = `${w.kind}/${w.name}`;
  for (const p of pods) {
    if (p.namespace !== w.namespace) continue;
    if (p.owner === ref) return true;
    if (matchesSelector(w.selector, p.labels)) return true;
  }
  if (w.kind === 'Deployment') {
    for (const o of workloads) {
      if (o.kind === 'ReplicaSet' && o.namespace === w.namespace && o.owner === ref) return true;
    }
  }
  return false;
}

/**
 * Expands every workload that has no pods in the input into derived pods (phase Running, template labels, no IPs
 * yet). Output sorted by namespace/name.
 * @param takenPodKeys `namespace/name` of the input's Pod objects; derived names avoid them (and are added)
 */
export function expandWorkloads(
  workloads: readonly WorkloadObject[],
  pods: readonly PodObject[],
  nodes: readonly Node[],
  diagnostics: Diagnostic[],
  takenPodKeys: Set<string> = new Set(pods.map((p) => `${p.namespace}/${p.name}`)),
): PodDraft[] {
  const out: PodDraft[] = [];
  const sortedNodes = [...nodes].sort(byName);
  const sorted = [...workloads].sort((a, b) => byNamespaceName(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  for (const w of sorted) {
    if (hasGivenPods(w, pods, workloads)) continue;
    let replicas = w.kind === 'DaemonSet' ? sortedNodes.length : Math.max(0, Math.floor(w.replicas));
    if (replicas > MAX_REPLICAS) {
      diagnostics.push({
        severity: 'warning',
        code: 'KPF_WARN_REPLICAS_CAPPED',
        message: `${replicas} replicas: only the first ${MAX_REPLICAS} pods are modelled`,
        path: 'spec.replicas',
        loc: w.loc,
        object: objectRef(w),
      });
      replicas = MAX_REPLICAS;
    }
    const tplLabels = w.template.labels;
    const nodeName = w.template.spec.nodeName;
    switch (w.kind) {
      case 'Deployment': {
        const hash = podTemplateHash(w.template);
        const rsName = `${w.name}-${hash}`;
        for (let i = 0; i < replicas; i++) {
          const name = generateName(rsName, `${w.namespace}/${rsName}/${i}`, w.namespace, takenPodKeys);
          out.push(draftFrom(w, name, { ...tplLabels, 'pod-template-hash': hash }, nodeName));
        }
        break;
      }
      case 'ReplicaSet': {
        for (let i = 0; i < replicas; i++) {
          const name = generateName(w.name, `${w.namespace}/${w.name}/${i}`, w.namespace, takenPodKeys);
          out.push(draftFrom(w, name, { ...tplLabels }, nodeName));
        }
        break;
      }
      case 'StatefulSet': {
        for (let i = 0; i < replicas; i++) {
          const name = `${w.name}-${i}`;
          const key = `${w.namespace}/${name}`;
          if (takenPodKeys.has(key)) continue; // ordinal already present as a Pod object
          takenPodKeys.add(key);
          const labels = {
            ...tplLabels,
            'statefulset.kubernetes.io/pod-name': name,
            'apps.kubernetes.io/pod-index': String(i),
          };
          out.push(draftFrom(w, name, labels, nodeName));
        }
        break;
      }
      case 'DaemonSet': {
        for (let i = 0; i < replicas; i++) {
          const node = sortedNodes[i]!.name;
          const name = generateName(w.name, `${w.namespace}/${w.name}/${node}`, w.namespace, takenPodKeys);
          out.push(draftFrom(w, name, { ...tplLabels }, node));
        }
        break;
      }
    }
  }
  return out.sort(byNamespaceName);
}
