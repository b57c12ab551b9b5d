/**
 * What `kpf probe` sends and how it reads the answers: the probe plan of a cluster (every source pod to every pod
 * and every Service port, per --ports entry; ICMP echo pod to pod), the observed truth table built from the
 * answers, the computed one (`kpf matrix`'s truthTable; the reference evaluator for ICMP) and the differences.
 */
import type { Cluster, Pod } from '../cluster/model.js';
import { isPolicyEndpoint, podKey } from '../cluster/model.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import { truthTable, type TruthMark, type TruthTable } from '../policy/matrix.js';
import { evaluate, isAllowed } from '../policy/reference.js';
import type { AgentResult } from './probe-agent.js';
import type { ProbeProto } from './packets.js';

export interface PortSpec {
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** One table of the report: a port and protocol, or ICMP echo. */
export interface TableKey {
  label: string;
  proto: ProbeProto;
  port?: number;
}

export interface PlannedProbe {
  id: number;
  table: string;
  /** row: `namespace/pod` */
  from: string;
  /** column: `namespace/pod` or `svc:namespace/name` */
  to: string;
  src: string;
  proto: ProbeProto;
  dst: string;
  port?: number;
}

export interface Plan {
  tables: TableKey[];
  /** source pods (rows) with their probing address */
  sources: { key: string; pod: Pod; ip: string }[];
  probes: PlannedProbe[];
}

export function tableLabel(s: PortSpec): string {
  return `${s.port}/${s.protocol}`;
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

export function planPods(cluster: Cluster): Pod[] {
  return cluster.pods.filter((p) => isPolicyEndpoint(p) && p.ips.length > 0);
}

/** The columns of a port's table: pods, then the Services that have the port (as kpf matrix shows them). */
function serviceColumns(cluster: Cluster, spec: PortSpec) {
  return cluster.services.filter((s) => s.clusterIPs.some((ip) => ip !== 'None') && s.ports.some((p) => p.port === spec.port && p.protocol === spec.protocol));
}

export function buildPlan(cluster: Cluster, ports: PortSpec[], opts: { icmp?: boolean } = {}): Plan {
  const pods = planPods(cluster);
  const tables: TableKey[] = ports.map((p) => ({ label: tableLabel(p), proto: p.protocol, port: p.port }));
  if (opts.icmp !== false) tables.push({ label: 'ICMP', proto: 'ICMP' });
  const sources = pods.map((pod) => ({ key: podKey(pod), pod, ip: pod.ips[0]! }));
  const probes: PlannedProbe[] = [];
  let id = 0;
  for (const t of tables) {
    for (const s of sources) {
      const fam = familyOf(s.ip);
      for (const dst of pods) {
        const dstIP = dst.ips.find((a) => familyOf(a) === fam);
        if (dstIP === undefined) continue;
        probes.push({ id: id++, table: t.label, from: s.key, to: podKey(dst), src: s.ip, proto: t.proto, dst: dstIP, ...(t.port !== undefined ? { port: t.port } : {}) });
      }
      if (t.proto === 'ICMP' || t.port === undefined) continue;
      for (const svc of serviceColumns(cluster, { port: t.port, protocol: t.proto as PortSpec['protocol'] })) {
        const vip = svc.clusterIPs.find((a) => a !== 'None' && familyOf(a) === fam);
        if (vip === undefined) continue;
        probes.push({ id: id++, table: t.label, from: s.key, to: `svc:${svc.namespace}/${svc.name}`, src: s.ip, proto: t.proto, dst: vip, port: t.port });
      }
    }
  }
  return { tables, sources, probes };
}

/** The computed truth table of one table of the plan (`kpf matrix`'s, Service columns limited to the port's). */
export function expectedTable(cluster: Cluster, t: TableKey, sem: SemanticsOptions = DEFAULT_SEMANTICS): TruthTable {
  if (t.proto !== 'ICMP') {
    const spec = { port: t.port!, protocol: t.proto as PortSpec['protocol'] };
    const tt = truthTable(cluster, { ...spec, includeServices: true, sem });
    const keep = new Set(serviceColumns(cluster, spec).map((s) => `svc:${s.namespace}/${s.name}`));
    tt.tos = tt.tos.filter((c) => !c.startsWith('svc:') || keep.has(c));
    const rows = new Set(planPods(cluster).map(podKey));
    tt.froms = tt.froms.filter((f) => rows.has(f));
    tt.tos = tt.tos.filter((c) => c.startsWith('svc:') || rows.has(c));
    return tt;
  }
  const pods = planPods(cluster);
  const values: Record<string, Record<string, TruthMark>> = {};
  for (const src of pods) {
    const fam = familyOf(src.ips[0]!);
    const row: Record<string, TruthMark> = {};
    for (const dst of pods) {
      const dstIP = dst.ips.find((a) => familyOf(a) === fam);
      if (dstIP === undefined) {
        row[podKey(dst)] = '?';
        continue;
      }
      const d = evaluate(cluster, { src: src.ips[0]!, dst: dstIP, protocol: fam === 4 ? 'ICMP' : 'ICMPv6', icmpType: fam === 4 ? 8 : 128, icmpCode: 0 }, sem);
      row[podKey(dst)] = isAllowed(d) ? '.' : 'X';
    }
    values[podKey(src)] = row;
  }
  return { froms: pods.map(podKey), tos: pods.map(podKey), values };
}

/** The observed truth table of one table: `.` answered, `X` not (or refused), `?` not probed / unsupported. */
export function observedTable(plan: Plan, t: TableKey, expected: TruthTable, results: Map<number, AgentResult>): TruthTable {
  const values: Record<string, Record<string, TruthMark>> = {};
  for (const f of expected.froms) {
    values[f] = {};
    for (const c of expected.tos) values[f]![c] = '?';
  }
  for (const p of plan.probes) {
    if (p.table !== t.label) continue;
    const r = results.get(p.id);
    const row = values[p.from];
    if (!row || !(p.to in row)) continue;
    row[p.to] = !r || r.result === 'unsupported' || r.result === 'error' ? '?' : r.result === 'reachable' ? '.' : 'X';
  }
  return { froms: [...expected.froms], tos: [...expected.tos], values };
}

export interface Difference {
  table: string;
  from: string;
  to: string;
  expected: TruthMark;
  observed: TruthMark;
  /** the probe's answer (SYN-ACK, RST, timeout, …) */
  how?: string;
}

/**
 * Cells where the observed table contradicts the computed one. Not differences: a cell either side could not
 * evaluate or probe (`?`), and a Service column computed `~` (some backends allowed): one probe reaches one backend,
 * so either observation fits.
 */
export function compareTables(table: string, expected: TruthTable, observed: TruthTable, howOf?: (from: string, to: string) => string | undefined): Difference[] {
  const out: Difference[] = [];
  for (const f of expected.froms) {
    for (const c of expected.tos) {
      const e = expected.values[f]?.[c] ?? '?';
      const o = observed.values[f]?.[c] ?? '?';
      if (e === '?' || o === '?' || e === '~' || e === o) continue;
      const how = howOf?.(f, c);
      out.push({ table, from: f, to: c, expected: e, observed: o, ...(how !== undefined ? { how } : {}) });
    }
  }
  return out;
}

/**
 * The two tables side by side, aligned: computed on the left, observed on the right, a `!` after every observed
 * cell that contradicts the computed one.
 */
export function formatSideBySide(expected: TruthTable, observed: TruthTable, diffs: Difference[]): string {
  const bad = new Set(diffs.map((d) => `${d.from}\u0000${d.to}`));
  const left = [['-', ...expected.tos], ...expected.froms.map((f) => [f, ...expected.tos.map((c) => expected.values[f]?.[c] ?? '?')])];
  const right = [['-', ...observed.tos], ...observed.froms.map((f) => [f, ...observed.tos.map((c) => (observed.values[f]?.[c] ?? '?') + (bad.has(`${f}\u0000${c}`) ? '!' : ''))])];
  const widths = (rows: string[][]): number[] => rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lw = widths(left);
  const rw = widths(right);
  const fmt = (r: string[], w: number[]): string => r.map((c, i) => c.padEnd(w[i]! + 1)).join('');
  const lwidth = lw.reduce((a, b) => a + b + 1, 0);
  const lines = [`${'computed (kpf matrix)'.padEnd(lwidth)} | observed (probe)`];
  for (let i = 0; i < left.length; i++) lines.push(`${fmt(left[i]!, lw)} | ${fmt(right[i]!, rw).trimEnd()}`);
  return lines.join('\n');
}
