/**
 * `kpf explain -f … --from NS/POD|IP --to NS/POD|NS/svc/NAME|IP --port N[/PROTO]`: the verdict on one connection
 * and why — per direction, the policies that isolate each end and the rules that allow it, or why none does.
 */
import { UsageError } from '../../core/errors.js';
import { evaluate } from '../../policy/reference.js';
import { renderDecision } from '../../policy/explain-text.js';
import type { Flow, FlowProtocol } from '../../policy/types.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, parsePortSpec, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { outputFormat, toJson } from '../output.js';
import type { Cluster } from '../../cluster/model.js';
import type { SemanticsOptions } from '../../core/options.js';
import { dropReasonToString } from '../../core/enums.js';
import { Decision, Verdict, Why, decide } from '../../datapath/decide.js';
import { compile, DIR_INGRESS } from '../../policy/compile.js';
import { buildSnapshot, decideInputOf } from '../../policy/snapshot.js';
import { describeNamed, resolveEndpoint } from '../resolve.js';

export const HELP = `Explain whether one connection is allowed, and why.

Usage: kpf explain -f FILE|DIR... --from NS/POD|IP --to NS/POD|NS/svc/NAME|IP [--port N[/PROTO]]
       [--protocol TCP|UDP|SCTP|ICMP|ICMPv6|NUMBER] [--src-port N] [--icmp-type N] [-6] [-o text|json]

A Service destination is translated to a backend as kube-proxy would (the backend is chosen by a hash of the
5-tuple; --src-port changes it). --port defaults to the Service's only port; protocol defaults to TCP.
`;

const PROTOS: Record<string, FlowProtocol> = { TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP', ICMP: 'ICMP', ICMPV6: 'ICMPv6' };

const WHY: Record<number, string> = { [Why.POLICY]: 'policy', [Why.LOOPBACK]: 'loopback', [Why.NODE_INGRESS]: 'node_ingress', [Why.HAIRPIN]: 'hairpin', [Why.ICMPV6_ND]: 'icmpv6_nd', [Why.ICMP_ALLOW]: 'icmp_allow' };

/** The same connection through the compiled dataplane (identities, ipcache, policy maps), for comparison. */
function compiledVerdict(c: Cluster, f: Flow, sem: SemanticsOptions): { verdict: 'FORWARDED' | 'DROPPED'; reason: string; entries: string[] } {
  const compiled = compile(c, { semantics: sem });
  const snap = buildSnapshot(compiled, { shared: false });
  const dd = decide(snap, decideInputOf(f), new Decision());
  const entries: string[] = [];
  for (const e of [dd.egressEntry, dd.ingressEntry]) {
    if (e < 0) continue;
    for (const r of compiled.entries[e]!.rows) {
      const row = compiled.rows[r]!;
      entries.push(`${compiled.policyNames[row.policy]}#${row.dir === DIR_INGRESS ? 'ingress' : 'egress'}[${row.rule}]`);
    }
  }
  if (dd.verdict === Verdict.DROP) return { verdict: 'DROPPED', reason: dropReasonToString(dd.reason), entries };
  return { verdict: 'FORWARDED', reason: WHY[dd.reason] ?? '', entries: [...new Set(entries)] };
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(
    argv,
    {
      ...COMMON_OPTIONS,
      ...LOAD_OPTIONS,
      ...SEMANTICS_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      port: { type: 'string', short: 'p' },
      protocol: { type: 'string' },
      'src-port': { type: 'string' },
      'icmp-type': { type: 'string' },
      ipv6: { type: 'boolean', short: '6' },
    },
    false,
  );
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['text', 'json']);
  if (typeof v['from'] !== 'string' || typeof v['to'] !== 'string') throw new UsageError('explain needs --from and --to');
  const sem = semanticsFrom(v);
  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, false);
  const c = loaded.cluster;
  const ns = typeof v['namespace'] === 'string' ? v['namespace'] : 'default';
  const family = v['ipv6'] ? 6 : undefined;
  const from = resolveEndpoint(c, v['from'], ns, family);
  const to = resolveEndpoint(c, v['to'], ns, family ?? (from.ip.includes(':') ? 6 : 4));

  let protocol: FlowProtocol = 'TCP';
  let dstPort: number | undefined;
  if (typeof v['port'] === 'string') {
    const ps = parsePortSpec(v['port']);
    protocol = ps.protocol;
    if (typeof ps.port === 'string') {
      // a named port: the destination pod's container port, or the Service port of that name
      const named =
        to.kind === 'pod'
          ? to.pod.ports.find((p) => p.name === ps.port && p.protocol === ps.protocol)?.containerPort
          : to.kind === 'service'
            ? to.service.ports.find((p) => p.name === ps.port && p.protocol === ps.protocol)?.port
            : undefined;
      if (named === undefined) throw new UsageError(`the destination declares no port named "${ps.port}" (${ps.protocol})`);
      dstPort = named;
    } else dstPort = ps.port;
  }
  if (typeof v['protocol'] === 'string') {
    const p = PROTOS[v['protocol'].toUpperCase()] ?? (/^\d{1,3}$/.test(v['protocol']) && Number(v['protocol']) <= 255 ? Number(v['protocol']) : undefined);
    if (p === undefined) throw new UsageError(`unknown --protocol "${v['protocol']}" (TCP, UDP, SCTP, ICMP, ICMPv6 or a protocol number)`);
    protocol = p;
  }
  if (dstPort === undefined && to.kind === 'service' && (protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP')) {
    const ports = to.service.ports.filter((p) => p.protocol === protocol);
    if (ports.length !== 1) throw new UsageError(`service ${to.service.namespace}/${to.service.name} has ${ports.length} ${protocol} ports: say which with --port`);
    dstPort = ports[0]!.port;
  }
  const hasPorts = protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP';
  if (hasPorts && dstPort === undefined) throw new UsageError(`--port is needed for ${protocol}`);
  const num = (flag: string): number | undefined => {
    const s = v[flag];
    if (typeof s !== 'string') return undefined;
    if (!/^\d+$/.test(s) || Number(s) > 65535) throw new UsageError(`invalid --${flag} "${s}"`);
    return Number(s);
  };
  const flow: Flow = {
    src: from.ip,
    dst: to.ip,
    protocol,
    ...(hasPorts ? { srcPort: num('src-port') ?? 40000, dstPort: dstPort! } : {}),
    ...(protocol === 'ICMP' || protocol === 'ICMPv6' ? { icmpType: num('icmp-type') ?? (protocol === 'ICMP' ? 8 : 128), icmpCode: 0 } : {}),
  };
  const d = evaluate(c, flow, sem);
  const dp = compiledVerdict(c, flow, sem);
  const agree = (d.verdict === 'DROP') === (dp.verdict === 'DROPPED');
  if (fmt === 'json') {
    io.stdout.write(toJson({ from: describeNamed(from), to: describeNamed(to), semantics: describeSemantics(sem), evaluator: 'reference', decision: d, dataplane: { ...dp, agrees: agree } }));
    return agree ? 0 : 1;
  }
  const text = renderDecision(d);
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  io.stdout.write(`Compiled dataplane: ${dp.verdict}${dp.reason ? ` (${dp.reason})` : ''}${dp.entries.length ? `; policy-map entries: ${dp.entries.join(', ')}` : ''}${agree ? '' : '   ← DIFFERS from the reference evaluator: please report this'}\n`);
  return agree ? 0 : 1;
}
