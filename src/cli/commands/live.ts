/**
 * `kpf live -f MANIFESTS…`: a real userspace dataplane between network namespaces — one per pod plus the outside
 * world, each attached to kpf by a TUN — enforcing the compiled policies on real traffic until SIGINT/SIGTERM, with
 * a flow log. `kpf live exec NS/POD -- CMD…` runs a command in a pod's namespace of a running `kpf live`;
 * `kpf live cleanup` removes what a killed run left behind.
 */
import { spawn } from 'node:child_process';
import { watch, writeFileSync, type FSWatcher } from 'node:fs';
import { KpfError, ManifestError, UsageError, formatDiagnostic, type Diagnostic } from '../../core/errors.js';
import { canonicalIP, parseCIDR } from '../../core/ip.js';
import { DropReason } from '../../core/enums.js';
import { PacketVerdict } from '../../datapath/classify.js';
import { Dest, LiveDataplane, type LiveBatch } from '../../live/dataplane.js';
import { LiveNetwork, WORLD_NETNS, checkLivePrivileges, cleanupStale, listNetns, podNetnsName } from '../../live/netns.js';
import { PolicyRevisions, type Published } from '../../policy/revisions.js';
import { buildCluster } from '../../cluster/build.js';
import type { Cluster } from '../../cluster/model.js';
import type { LoadOptions, SemanticsOptions } from '../../core/options.js';
import { loadManifests } from '../../manifests/index.js';
import { lintCluster } from '../../policy/lint.js';
import { dropReasonName } from '../../replay/records.js';
import { compactLine, jsonLine, jsonpbLine } from '../../sinks/flow.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, loadOptionsFrom, parse, semanticsFrom, type Values } from '../args.js';
import type { Io } from '../io.js';
import { sourcePaths } from '../load.js';
import { outputFormat } from '../output.js';
import { DATAPATH_OPTIONS, replayOptionsFrom } from './replay.js';

export const HELP = `Run the policies on real traffic: one network namespace per pod, attached to kpf by a TUN device.

Usage: kpf live -f FILE|DIR...|--lab [-o compact|json|jsonpb] [--metrics FILE] [--watch] [--reject] [--strict]
                [--warnings-as-errors]
                [--world-ip IP]... [--on-policy-change keep|reevaluate] [switches]
       kpf live exec NAMESPACE/POD|world -- COMMAND [ARGS...]
       kpf live cleanup

Every live pod with an IP gets a namespace kpf-<hash> (its TUN device has the same name) holding the pod's IPs and
a default route via the TUN; the outside world is the namespace ${WORLD_NETNS}, which holds the external addresses
(--world-ip, plus every single-address ipBlock of the policies) and receives traffic to any address no pod owns.
kpf reads every TUN, classifies each packet with the compiled dataplane (conntrack, Service NAT), writes allowed
packets into the destination's TUN (rewriting ClusterIP:port to the backend and back) and drops denied ones —
with --reject it answers them (TCP RST, ICMP administratively prohibited). Runs until SIGINT/SIGTERM; everything
it created is removed on exit, and a start removes what a killed run left behind. Needs root.

  -o compact|json|jsonpb   flow log on stdout (default: compact on a terminal, else json)
  --metrics FILE           Prometheus text of kpf_live_* counters, rewritten every 5 s and at exit
  --watch                  recompile when a manifest changes; a failed compile keeps the revision in force
  --reject                 answer denied packets instead of dropping them silently
  --strict                 a policy change re-evaluates established connections on their next packet
                           (= --on-policy-change=reevaluate; the default keeps their verdict)
  --warnings-as-errors     manifest warnings are errors (at start and on --watch recompiles)
  --world-ip IP            an external address the outside-world namespace answers for (repeatable)
Datapath: --ct-pickup, --profile, --ct-tcp-max, --ct-any-max, --verdict-cache-max, --frag-max, --no-frag-tracking
  as for kpf replay.
Exit: 0 after a clean stop; 1 when the start failed (not root, invalid manifests, another kpf live running).
`;

