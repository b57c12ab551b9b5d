/**
 * Truth tables (reachability matrices) in the shape of the upstream e2e network policy tests
 * (kubernetes/kubernetes test/e2e/network/netpol/truthtable.go, `PrettyPrint`): one row per source pod, one column
 * per destination, computed with the reference evaluator.
 *
 * Text format (tab-separated, one line per row, no trailing newline):
 *
 *   -      x/a  x/b  svc:x/web
 *   x/a    .    X    ~
 *   x/b    .    .    .
 *
 * Marks: `.` allowed (ALLOW or BYPASS), `X` denied (any DROP), `?` not evaluated (the destination has no address of
 * the source's family). Service columns (`svc:namespace/name`, only with `includeServices`) are evaluated once per
 * backend of the Service port (DNAT forced to that backend): `.` every backend allowed, `X` none (or no backend, or the
 * port is not a port of the Service), `~` some but not all — a mark upstream does not have.
 *
 * Ports are numeric only: `port` is the destination port of every probe (the Service port for Service columns);
 * named ports of policies still resolve on each destination pod as usual.
 */
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import type { Cluster, Pod, Service } from '../cluster/model.js';
import { isPolicyEndpoint, podKey } from '../cluster/model.js';
import { evaluate, isAllowed, serviceBackendsForPort } from './reference.js';
import type { Decision } from './types.js';

export type TruthMark = '.' | 'X' | '~' | '?';

export interface TruthTable {
  /** row labels: `namespace/pod` */
  froms: string[];
  /** column labels: `namespace/pod`, then `svc:namespace/name` */
  tos: string[];
  /** values[from][to] */
  values: Record<string, Record<string, TruthMark>>;
  /** probe port and protocol (absent in parsed tables) */
  port?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface TruthTableOptions {
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** only pods (and Services) of these namespaces; default every namespace */
  namespaces?: string[];
  /** add one column per Service with a ClusterIP */
  includeServices?: boolean;
  sem?: SemanticsOptions;
  /** source port of every probe (default 40000); only matters for the Service backend hash */
  srcPort?: number;
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** Source pods / destination pods of a table: live policy endpoints in the namespaces, in cluster order. */
function tablePods(cluster: Cluster, namespaces?: string[]): Pod[] {
  return cluster.pods.filter((p) => isPolicyEndpoint(p) && (!namespaces || namespaces.includes(p.namespace)));
}

function mark(d: Decision): TruthMark {
  return isAllowed(d) ? '.' : 'X';
}

/** Computes the truth table of `cluster` for one port and protocol. */
export function truthTable(cluster: Cluster, opts: TruthTableOptions): TruthTable {
  const sem = opts.sem ?? DEFAULT_SEMANTICS;
  const srcPort = opts.srcPort ?? 40000;
  const pods = tablePods(cluster, opts.namespaces);
  const services: Service[] = opts.includeServices
    ? cluster.services.filter((s) => s.clusterIPs.some((ip) => ip !== 'None') && (!opts.namespaces || opts.namespaces.includes(s.namespace)))
    : [];
  const froms = pods.map(podKey);
  const tos = [...pods.map(podKey), ...services.map((s) => `svc:${s.namespace}/${s.name}`)];
  const values: Record<string, Record<string, TruthMark>> = {};
  for (const src of pods) {
    const srcIP = src.ips[0]!;
    const fam = familyOf(srcIP);
    const row: Record<string, TruthMark> = {};
    for (const dst of pods) {
      const dstIP = dst.ips.find((ip) => familyOf(ip) === fam);
      row[podKey(dst)] =
        dstIP === undefined
          ? '?'
          : mark(evaluate(cluster, { src: srcIP, dst: dstIP, protocol: opts.protocol, srcPort, dstPort: opts.port }, sem));
    }
    for (const svc of services) {
      row[`svc:${svc.namespace}/${svc.name}`] = serviceMark(cluster, srcIP, svc, opts, srcPort, sem);
    }
    values[podKey(src)] = row;
  }
  return { froms, tos, values, port: opts.port, protocol: opts.protocol };
}

function serviceMark(
  cluster: Cluster,
  srcIP: string,
  svc: Service,
  opts: TruthTableOptions,
  srcPort: number,
  sem: SemanticsOptions,
): TruthMark {
  const fam = familyOf(srcIP);
  const vip = svc.clusterIPs.find((ip) => ip !== 'None' && familyOf(ip) === fam);
  if (vip === undefined) return '?';
  const flow = { src: srcIP, dst: vip, protocol: opts.protocol, srcPort, dstPort: opts.port } as const;
  const sp = svc.ports.find((p) => p.protocol === opts.protocol && p.port === opts.port);
  const backends = sp && sem.serviceDnat === 'on' ? serviceBackendsForPort(cluster, svc, sp, fam) : [];
  if (backends.length === 0) return mark(evaluate(cluster, flow, sem)); // DROP (no backend / port), or DNAT off
  let allowed = 0;
  for (const b of backends) if (isAllowed(evaluate(cluster, flow, sem, { backend: podKey(b.pod) }))) allowed++;
  return allowed === backends.length ? '.' : allowed === 0 ? 'X' : '~';
}

/** The upstream PrettyPrint text: header `-` then the destinations, one row per source, tab-separated. */
export function formatTruthTable(t: TruthTable, indent = ''): string {
  const lines = [indent + ['-', ...t.tos].join('\t')];
  for (const from of t.froms) {
    const row = t.values[from] ?? {};
    lines.push(indent + [from, ...t.tos.map((to) => row[to] ?? '?')].join('\t'));
  }
  return lines.join('\n');
}

/**
 * Parses the text of {@link formatTruthTable}. Cells may be separated by tabs or runs of spaces; blank lines and
 * surrounding indentation are ignored.
 * @throws Error on a ragged row or an unknown mark
 */
export function parseTruthTable(text: string): TruthTable {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('empty truth table');
  const cells = (l: string): string[] => l.split(/[\t ]+/);
  const header = cells(lines[0]!);
  if (header[0] !== '-') throw new Error(`truth table header must start with "-": ${lines[0]}`);
  const tos = header.slice(1);
  const froms: string[] = [];
  const values: Record<string, Record<string, TruthMark>> = {};
  for (const line of lines.slice(1)) {
    const [from, ...marks] = cells(line);
    if (marks.length !== tos.length) throw new Error(`row ${from} has ${marks.length} cells, header has ${tos.length}`);
    const row: Record<string, TruthMark> = {};
    marks.forEach((m, i) => {
      if (m !== '.' && m !== 'X' && m !== '~' && m !== '?') throw new Error(`row ${from}: unknown mark ${m}`);
      row[tos[i]!] = m;
    });
    froms.push(from!);
    values[from!] = row;
  }
  return { froms, tos, values };
}

/** Cells where two tables differ, as `from -> to: expected E, got G` lines (empty when equal, labels included). */
export function diffTruthTables(expected: TruthTable, actual: TruthTable): string[] {
  const out: string[] = [];
  if (expected.froms.join('\t') !== actual.froms.join('\t')) out.push(`rows differ: ${expected.froms.join(',')} vs ${actual.froms.join(',')}`);
  if (expected.tos.join('\t') !== actual.tos.join('\t')) out.push(`columns differ: ${expected.tos.join(',')} vs ${actual.tos.join(',')}`);
  for (const f of expected.froms) {
    for (const t of expected.tos) {
      const e = expected.values[f]?.[t];
      const a = actual.values[f]?.[t];
      if (e !== a) out.push(`${f} -> ${t}: expected ${e ?? 'none'}, got ${a ?? 'none'}`);
    }
  }
  return out;
}
