/**
 * `kpf watch -i IFACE -f MANIFESTS…`: audit mode — every frame seen on a network device (libpcap, through the
 * optional `cap` package) gets the verdict the policies would give it, printed as a flow record like `kpf replay`
 * prints them. Nothing is enforced: packets pass whatever the verdict. Stops on SIGINT/SIGTERM, --count or --duration.
 */
import { UsageError, formatDiagnostic } from '../../core/errors.js';
import { lintCluster } from '../../policy/lint.js';
import { PolicyRevisions } from '../../policy/revisions.js';
import type { FlowRecord } from '../../replay/records.js';
import { compactLine, jsonLine, jsonpbLine } from '../../sinks/flow.js';
import { WatchSession } from '../../watch/session.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, parse, semanticsFrom, type Values } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { outputFormat } from '../output.js';
import { DATAPATH_OPTIONS, replayOptionsFrom } from './replay.js';

export const HELP = `Audit mode: give every packet seen on a network device the verdict the policies would give it. Nothing is
enforced — packets pass whatever their verdict.

Usage: kpf watch -i IFACE -f FILE|DIR...|--lab [-o compact|json|jsonpb] [--filter BPF] [--count N] [--duration S]
                 [switches]

  -i, --interface IFACE   device to capture on (libpcap name: eth0, any, a veth …); needs root or CAP_NET_RAW
  -o compact|json|jsonpb  flow records on stdout, as kpf replay prints them (default: compact on a terminal, else json)
  --filter BPF            libpcap filter expression (tcpdump syntax), e.g. 'tcp or udp'
  --count N               stop after N packets
  --duration S            stop after S seconds (decimals allowed)
Datapath: --ct-pickup, --profile, --ct-tcp-max, --ct-any-max, --verdict-cache-max, --frag-max, --no-frag-tracking
  as for kpf replay. Connections already open when watch starts are picked up mid-flow (--ct-pickup).

Packets are batched (up to 1024, or 50 ms) and classified on a worker thread with the compiled dataplane
(conntrack, Service NAT, policy maps). Timestamps are the wall clock when libpcap hands kpf the packet.
Needs the optional package cap (a libpcap binding): install the Debian package libpcap-dev, then npm ci.
Exit: 0 after a clean stop; 1 when capture could not start (no cap, no such device, no permission, bad filter).
`;

export const WATCH_OPTIONS = {
  interface: { type: 'string', short: 'i' },
  filter: { type: 'string' },
  count: { type: 'string' },
  duration: { type: 'string' },
  ...DATAPATH_OPTIONS,
} as const;

function positive(v: Values, flag: string, integer: boolean): number | undefined {
  const s = v[flag];
  if (s === undefined) return undefined;
  const n = Number(s);
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s) || !(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`invalid value for --${flag}: "${String(s)}" (expected a positive ${integer ? 'integer' : 'number'})`);
  }
  return n;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(argv, { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS, ...WATCH_OPTIONS });
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const iface = v['interface'];
  if (typeof iface !== 'string' || iface === '') throw new UsageError('watch needs a device to capture on: -i IFACE');
  const fmt = outputFormat(v['output'], io.stdout.isTTY ? ['compact', 'json', 'jsonpb'] : ['json', 'compact', 'jsonpb']);
  const count = positive(v, 'count', true);
  const duration = positive(v, 'duration', false);
  const classifier = replayOptionsFrom(v).classifier ?? {};
  const sem = semanticsFrom(v);

  const loaded = await loadFromFlags(v, io);
  printDiagnostics(io, loaded.diagnostics, true);
  for (const d of lintCluster(loaded.cluster, sem)) if (d.severity === 'warning') io.stderr.write(`Warning: ${formatDiagnostic(d)}\n`);
  const revisions = new PolicyRevisions({ semantics: sem, load: loaded.options, shared: true });
  const r = revisions.apply(loaded.cluster);
  if (!r.ok) throw r.error;
  const published = r.published;

  const session = new WatchSession(published, {
    iface,
    ...(typeof v['filter'] === 'string' ? { filter: v['filter'] } : {}),
    ...(count !== undefined ? { count } : {}),
    classifier,
  });
  const labelsOf = (id: number): string[] => published.compiled.identityById.get(id)?.labels ?? [];
  const line = (rec: FlowRecord): string => (fmt === 'json' ? jsonLine(rec) : fmt === 'compact' ? compactLine(rec) : jsonpbLine(rec, labelsOf, 'kpf-watch'));
  session.onRecords = (records) => {
    if (records.length) io.stdout.write(records.map(line).join('\n') + '\n');
  };

  let exitCode = 0;
  let resolveStop: ((why: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => (resolveStop = resolve));
  const onSignal = (sig: NodeJS.Signals): void => resolveStop?.(sig);
  session.onDone = () => resolveStop?.(`--count ${count}`);
  session.onError = (e) => {
    io.stderr.write(`error: ${e.message}\n`);
    exitCode = 1;
    resolveStop?.('error');
  };
  await session.start();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = duration !== undefined ? setTimeout(() => resolveStop?.(`--duration ${duration}`), duration * 1000) : undefined;
  try {
    io.stderr.write(
      `kpf watch: capturing on ${iface} (${session.linkTypeName}), revision ${published.revision}; audit only, nothing is enforced` +
        `${count !== undefined ? `; --count ${count}` : ''}${duration !== undefined ? `; --duration ${duration}s` : ''} (Ctrl-C to stop)\n`,
    );
    const why = await stopped;
    io.stderr.write(`kpf watch: stopping (${why})\n`);
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.stop();
  }
  const s = session.stats;
  io.stderr.write(
    `kpf watch: ${s.captured} packets: ${s.forwarded} would be forwarded, ${s.dropped} would be dropped` +
      `${s.overflow ? `, ${s.overflow} not classified (kpf fell behind)` : ''}\n`,
  );
  if (s.overflow > 0 && exitCode === 0) exitCode = 3;
  return exitCode;
}
