/**
 * `kpf get pods|services|networkpolicies|namespaces [-n NS | -A] [-l SELECTOR] [-o wide|json|yaml|name]`:
 * the cluster model as kpf sees it — IPs (given or allocated), labels, which policies select each pod — in
 * kubectl's table shapes, and as Kubernetes objects that kpf itself can read back with -f.
 */
import { UsageError } from '../../core/errors.js';
import type { Cluster, Namespace, Pod, Service } from '../../cluster/model.js';
import { isPolicyEndpoint } from '../../cluster/model.js';
import { formatSelector, matchesSelector, parseSelectorString } from '../../cluster/selectors.js';
import { serviceBackends } from '../../cluster/services.js';
import type { LabelSelector, NetworkPolicyObject } from '../../manifests/types.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, parse } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { asList, outputFormat, toJson, toYaml } from '../output.js';
import { formatLabels, formatTable } from '../table.js';

export const HELP = `Show the cluster model as kpf sees it.

Usage: kpf get (pods|services|networkpolicies|namespaces) -f FILE|DIR... [-R] [-n NS | -A] [-l SELECTOR] [-o wide|json|yaml|name]

Resources: pods (po), services (svc), networkpolicies (netpol), namespaces (ns); several may be given
comma-separated (pods,svc). Objects printed with -o yaml|json can be read back with -f.
`;

type Kind = 'pods' | 'services' | 'networkpolicies' | 'namespaces';
const ALIASES: Record<string, Kind> = {
  po: 'pods', pod: 'pods', pods: 'pods',
  svc: 'services', service: 'services', services: 'services',
  netpol: 'networkpolicies', networkpolicy: 'networkpolicies', networkpolicies: 'networkpolicies',
  ns: 'namespaces', namespace: 'namespaces', namespaces: 'namespaces',
};

export function policiesSelecting(c: Cluster, p: Pod): NetworkPolicyObject[] {
  if (!isPolicyEndpoint(p)) return [];
  return c.policies.filter((np) => np.namespace === p.namespace && matchesSelector(np.podSelector, p.labels));
}

function isolation(c: Cluster, p: Pod): string {
  const sel = policiesSelecting(c, p);
  const dirs: string[] = [];
  if (sel.some((np) => np.policyTypes.includes('Ingress'))) dirs.push('Ingress');
  if (sel.some((np) => np.policyTypes.includes('Egress'))) dirs.push('Egress');
  return dirs.join(',') || 'none';
}

function selectorText(s: LabelSelector): string {
  const t = formatSelector(s);
  return t === '' ? '<none>' : t;
}

function portsText(s: Service): string {
  return s.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

// ---- Kubernetes-shaped objects (readable by kpf -f) ----

function podObject(p: Pod): Record<string, unknown> {
  const containers = [
    {
      name: p.name.slice(0, 63),
      image: 'kpf/placeholder',
      ...(p.ports.length ? { ports: p.ports.map((cp) => ({ ...(cp.name ? { name: cp.name } : {}), containerPort: cp.containerPort, protocol: cp.protocol })) } : {}),
    },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels } },
    spec: { nodeName: p.nodeName, ...(p.hostNetwork ? { hostNetwork: true } : {}), containers },
    status: {
      phase: p.phase,
      ...(p.ips.length ? { podIP: p.ips[0], podIPs: p.ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

function serviceObject(s: Service): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      type: s.type,
      ...(s.clusterIPs.length ? { clusterIP: s.clusterIPs[0], clusterIPs: [...s.clusterIPs] } : {}),
      ...(s.selector ? { selector: { ...s.selector } } : {}),
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort })),
    },
  };
}

function selectorObject(s: LabelSelector): Record<string, unknown> {
  return {
    ...(Object.keys(s.matchLabels).length ? { matchLabels: { ...s.matchLabels } } : {}),
    ...(s.matchExpressions.length ? { matchExpressions: s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length ? { values: [...e.values] } : {}) })) } : {}),
  };
}

function policyObject(np: NetworkPolicyObject): Record<string, unknown> {
  const rules = (rs: NetworkPolicyObject['ingress'], peerKey: 'from' | 'to') =>
    rs.map((r) => ({
      ...(r.peers.length
        ? {
            [peerKey]: r.peers.map((p) => ({
              ...(p.podSelector ? { podSelector: selectorObject(p.podSelector) } : {}),
              ...(p.namespaceSelector ? { namespaceSelector: selectorObject(p.namespaceSelector) } : {}),
              ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except.length ? { except: [...p.ipBlock.except] } : {}) } } : {}),
            })),
          }
        : {}),
      ...(r.ports.length
        ? { ports: r.ports.map((pp) => ({ protocol: pp.protocol, ...(pp.port !== undefined ? { port: pp.port } : {}), ...(pp.endPort !== undefined ? { endPort: pp.endPort } : {}) })) }
        : {}),
    }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: np.name, namespace: np.namespace, ...(Object.keys(np.labels).length ? { labels: { ...np.labels } } : {}) },
    spec: {
      podSelector: selectorObject(np.podSelector),
      policyTypes: [...np.policyTypes],
      ...(np.ingress.length ? { ingress: rules(np.ingress, 'from') } : {}),
      ...(np.egress.length ? { egress: rules(np.egress, 'to') } : {}),
    },
  };
}

function namespaceObject(n: Namespace): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: { ...n.labels } } };
}

interface Rendered {
  headers: string[];
  wideHeaders: string[];
  rows: Array<{ ns: string; cells: string[]; wide: string[]; object: Record<string, unknown>; name: string }>;
}

