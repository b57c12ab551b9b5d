/**
 * `kpf compile -f … [-o table|json] [--pod NS/POD]`: what the dataplane holds after compiling the policies —
 * endpoints, identities, the ipcache and each pod's policy map in the shape of `cilium-dbg bpf policy get`.
 */
import { UsageError } from '../../core/errors.js';
import { formatCIDR } from '../../core/ip.js';
import { compile, DIR_INGRESS, PROTO_ANY, type Compiled, type MapEntry } from '../../policy/compile.js';
import { ANY_IDENTITY, type Identity } from '../../policy/identity.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { outputFormat, toJson } from '../output.js';
import { formatTable } from '../table.js';

export const HELP = `Compile the policies and show what the dataplane holds.

Usage: kpf compile -f FILE|DIR...|--lab [--pod NS/POD] [--section endpoints,identities,ipcache,policy] [-o table|json]
       [--policy-map-max N] [semantics switches]

The policy map of each endpoint is printed as \`cilium-dbg bpf policy get\` prints it, with the rule each entry
was derived from. PREFIX counts the matched bits of protocol (8) and port (16): 24 is one port, 8 a protocol
with any port, 0 anything. Port ranges appear as power-of-two blocks.
`;

const PROTO_NAME: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

/** Labels of a peer identity as the LABELS column shows them. */
export function identityLabelText(c: Compiled, id: number): string {
  if (id === ANY_IDENTITY) return 'ANY';
  const ident = c.identityById.get(id);
  if (!ident) return `identity ${id}`;
  return shortLabels(ident).join(',');
}

function shortLabels(i: Identity): string[] {
  // the namespace labels projected onto the identity are long and repeat the namespace: leave them to -o json
  return i.labels.filter((l) => !l.startsWith('k8s:io.cilium.k8s.namespace.labels.'));
}

export function entryPortText(e: Pick<MapEntry, 'proto' | 'prefixLen' | 'port'>): string {
  if (e.proto === PROTO_ANY) return 'ANY';
  const proto = PROTO_NAME[e.proto] ?? String(e.proto);
  if (e.prefixLen === 0) return `ANY/${proto}`;
  const size = 1 << (16 - e.prefixLen);
  return size === 1 ? `${e.port}/${proto}` : `${e.port}-${e.port + size - 1}/${proto}`;
}

export function entryPrefix(e: Pick<MapEntry, 'proto' | 'prefixLen'>): number {
  return e.proto === PROTO_ANY ? 0 : 8 + e.prefixLen;
}

function derivedFrom(c: Compiled, e: MapEntry): string {
  return e.rows
    .map((r) => {
      const row = c.rows[r]!;
      return `${c.policyNames[row.policy]}#${row.dir === DIR_INGRESS ? 'ingress' : 'egress'}[${row.rule}]`;
    })
    .filter((x, i, a) => a.indexOf(x) === i)
    .join(',');
}

function jsonOf(c: Compiled, endpoints: Compiled['endpoints']) {
  return {
    revision: c.revision,
    semantics: describeSemantics(c.semantics),
    stats: { ...c.stats, compileMs: Math.round(c.stats.compileMs * 1000) / 1000 },
    endpoints: endpoints.map((ep) => ({
      id: ep.id,
      pod: ep.key,
      ips: ep.ips,
      identities: ep.identities,
      node: c.nodes[ep.node]?.name ?? null,
      isolated: { ingress: ep.isolatedIngress, egress: ep.isolatedEgress },
      selectedBy: ep.selectedBy.map((i) => c.policyNames[i]),
      policyMap: c.entries
        .filter((e) => e.endpoint === ep.id)
        .map((e) => ({
          policy: 'Allow',
          direction: e.dir === DIR_INGRESS ? 'Ingress' : 'Egress',
          identity: e.peer,
          labels: e.peer === ANY_IDENTITY ? ['ANY'] : (c.identityById.get(e.peer)?.labels ?? []),
          portProto: entryPortText(e),
          prefix: entryPrefix(e),
          derivedFrom: e.rows.map((r) => {
            const row = c.rows[r]!;
            return { policy: c.policyNames[row.policy], direction: row.dir === DIR_INGRESS ? 'ingress' : 'egress', rule: row.rule };
          }),
        })),
    })),
    identities: c.identities.map((i) => ({ id: i.id, kind: i.kind, labels: i.labels })),
    ipcache: c.ipcache.map((e) => ({ prefix: formatCIDR(e.cidr), identity: e.identity, endpoint: e.endpoint || null, source: e.source })),
    services: c.frontends.map((f) => ({ service: f.service, frontend: `${f.ip}:${f.port}/${PROTO_NAME[f.proto]}`, backends: f.backends.map((b) => `${b.ip}:${b.port}`) })),
  };
}

