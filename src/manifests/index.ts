/**
 * The manifest stage: text → typed, defaulted, validated objects (semantics.md §1–§3, §7).
 *
 *   readSources ─▶ parseText (documents, List items, lines) ─▶ decodeDocument (strict) ─▶ applyDefaults
 *               ─▶ validateObject ─▶ lintNetworkPolicy ─▶ toKubeObject
 *
 * The unit of rejection is one object (a document, or one item of a `kind: List`): an object with an error is left
 * out, every other object is kept, in input order. Unsupported kinds are skipped and counted in one notice.
 */
import type { Diagnostic, SourceLoc } from '../core/errors.js';
import { formatCIDR, formatIP, parseCIDR, parseIP } from '../core/ip.js';
import { DEFAULT_LOAD, type LoadOptions } from '../core/options.js';
import { decodeDocument, type RawMeta, type RawObject, type RawPodSpec, type RawSelector } from './decode.js';
import { applyDefaults } from './defaults.js';
import { lintNetworkPolicy } from './lint.js';
import { readSources } from './load.js';
import { lineAt, parseText, type SourceDoc } from './parse.js';
import type {
  KubeObject,
  LabelSelector,
  NetworkPolicyPeer,
  NetworkPolicyRule,
  PodSpecLite,
  PolicyType,
  Protocol,
} from './types.js';
import { objectRef } from './types.js';
import { validateObject } from './validate.js';

export type { SourceText } from './load.js';
export { readSources } from './load.js';
export { parseText } from './parse.js';

export interface LoadResult {
  objects: KubeObject[];
  diagnostics: Diagnostic[];
}

function canonIP(s: string): string {
  const a = parseIP(s);
  return a ? formatIP(a) : s;
}

function selector(s: RawSelector | undefined): LabelSelector {
  return {
    matchLabels: { ...(s?.matchLabels ?? {}) },
    matchExpressions: (s?.matchExpressions ?? []).map((r) => ({
      key: r.key ?? '',
      operator: r.operator as LabelSelector['matchExpressions'][number]['operator'],
      values: [...(r.values ?? [])],
    })),
  };
}

function podSpec(s: RawPodSpec | undefined): PodSpecLite {
  const out: PodSpecLite = { hostNetwork: s?.hostNetwork ?? false, ports: [] };
  if (s?.nodeName) out.nodeName = s.nodeName;
  for (const c of s?.containers ?? []) {
    for (const p of c.ports ?? []) {
      const cp: PodSpecLite['ports'][number] = { containerPort: p.containerPort!, protocol: (p.protocol ?? 'TCP') as Protocol };
      if (p.name !== undefined) cp.name = p.name;
      out.ports.push(cp);
    }
  }
  return out;
}

function owner(m: RawMeta | undefined): string | undefined {
  const r = m?.ownerReferences?.[0];
  return r?.kind && r.name ? `${r.kind}/${r.name}` : undefined;
}

function cidrText(s: string): string {
  const c = parseCIDR(s, false);
  return c.ok ? formatCIDR(c.cidr) : s;
}

/** Converts a defaulted, valid raw object to its types.ts shape. */
export function toKubeObject(o: RawObject, loc: SourceLoc): KubeObject {
  const name = o.metadata?.name ?? '';
  const labels = { ...(o.metadata?.labels ?? {}) };
  const namespace = o.metadata?.namespace ?? '';
  switch (o.kind) {
    case 'Namespace':
      return { kind: 'Namespace', name, labels, loc };
    case 'Node': {
      const addresses = (o.status?.addresses ?? [])
        .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address)
        .map((a) => canonIP(a.address!));
      const cidrs = o.spec?.podCIDRs ?? (o.spec?.podCIDR ? [o.spec.podCIDR] : []);
      return { kind: 'Node', name, labels, loc, addresses, podCIDRs: cidrs.map(cidrText) };
    }
    case 'Pod': {
      const st = o.status ?? {};
      const ips = (st.podIPs ?? []).map((p) => p.ip ?? '').filter((x) => x !== '');
      if (ips.length === 0 && st.podIP) ips.push(st.podIP);
      const p: KubeObject = { kind: 'Pod', name, namespace, labels, loc, spec: podSpec(o.spec), podIPs: ips.map(canonIP) };
      if (st.phase) p.phase = st.phase;
      if (st.hostIP) p.hostIP = canonIP(st.hostIP);
      const ow = owner(o.metadata);
      if (ow) p.owner = ow;
      return p;
    }
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet': {
      const spec = o.spec ?? {};
      const w: KubeObject = {
        kind: o.kind,
        name,
        namespace,
        labels,
        loc,
        // DaemonSet: 1 here; the cluster stage runs one per node
        replicas: spec.replicas ?? 1,
        selector: selector(spec.selector),
        template: { labels: { ...(spec.template?.metadata?.labels ?? {}) }, spec: podSpec(spec.template?.spec) },
      };
      const ow = owner(o.metadata);
      if (ow) w.owner = ow;
      return w;
    }
    case 'Service': {
      const spec = o.spec ?? {};
      const clusterIPs =
        spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
      return {
        kind: 'Service',
        name,
        namespace,
        labels,
        loc,
        type: (spec.type ?? 'ClusterIP') as 'ClusterIP',
        clusterIPs: clusterIPs.map((ip) => (ip === 'None' ? 'None' : canonIP(ip))),
        selector: spec.selector ? { ...spec.selector } : null,
        ports: (spec.ports ?? []).map((p) => {
          const sp: Extract<KubeObject, { kind: 'Service' }>['ports'][number] = {
            protocol: (p.protocol ?? 'TCP') as Protocol,
            port: p.port!,
            targetPort: p.targetPort ?? p.port!,
          };
          if (p.name) sp.name = p.name;
          if (p.nodePort) sp.nodePort = p.nodePort;
          return sp;
        }),
      };
    }
    case 'NetworkPolicy': {
      const spec = o.spec ?? {};
      const rules = (rs: typeof spec.ingress, key: 'from' | 'to'): NetworkPolicyRule[] =>
        (rs ?? []).map((r) => ({
          peers: (r[key] ?? []).map((p) => {
            const peer: NetworkPolicyPeer = {};
            if (p.podSelector) peer.podSelector = selector(p.podSelector);
            if (p.namespaceSelector) peer.namespaceSelector = selector(p.namespaceSelector);
            if (p.ipBlock) peer.ipBlock = { cidr: cidrText(p.ipBlock.cidr ?? ''), except: (p.ipBlock.except ?? []).map(cidrText) };
            return peer;
          }),
          ports: (r.ports ?? []).map((p) => {
            const np: NetworkPolicyRule['ports'][number] = { protocol: (p.protocol ?? 'TCP') as Protocol };
            if (p.port !== undefined) np.port = p.port;
            if (p.endPort !== undefined) np.endPort = p.endPort;
            return np;
          }),
        }));
      return {
        kind: 'NetworkPolicy',
        name,
        namespace,
        labels,
        loc,
        podSelector: selector(spec.podSelector),
        policyTypes: [...(spec.policyTypes ?? ['Ingress'])] as PolicyType[],
        ingress: rules(spec.ingress, 'from'),
        egress: rules(spec.egress, 'to'),
      };
    }
  }
}