export const LIVE_OPTIONS = {
  metrics: { type: 'string' },
  watch: { type: 'boolean' },
  reject: { type: 'boolean' },
  'warnings-as-errors': { type: 'boolean' },
  'world-ip': { type: 'string', multiple: true },
  ...DATAPATH_OPTIONS,
  'policy-map-max': { type: 'string' },
} as const;

/** Single-address ipBlock CIDRs of the policies (the external hosts they name). */
function worldHostsOf(p: Published): string[] {
  const out = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'ipBlock' && v && typeof v === 'object' && typeof (v as { cidr?: unknown }).cidr === 'string') {
          const c = parseCIDR((v as { cidr: string }).cidr, false);
          if ('cidr' in c && c.cidr && c.cidr.prefix === (c.cidr.family === 4 ? 32 : 128)) {
            const ipText = canonicalIP((v as { cidr: string }).cidr.split('/')[0]!);
            if (ipText) out.add(ipText);
          }
        } else walk(v);
      }
    }
  };
  walk(p.compiled.policies);
  return [...out];
}

class Counters {
  forwarded = 0;
  dropped = 0;
  rejects = 0;
  unroutable = 0;
  writeFailed = 0;
  readonly drops = new Map<number, number>();
  /** the latest conntrack figures of the dataplane thread */
  ct: LiveBatch['ct'];
  add(b: LiveBatch): void {
    if (b.ct) this.ct = b.ct;
    const v = b.verdicts;
    for (let i = 0; i < v.count; i++) {
      if (b.dest[i] === Dest.UNROUTABLE) this.unroutable++;
      if (b.dest[i] === Dest.WRITE_FAILED) this.writeFailed++;
      if (v.verdict[i] === PacketVerdict.FORWARDED) this.forwarded++;
      else {
        this.dropped++;
        this.drops.set(v.reason[i]!, (this.drops.get(v.reason[i]!) ?? 0) + 1);
      }
    }
    this.rejects += b.rejects;
  }
}

function conntrackLines(ct: LiveBatch['ct']): string[] {
  if (!ct) return [];
  const ev = (table: string, e: { expired: number; non_assured: number; lru: number }) =>
    (['expired', 'non_assured', 'lru'] as const).map((r) => `kpf_live_conntrack_evictions_total{table="${table}",reason="${r}"} ${e[r]}`);
  return [
    '# HELP kpf_live_conntrack_entries Conntrack entries in use.',
    '# TYPE kpf_live_conntrack_entries gauge',
    `kpf_live_conntrack_entries{table="tcp"} ${ct.tcpEntries}`,
    `kpf_live_conntrack_entries{table="any"} ${ct.anyEntries}`,
    '# HELP kpf_live_conntrack_evictions_total Conntrack entries evicted to make room for new connections.',
    '# TYPE kpf_live_conntrack_evictions_total counter',
    ...ev('tcp', ct.tcpEvictions),
    ...ev('any', ct.anyEvictions),
    '# HELP kpf_live_map_pressure Fill ratio of the bounded tables.',
    '# TYPE kpf_live_map_pressure gauge',
    `kpf_live_map_pressure{map="conntrack_tcp"} ${(ct.tcpEntries / ct.tcpCapacity).toFixed(4)}`,
    `kpf_live_map_pressure{map="conntrack_any"} ${(ct.anyEntries / ct.anyCapacity).toFixed(4)}`,
  ];
}

