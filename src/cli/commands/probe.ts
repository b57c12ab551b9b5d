/**
 * `kpf probe -f MANIFESTS… [--ports 80/TCP,53/UDP,…] [-o table|json]`: reachability as the packets find it. From
 * inside every pod's namespace of a running `kpf live` (started with the same manifests), raw-socket probes go to
 * every pod and every Service port; the observed truth table is printed beside the one `kpf matrix` computes, and
 * every difference is flagged.
 */
import { KpfError, UsageError } from '../../core/errors.js';
import { listNetns, ownedByLiveProcess, podNetnsName } from '../../live/netns.js';
import { buildPlan, compareTables, expectedTable, formatSideBySide, observedTable, type Difference, type PortSpec } from '../../probe/plan.js';
import { loadRawSocket } from '../../probe/probe-agent.js';
import { runPlan } from '../../probe/run.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, parsePortSpec, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { outputFormat, toJson } from '../output.js';

export const HELP = `Probe reachability for real: from inside every pod's namespace of a running kpf live, send TCP SYN, UDP,
SCTP INIT and ICMP echo to every pod and Service port, and compare what answers with kpf matrix's truth table.

Usage: kpf probe -f FILE|DIR...|--lab [--ports 80/TCP,53/UDP,...] [--no-icmp] [--timeout MS] [-o table|json]

Start kpf live with the same manifests first (kpf live -f ...); probe runs its prober inside each pod's namespace
(ip netns exec kpf-<hash> node probe-agent.js) through raw sockets (the optional package raw-socket). Needs root.

What counts as reachable (an answer from the destination's kernel is enough: nothing needs to listen):
  TCP   the SYN is answered by SYN-ACK or RST
  UDP   a UDP datagram comes back, or ICMP port unreachable (the destination's kernel got the datagram)
  SCTP  the INIT is answered by INIT-ACK or ABORT, or ICMP protocol unreachable (a kernel without SCTP)
  ICMP  echo reply
Unreachable: no answer within --timeout (probes are re-sent at 1/3 and 2/3 of it), or an ICMP destination
unreachable (e.g. administratively prohibited from kpf live --reject). IPv4 only; IPv6 cells show ?.

  --ports LIST    comma-separated PORT/PROTOCOL list (default 80/TCP)
  --no-icmp       no ICMP echo table
  --timeout MS    per prober, for all its probes (default 1500, 100-30000)
  -o table|json   side-by-side tables (default), or JSON with every probe's answer
Cells: . reachable, X not, ? not probed, ~ (computed) some backends of the Service allowed; observed cells that
contradict the computed ones are marked ! and listed.
Exit: 0 when observed and computed agree; 3 when they differ; 1 when probing could not run (kpf live not running
for these manifests, raw-socket missing, not root).
`;

export const PROBE_OPTIONS = {
  ports: { type: 'string' },
  'no-icmp': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export function parsePorts(s: string): PortSpec[] {
  const out: PortSpec[] = [];
  for (const part of s.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const ps = parsePortSpec(part);
    if (typeof ps.port !== 'number') throw new UsageError(`--ports needs numeric ports, got "${part}"`);
    if (!out.some((o) => o.port === ps.port && o.protocol === ps.protocol)) out.push({ port: ps.port, protocol: ps.protocol });
  }
  if (out.length === 0) throw new UsageError('--ports is empty');
  return out;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS, ...PROBE_OPTIONS }, false);
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['table', 'json']);
  const ports = parsePorts(typeof v['ports'] === 'string' ? v['ports'] : '80/TCP');
  const timeoutMs = typeof v['timeout'] === 'string' ? Number(v['timeout']) : 1500;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30_000) throw new UsageError(`invalid --timeout "${String(v['timeout'])}" (100-30000 ms)`);
  const sem = semanticsFrom(v);
  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, false);
  const cluster = loaded.cluster;
  const plan = buildPlan(cluster, ports, { icmp: v['no-icmp'] !== true });
  if (plan.sources.length === 0) {
    io.stderr.write('No pods found\n');
    return 0;
  }

  // the namespaces of a running kpf live
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new KpfError('KPF_ERR_PROBE', 'kpf probe needs root (it enters the namespaces of kpf live): run it with sudo');
  const present = new Set(listNetns());
  const nsOf = new Map(plan.sources.map((s) => [s.key, podNetnsName(s.pod.namespace, s.pod.name)]));
  const missing = plan.sources.filter((s) => !present.has(nsOf.get(s.key)!) || ownedByLiveProcess(nsOf.get(s.key)!) === null);
  if (missing.length === plan.sources.length) {
    throw new KpfError('KPF_ERR_PROBE', `kpf live is not running with these manifests (no live namespace for ${missing[0]!.key}, ${nsOf.get(missing[0]!.key)}): start \`kpf live -f ...\` with the same manifests first`);
  }
  if (missing.length) {
    throw new KpfError('KPF_ERR_PROBE', `kpf live runs, but not with these manifests: no live namespace for ${missing.map((s) => `${s.key} (${nsOf.get(s.key)})`).join(', ')}`);
  }
  try {
    loadRawSocket();
  } catch (e) {
    throw new KpfError('KPF_ERR_PROBE', e instanceof Error ? e.message : String(e));
  }

  const results = await runPlan(plan, (k) => nsOf.get(k)!, { timeoutMs });
  const report = plan.tables.map((t) => {
    const expected = expectedTable(cluster, t, sem);
    const observed = observedTable(plan, t, expected, results);
    const howOf = (f: string, c: string): string | undefined => {
      const p = plan.probes.find((x) => x.table === t.label && x.from === f && x.to === c);
      return p ? results.get(p.id)?.how : undefined;
    };
    return { table: t, expected, observed, differences: compareTables(t.label, expected, observed, howOf) };
  });
  const diffs: Difference[] = report.flatMap((r) => r.differences);
  if (fmt === 'json') {
    io.stdout.write(
      toJson({
        semantics: describeSemantics(sem),
        timeoutMs,
        tables: report.map((r) => ({ table: r.table.label, protocol: r.table.proto, ...(r.table.port !== undefined ? { port: r.table.port } : {}), froms: r.expected.froms, tos: r.expected.tos, computed: r.expected.values, observed: r.observed.values, differences: r.differences })),
        probes: plan.probes.map((p) => ({ ...p, ...(results.get(p.id) ? { result: results.get(p.id)!.result, how: results.get(p.id)!.how, ...(results.get(p.id)!.from ? { answered_by: results.get(p.id)!.from } : {}) } : { result: 'not run' }) })),
        differences: diffs.length,
      }),
    );
  } else {
    for (const r of report) {
      io.stdout.write(`Reachability on ${r.table.label} (rows: from, columns: to; . reachable, X not, ~ some backends, ? not probed)\n`);
      io.stdout.write(formatSideBySide(r.expected, r.observed, r.differences) + '\n');
      for (const d of r.differences) io.stdout.write(`  ! ${d.from} -> ${d.to}: computed ${d.expected}, observed ${d.observed}${d.how ? ` (${d.how})` : ''}\n`);
      io.stdout.write('\n');
    }
    io.stdout.write(diffs.length ? `${diffs.length} difference${diffs.length === 1 ? '' : 's'} between the computed and the observed reachability\n` : `observed reachability matches kpf matrix (${plan.probes.length} probes)\n`);
  }
  return diffs.length ? 3 : 0;
}