interface Accum {
  objects: KubeObject[];
  diagnostics: Diagnostic[];
  skipped: Map<string, number>;
}

function processDoc(d: SourceDoc, opts: LoadOptions, acc: Accum): void {
  const res = decodeDocument(d);
  if (res.status === 'skipped') {
    acc.skipped.set(res.kind, (acc.skipped.get(res.kind) ?? 0) + 1);
    return;
  }
  if (res.status === 'error') {
    acc.diagnostics.push(...res.diagnostics);
    return;
  }
  const raw = res.raw;
  const defaulted = applyDefaults(raw, { defaultNamespace: opts.defaultNamespace });
  const lineOf = (path: string): number => lineAt(d.root, path);
  const ref = objectRef({
    kind: raw.kind,
    name: defaulted.metadata?.name ?? '<unnamed>',
    namespace: raw.kind === 'Namespace' || raw.kind === 'Node' ? undefined : defaulted.metadata?.namespace,
  });
  const diags = validateObject(defaulted, lineOf, d.file, d.doc, { cidrValidation: opts.cidrValidation });
  if (raw.kind === 'NetworkPolicy' && !diags.some((x) => x.severity === 'error')) {
    diags.push(...lintNetworkPolicy(raw, lineOf, d.file, d.doc));
  }
  for (const x of diags) x.object = ref;
  acc.diagnostics.push(...diags);
  if (diags.some((x) => x.severity === 'error')) return;
  acc.objects.push(toKubeObject(defaulted, { file: d.file, line: d.line, doc: d.doc }));
}

function skippedNotice(skipped: Map<string, number>): Diagnostic[] {
  if (skipped.size === 0) return [];
  let total = 0;
  const parts: string[] = [];
  for (const [k, n] of skipped) {
    total += n;
    parts.push(`${k} ×${n}`);
  }
  return [
    {
      severity: 'notice',
      code: 'KPF_NOTICE_SKIPPED_KINDS',
      message: `skipped ${total} object${total === 1 ? '' : 's'} of unsupported kinds (${parts.join(', ')})`,
    },
  ];
}

function processText(text: string, file: string, opts: LoadOptions, acc: Accum): void {
  const parsed = parseText(text, file);
  acc.diagnostics.push(...parsed.diagnostics);
  for (const d of parsed.docs) processDoc(d, opts, acc);
}

/** Parses, decodes, defaults, validates and lints one text. Synchronous (tests, built-in examples). */
export function parseManifestText(text: string, file: string, opts?: Partial<LoadOptions>): LoadResult {
  const o: LoadOptions = { ...DEFAULT_LOAD, ...(opts ?? {}) };
  const acc: Accum = { objects: [], diagnostics: [], skipped: new Map() };
  processText(text, file, o, acc);
  acc.diagnostics.push(...skippedNotice(acc.skipped));
  return { objects: acc.objects, diagnostics: acc.diagnostics };
}

/**
 * Loads `-f` paths (files, directories, `-`). I/O problems (missing path, file too large) throw KpfError; problems
 * in the content are returned as diagnostics, and the objects of every valid document are returned.
 */
export async function loadManifests(
  paths: string[],
  opts?: Partial<LoadOptions> & { stdin?: NodeJS.ReadableStream },
): Promise<LoadResult> {
  const { stdin, ...rest } = opts ?? {};
  const o: LoadOptions = { ...DEFAULT_LOAD, ...rest };
  const sources = await readSources(paths, { recursive: o.recursive, ...(stdin ? { stdin } : {}) });
  const acc: Accum = { objects: [], diagnostics: [], skipped: new Map() };
  for (const s of sources) processText(s.text, s.file, o, acc);
  acc.diagnostics.push(...skippedNotice(acc.skipped));
  return { objects: acc.objects, diagnostics: acc.diagnostics };
}