function metricsText(c: Counters, revisions: PolicyRevisions, revision: number, pods: number): string {
  const lines = [
    '# HELP kpf_live_packets_total Packets read from the TUN devices, by verdict.',
    '# TYPE kpf_live_packets_total counter',
    `kpf_live_packets_total{verdict="FORWARDED"} ${c.forwarded}`,
    `kpf_live_packets_total{verdict="DROPPED"} ${c.dropped}`,
    '# HELP kpf_live_drops_total Dropped packets by reason.',
    '# TYPE kpf_live_drops_total counter',
    ...[...c.drops].map(([r, n]) => `kpf_live_drops_total{reason="${dropReasonName(r)}"} ${n}`),
    '# HELP kpf_live_rejects_total Rejections sent for denied packets (--reject).',
    '# TYPE kpf_live_rejects_total counter',
    `kpf_live_rejects_total ${c.rejects}`,
    '# HELP kpf_live_unroutable_total Forwarded packets with no destination namespace (multicast, link-local, non-IP).',
    '# TYPE kpf_live_unroutable_total counter',
    `kpf_live_unroutable_total ${c.unroutable}`,
    '# HELP kpf_live_write_errors_total Packets the destination TUN refused.',
    '# TYPE kpf_live_write_errors_total counter',
    `kpf_live_write_errors_total ${c.writeFailed}`,
    ...conntrackLines(c.ct),
    '# HELP kpf_live_endpoints Namespaces attached (pods and the outside world).',
    '# TYPE kpf_live_endpoints gauge',
    `kpf_live_endpoints ${pods}`,
    '# HELP kpf_policy_revision Policy revision in force.',
    '# TYPE kpf_policy_revision gauge',
    `kpf_policy_revision ${revision}`,
    '# HELP kpf_policy_changes_total Policy recompiles by outcome.',
    '# TYPE kpf_policy_changes_total counter',
    `kpf_policy_changes_total{outcome="applied"} ${revisions.applied}`,
    `kpf_policy_changes_total{outcome="rejected"} ${revisions.rejected}`,
  ];
  return lines.join('\n') + '\n';
}

/** The namespace of `NS/POD` (or `world`). */
export function netnsOfTarget(target: string): string {
  if (target === 'world') return WORLD_NETNS;
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(target);
  if (!m) throw new UsageError(`expected NAMESPACE/POD or world, got "${target}"`);
  return podNetnsName(m[1]!, m[2]!);
}