function render(c: Cluster, kind: Kind, inNs: (ns: string) => boolean, sel: LabelSelector | null): Rendered {
  const lab = (labels: Readonly<Record<string, string>>) => !sel || matchesSelector(sel, labels);
  switch (kind) {
    case 'pods':
      return {
        headers: ['NAME', 'STATUS', 'IP', 'NODE', 'ISOLATED', 'POLICIES'],
        wideHeaders: ['IP-SOURCE', 'LABELS', 'ORIGIN'],
        rows: c.pods
          .filter((p) => inNs(p.namespace) && lab(p.labels))
          .map((p) => ({
            ns: p.namespace,
            name: `pod/${p.name}`,
            cells: [
              p.name,
              p.phase,
              p.ips.length ? p.ips.join(',') : '<none>',
              p.nodeName || '<none>',
              p.hostNetwork ? 'hostNetwork' : isolation(c, p),
              policiesSelecting(c, p).map((np) => np.name).join(',') || '<none>',
            ],
            wide: [p.ipSource, formatLabels(p.labels), p.derivedFrom ?? p.origin],
            object: podObject(p),
          })),
      };
    case 'services':
      return {
        headers: ['NAME', 'TYPE', 'CLUSTER-IP', 'PORT(S)', 'ENDPOINTS'],
        wideHeaders: ['SELECTOR'],
        rows: c.services
          .filter((s) => inNs(s.namespace))
          .map((s) => ({
            ns: s.namespace,
            name: `service/${s.name}`,
            cells: [
              s.name,
              s.type,
              s.clusterIPs.length ? s.clusterIPs.join(',') : 'None',
              portsText(s) || '<none>',
              serviceBackends(c, s).map((p) => p.ips[0]).join(',') || '<none>',
            ],
            wide: [s.selector ? formatLabels(s.selector) : '<none>'],
            object: serviceObject(s),
          })),
      };
    case 'networkpolicies':
      return {
        headers: ['NAME', 'POD-SELECTOR', 'POLICY-TYPES', 'PODS'],
        wideHeaders: ['INGRESS-RULES', 'EGRESS-RULES'],
        rows: c.policies
          .filter((np) => inNs(np.namespace) && lab(np.labels))
          .map((np) => ({
            ns: np.namespace,
            name: `networkpolicy.networking.k8s.io/${np.name}`,
            cells: [
              np.name,
              selectorText(np.podSelector),
              np.policyTypes.join(','),
              String(c.pods.filter((p) => isPolicyEndpoint(p) && p.namespace === np.namespace && matchesSelector(np.podSelector, p.labels)).length),
            ],
            wide: [String(np.ingress.length), String(np.egress.length)],
            object: policyObject(np),
          })),
      };
    case 'namespaces':
      return {
        headers: ['NAME', 'STATUS', 'PODS'],
        wideHeaders: ['LABELS'],
        rows: [...c.namespaces.values()]
          .filter((n) => lab(n.labels))
          .map((n) => ({
            ns: '',
            name: `namespace/${n.name}`,
            cells: [n.name, 'Active', String(c.pods.filter((p) => p.namespace === n.name).length)],
            wide: [formatLabels(n.labels)],
            object: namespaceObject(n),
          })),
      };
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LOAD_OPTIONS,
    'all-namespaces': { type: 'boolean', short: 'A' },
    selector: { type: 'string', short: 'l' },
  });
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('get needs one resource type, e.g. kpf get pods -f manifests/');
  const kinds = positionals[0]!.split(',').map((k) => {
    const kind = ALIASES[k.toLowerCase()];
    if (!kind) throw new UsageError(`the server doesn't have a resource type "${k}" (kpf knows pods, services, networkpolicies, namespaces)`);
    return kind;
  });
  const fmt = outputFormat(v['output'], ['table', 'wide', 'json', 'yaml', 'name']);
  const sel = typeof v['selector'] === 'string' ? parseSelectorString(v['selector']) : null;
  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, false);
  const all = v['all-namespaces'] === true;
  const ns = typeof v['namespace'] === 'string' ? v['namespace'] : 'default';
  const inNs = (n: string) => all || n === ns;
  const parts = kinds.map((k) => ({ kind: k, r: render(loaded.cluster, k, k === 'namespaces' ? () => true : inNs, sel) }));
  const objects = parts.flatMap((p) => p.r.rows.map((r) => r.object));
  if (fmt === 'json' || fmt === 'yaml') {
    // kubectl prints a List for every listing, even of one object
    const doc = asList(objects);
    io.stdout.write(fmt === 'json' ? toJson(doc) : toYaml(doc));
    return 0;
  }
  if (fmt === 'name') {
    for (const p of parts) for (const r of p.r.rows) io.stdout.write(`${r.name}\n`);
    return 0;
  }
  let first = true;
  for (const { kind, r } of parts) {
    if (r.rows.length === 0) {
      if (kinds.length === 1) io.stderr.write(all || kind === 'namespaces' ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
      continue;
    }
    if (!first) io.stdout.write('\n');
    first = false;
    const withNs = all && kind !== 'namespaces';
    const headers = [...(withNs ? ['NAMESPACE'] : []), ...r.headers, ...(fmt === 'wide' ? r.wideHeaders : [])];
    const rows = r.rows.map((row) => [...(withNs ? [row.ns] : []), ...row.cells, ...(fmt === 'wide' ? row.wide : [])]);
    io.stdout.write(formatTable(headers, rows));
  }
  return 0;
}
