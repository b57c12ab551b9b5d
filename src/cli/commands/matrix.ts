/**
 * `kpf matrix -f … [--port 80/TCP] [-n NS] [-o table|e2e|json]`: the reachability truth table of every pod (rows,
 * sources) to every pod and Service (columns, destinations), in the format of the upstream e2e network-policy
 * tests: `.` allowed, `X` denied, `~` some but not all backends of a Service allowed.
 */
import { UsageError } from '../../core/errors.js';
import { formatTruthTable, truthTable, type TruthTable } from '../../policy/matrix.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, parsePortSpec, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { outputFormat, toJson } from '../output.js';

export const HELP = `Print the reachability truth table of the cluster's pods and Services.

Usage: kpf matrix -f FILE|DIR...|--lab [--port 80/TCP] [-n NS]... [--no-services] [-o table|e2e|json]

Rows are sources, columns destinations: pods, then Services that have the port (svc:NS/NAME).
  .  allowed      X  denied      ~  some backends of the Service allowed, not all
-o e2e prints the tab-separated form of the upstream e2e tests (truthtable.go); -o table aligns the columns.
`;

function aligned(t: TruthTable): string {
  const text = formatTruthTable(t);
  const rows = text.split('\n').map((l) => l.split('\t'));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 1))).join('').trimEnd()).join('\n') + '\n';
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(
    argv,
    {
      ...COMMON_OPTIONS,
      ...LOAD_OPTIONS,
      ...SEMANTICS_OPTIONS,
      port: { type: 'string', short: 'p' },
      'no-services': { type: 'boolean' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      'only-namespace': { type: 'string', multiple: true },
    },
    false,
  );
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['table', 'e2e', 'json']);
  const sem = semanticsFrom(v);
  const ps = parsePortSpec(typeof v['port'] === 'string' ? v['port'] : '80/TCP');
  if (typeof ps.port !== 'number') throw new UsageError('matrix needs a numeric --port (named ports resolve per pod)');
  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, false);
  const c = loaded.cluster;
  // -n limits the table to one namespace (as a scope, like kubectl); without it every namespace is shown
  const namespaces = typeof v['namespace'] === 'string' ? [v['namespace']] : undefined;
  if (namespaces && !c.namespaces.has(namespaces[0]!)) throw new UsageError(`namespace "${namespaces[0]}" not found`);
  const t = truthTable(c, {
    port: ps.port,
    protocol: ps.protocol,
    ...(namespaces ? { namespaces } : {}),
    includeServices: v['no-services'] !== true,
    sem,
  });
  // a Service without this port has no column: "no such port" is not a policy verdict
  const hasPort = (col: string): boolean => {
    if (!col.startsWith('svc:')) return true;
    const [ns, name] = col.slice(4).split('/');
    const svc = c.services.find((s) => s.namespace === ns && s.name === name);
    return !!svc && svc.ports.some((p) => p.port === ps.port && p.protocol === ps.protocol);
  };
  t.tos = t.tos.filter(hasPort);
  if (fmt === 'json') {
    io.stdout.write(toJson({ port: ps.port, protocol: ps.protocol, semantics: describeSemantics(sem), evaluator: 'reference', froms: t.froms, tos: t.tos, values: t.values }));
    return 0;
  }
  if (t.froms.length === 0) {
    io.stderr.write('No pods found\n');
    return 0;
  }
  io.stdout.write(`Reachability on ${ps.port}/${ps.protocol} (rows: from, columns: to; . allowed, X denied, ~ partly)\n`);
  io.stdout.write(fmt === 'e2e' ? formatTruthTable(t) + '\n' : aligned(t));
  return 0;
}