async function runExec(argv: string[], io: Io): Promise<number> {
  const dd = argv.indexOf('--');
  const before = dd < 0 ? argv : argv.slice(0, dd);
  const cmd = dd < 0 ? [] : argv.slice(dd + 1);
  if (before.length !== 1 || cmd.length === 0) throw new UsageError('usage: kpf live exec NAMESPACE/POD -- COMMAND [ARGS...]');
  const netns = netnsOfTarget(before[0]!);
  checkLivePrivileges();
  if (!listNetns().includes(netns)) {
    throw new KpfError('KPF_ERR_LIVE', `no live namespace for ${before[0]} (${netns}): is a kpf live with that pod running?`);
  }
  return await new Promise<number>((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => io.stdout.write(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.stderr.write(d.toString()));
    child.on('error', (e) => {
      io.stderr.write(`error: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function run(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'exec') return runExec(argv.slice(1), io);
  if (argv[0] === 'cleanup') {
    checkLivePrivileges();
    const removed = cleanupStale();
    io.stderr.write(removed.length ? `kpf live: removed ${removed.join(', ')}\n` : 'kpf live: nothing to clean up\n');
    return 0;
  }
  const { values: v, positionals } = parse(argv, { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS, ...LIVE_OPTIONS });
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const fmt = outputFormat(v['output'], io.stdout.isTTY ? ['compact', 'json', 'jsonpb'] : ['json', 'compact', 'jsonpb']);
  const worldIps: string[] = [];
  for (const a of (v['world-ip'] as string[] | undefined) ?? []) {
    const c = canonicalIP(a);
    if (!c) throw new UsageError(`invalid --world-ip "${a}"`);
    worldIps.push(c);
  }
  const classifier = replayOptionsFrom(v as Values).classifier ?? {};
  checkLivePrivileges();

  const sources = sourcePaths(v, io);
  const strict = v['warnings-as-errors'] === true;
  const sem = semanticsFrom(v);
  const loadOpts = loadOptionsFrom(v);
  const revisions = new PolicyRevisions({
    semantics: sem,
    load: loadOpts,
    shared: true,
    ...(typeof v['policy-map-max'] === 'string' ? { policyMapMax: Number(v['policy-map-max']) } : {}),
  });
  const first = await compileRevision(revisions, sources, loadOpts, sem, strict);
  if (!first.ok) throw first.error;
  for (const d of first.diagnostics) if (d.severity !== 'error') io.stderr.write(`${d.severity === 'notice' ? 'notice' : 'Warning'}: ${formatDiagnostic(d)}\n`);
  let published = first.published;
  const cluster = first.cluster;

  // the run's namespaces: stale ones first, then one per live pod, then the outside world
  cleanupStale();
  const net = new LiveNetwork();
  const cleanupSync = (): void => {
    try {
      net.destroy();
    } catch {
      /* best effort at exit */
    }
  };
  const onExit = (): void => cleanupSync();
  const onFatal = (e: unknown): void => {
    cleanupSync();
    io.stderr.write(`error: kpf live: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  };
  process.on('exit', onExit);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  let stopSignal: (() => void) | undefined;
  const stopped = new Promise<string>((resolve) => {
    stopSignal = () => resolve('stop');
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGHUP', () => resolve('SIGHUP'));
  });
  const unhook = (): void => {
    process.off('exit', onExit);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGHUP');
  };

  let dp: LiveDataplane | undefined;
  const watchers: FSWatcher[] = [];
  let metricsTimer: NodeJS.Timeout | undefined;
  const counters = new Counters();
  let exitCode = 0;
  try {
    const pods = cluster.pods.filter((p) => p.ips.length > 0 && !p.hostNetwork && p.ips.every((a) => cluster.podByIP.get(a) === p));
    for (const p of pods) {
      const n = podNetnsName(p.namespace, p.name);
      net.attach(n, `${p.namespace}/${p.name}`, p.ips);
    }
    const taken = new Set(pods.flatMap((p) => p.ips));
    const world = [...new Set([...worldIps, ...worldHostsOf(published)])].filter((a) => !taken.has(a) && !cluster.serviceByIP.has(a));
    net.attach(WORLD_NETNS, 'world', world);
    if (process.env['KPF_TEST_LIVE_FAIL_START'] === '1') throw new KpfError('KPF_ERR_LIVE', 'start failed (test hook KPF_TEST_LIVE_FAIL_START)');

    dp = new LiveDataplane(net.attachments, published, { classifier, reject: v['reject'] === true });
    const labelsOf = (id: number): string[] => dp!.current.compiled.identityById.get(id)?.labels ?? [];
    dp.onBatch = (b) => {
      counters.add(b);
      const lines: string[] = [];
      for (let i = 0; i < b.verdicts.count; i++) {
        if (b.dest[i] === Dest.UNROUTABLE) continue; // link-local and multicast chatter of the namespaces
        const r = dp!.record(b, i);
        lines.push(fmt === 'json' ? jsonLine(r) : fmt === 'compact' ? compactLine(r) : jsonpbLine(r, labelsOf, 'kpf-live'));
      }
      if (lines.length) io.stdout.write(lines.join('\n') + '\n');
    };
    dp.onError = (e) => {
      io.stderr.write(`error: ${e.message}\n`);
      exitCode = 1;
      stopSignal?.();
    };
    dp.onRevision = (r) => io.stderr.write(`kpf live: revision ${r} in force\n`);
    await dp.start();

    const metricsFile = typeof v['metrics'] === 'string' ? v['metrics'] : undefined;
    const writeMetrics = (): void => {
      if (metricsFile) writeFileSync(metricsFile, metricsText(counters, revisions, published.revision, net.attachments.length));
    };
    if (metricsFile) {
      writeMetrics();
      metricsTimer = setInterval(writeMetrics, 5000);
      metricsTimer.unref();
    }

    if (v['watch'] === true) {
      let timer: NodeJS.Timeout | undefined;
      let busy = Promise.resolve();
      const recompile = (): void => {
        busy = busy.then(async () => {
          const r = await compileRevision(revisions, sources, loadOpts, sem, strict);
          if (!r.ok) {
            io.stderr.write(`kpf live: recompile rejected, revision ${published.revision} stays in force:\n${errorText(r.error)}`);
            return;
          }
          published = r.published;
          dp!.setRevision(published);
          io.stderr.write(`kpf live: revision ${published.revision} compiled from ${sources.join(' ')}\n`);
          writeMetrics();
        });
      };
      for (const s of sources) {
        if (s === '-') continue;
        const w = watch(s, { recursive: v['recursive'] === true }, () => {
          clearTimeout(timer);
          timer = setTimeout(recompile, 200);
        });
        w.on('error', (e) => io.stderr.write(`Warning: watching ${s}: ${e.message}\n`));
        watchers.push(w);
      }
    }

    io.stderr.write(
      `kpf live: revision ${published.revision}, ${net.attachments.length} namespaces${v['reject'] ? ', --reject' : ''}${v['watch'] ? ', --watch' : ''}\n` +
        net.attachments.map((a) => `  ${a.netns.padEnd(15)} ${a.label}  ${a.ips.join(' ')}\n`).join('') +
        `kpf live: forwarding (kpf live exec NAMESPACE/POD -- COMMAND; Ctrl-C to stop)\n`,
    );
    const why = await stopped;
    io.stderr.write(`kpf live: stopping (${why})\n`);
    writeMetrics();
  } finally {
    for (const w of watchers) w.close();
    if (metricsTimer) clearInterval(metricsTimer);
    await dp?.stop();
    net.destroy();
    unhook();
  }
  if (typeof v['metrics'] === 'string') writeFileSync(v['metrics'], metricsText(counters, revisions, published.revision, net.attachments.length));
  io.stderr.write(`kpf live: ${counters.forwarded} forwarded, ${counters.dropped} dropped (${counters.drops.get(DropReason.POLICY_DENIED) ?? 0} by policy), ${counters.rejects} rejected; namespaces removed\n`);
  return exitCode;
}

type Compiled = { ok: true; published: Published; cluster: Cluster; diagnostics: Diagnostic[] } | { ok: false; error: KpfError };

/**
 * Loads, lints and compiles the manifests into the next revision (published only when valid; with --warnings-as-errors,
 * warnings count as errors). A failure keeps the revision in force and counts as rejected.
 */
async function compileRevision(revisions: PolicyRevisions, sources: string[], load: LoadOptions, sem: SemanticsOptions, strict: boolean): Promise<Compiled> {
  try {
    const loaded = await loadManifests(sources, load);
    const built = buildCluster(loaded.objects, load);
    const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
    if (!diagnostics.some((d) => d.severity === 'error')) diagnostics.push(...lintCluster(built.cluster, sem));
    const bad = diagnostics.filter((d) => d.severity === 'error' || (strict && d.severity === 'warning')).map((d) => ({ ...d, severity: 'error' as const }));
    if (bad.length) throw new ManifestError(bad);
    const r = revisions.apply(built.cluster);
    if (!r.ok) return { ok: false, error: r.error };
    return { ok: true, published: r.published, cluster: built.cluster, diagnostics };
  } catch (e) {
    if (!(e instanceof KpfError)) throw e;
    revisions.rejected++;
    return { ok: false, error: e };
  }
}

function errorText(e: unknown): string {
  if (e instanceof ManifestError) return e.diagnostics.filter((d) => d.severity === 'error').map((d) => `  error: ${formatDiagnostic(d)}\n`).join('');
  return `  error: ${e instanceof Error ? e.message : String(e)}\n`;
}