/** The policy map of one endpoint as `cilium-dbg bpf policy get` prints it. */
export function formatPolicyMap(c: Compiled, ep: Compiled['endpoints'][number], mapMax: number): string {
  const entries = c.entries.filter((e) => e.endpoint === ep.id);
  const rows: string[][] = [];
  const defaultRow = (dir: string) => ['Allow', dir, 'ANY', 'ANY', '0', '0', '0', `(not isolated for ${dir.toLowerCase()}: default allow)`];
  if (!ep.isolatedIngress) rows.push(defaultRow('Ingress'));
  if (!ep.isolatedEgress) rows.push(defaultRow('Egress'));
  const sorted = [...entries].sort((a, b) => a.dir - b.dir || a.peer - b.peer || a.proto - b.proto || a.port - b.port || b.prefixLen - a.prefixLen);
  for (const e of sorted) {
    rows.push(['Allow', e.dir === DIR_INGRESS ? 'Ingress' : 'Egress', identityLabelText(c, e.peer), entryPortText(e), '0', '0', String(entryPrefix(e)), derivedFrom(c, e)]);
  }
  const head = `Endpoint: ${ep.key}   ID: ${ep.id}   Identity: ${ep.identities.join(',')}   Revision: ${c.revision}   Entries: ${entries.length}/${mapMax}\n`;
  const iso: string[] = [];
  if (ep.isolatedIngress && !entries.some((e) => e.dir === DIR_INGRESS)) iso.push('ingress: isolated, no entry (default deny)');
  if (ep.isolatedEgress && !entries.some((e) => e.dir !== DIR_INGRESS)) iso.push('egress: isolated, no entry (default deny)');
  return (
    head +
    (iso.length ? iso.map((s) => `  ${s}\n`).join('') : '') +
    '\n' +
    formatTable(['POLICY', 'DIRECTION', 'LABELS (source:key[=value])', 'PORT/PROTO', 'BYTES', 'PACKETS', 'PREFIX', 'DERIVED FROM'], rows)
  );
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(
    argv,
    { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS, pod: { type: 'string' }, section: { type: 'string' }, 'policy-map-max': { type: 'string' } },
    false,
  );
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['table', 'json']);
  const sem = semanticsFrom(v);
  let mapMax = 16384;
  if (typeof v['policy-map-max'] === 'string') {
    if (!/^\d+$/.test(v['policy-map-max']) || Number(v['policy-map-max']) < 1) throw new UsageError(`invalid --policy-map-max "${v['policy-map-max']}"`);
    mapMax = Number(v['policy-map-max']);
  }
  const sections = new Set((typeof v['section'] === 'string' ? v['section'] : 'endpoints,identities,ipcache,services,policy').split(','));
  for (const s of sections) {
    if (!['endpoints', 'identities', 'ipcache', 'services', 'policy'].includes(s)) throw new UsageError(`unknown --section "${s}" (endpoints, identities, ipcache, services, policy)`);
  }
  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, false);
  const c = compile(loaded.cluster, { semantics: sem, policyMapMax: mapMax });
  let endpoints = c.endpoints;
  if (typeof v['pod'] === 'string') {
    const key = v['pod'].includes('/') ? v['pod'] : `${typeof v['namespace'] === 'string' ? v['namespace'] : 'default'}/${v['pod']}`;
    endpoints = c.endpoints.filter((e) => e.key === key);
    if (endpoints.length === 0) throw new UsageError(`no endpoint for pod ${key} (only live, non-hostNetwork pods with an IP are endpoints)`);
  }
  if (fmt === 'json') {
    io.stdout.write(toJson(jsonOf(c, endpoints)));
    return 0;
  }
  const w = (s: string) => io.stdout.write(s);
  w(`Revision ${c.revision}: ${c.stats.identities} identities, ${c.endpoints.length} endpoints, ${c.stats.rows} rule rows, ${c.stats.entries} policy-map entries (largest map ${c.stats.maxEntriesPerEndpoint}), compiled in ${c.stats.compileMs.toFixed(1)} ms\n\n`);
  if (sections.has('endpoints') && v['pod'] === undefined) {
    w(
      formatTable(
        ['ENDPOINT', 'POD', 'IPV4/IPV6', 'IDENTITY', 'INGRESS ENFORCED', 'EGRESS ENFORCED', 'POLICIES'],
        c.endpoints.map((e) => [String(e.id), e.key, e.ips.join(','), e.identities.join(','), e.isolatedIngress ? 'Enabled' : 'Disabled', e.isolatedEgress ? 'Enabled' : 'Disabled', e.selectedBy.map((i) => c.policyNames[i]).join(',') || '<none>']),
      ) + '\n',
    );
  }
  if (sections.has('identities') && v['pod'] === undefined) {
    w(formatTable(['ID', 'KIND', 'LABELS'], c.identities.map((i) => [String(i.id), i.kind, shortLabels(i).join(',')])) + '\n');
  }
  if (sections.has('ipcache') && v['pod'] === undefined) {
    w(formatTable(['IP PREFIX/ADDRESS', 'IDENTITY', 'SOURCE'], c.ipcache.map((e) => [formatCIDR(e.cidr), String(e.identity), e.source])) + '\n');
  }
  if (sections.has('services') && v['pod'] === undefined && c.frontends.length) {
    w(formatTable(['FRONTEND', 'SERVICE', 'BACKENDS'], c.frontends.map((f) => [`${f.ip}:${f.port}/${PROTO_NAME[f.proto]}`, f.service, f.backends.map((b) => `${b.ip}:${b.port}`).join(',') || '<none>'])) + '\n');
  }
  if (sections.has('policy')) for (const ep of endpoints) w(formatPolicyMap(c, ep, mapMax) + '\n');
  return 0;
}
