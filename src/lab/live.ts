/**
 * `kpf lab --live`: the lab of "Kubernetes native network security policies by example" with real programs.
 *
 * Live mode runs the whole lab cluster (every pod of every step, myhackns/othernspod included, so the namespaces
 * stay put), with the cluster DNS in the kube-dns pod, an nginx-like server in every nginx pod and the external
 * site in the outside world. Each step swaps in a new policy revision — the policies of that step's manifests and
 * every earlier one — and then runs the lab's commands inside the pods, all at once:
 *
 *   debug       dig +search +short my-nginx-clusterip    DNS resolution: working when it prints the ClusterIP
 *   debug       curl -s -m 3 http://my-nginx-clusterip   Access to service name
 *   debug       curl -s -m 3 http://$POD                 Access to the pod IP (the first nginx pod by name)
 *   debug       curl -s -m 3 http://cloudyuga.guru       Access to the external site
 *   othernspod  curl -s -m 3 my-nginx-clusterip.prod-nginx  Access from the other namespace (from step 5, where
 *                                                            the lab creates that pod)
 *
 * A curl is working when it exits 0 with HTTP 200. Results have the shape of run.ts (StepResult/CheckResult); a
 * check's `steps` are the commands run, each with its exit status and output as the detail.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildCluster } from '../cluster/build.js';
import type { Cluster, Pod } from '../cluster/model.js';
import { KpfError, ManifestError } from '../core/errors.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import type { ClassifierOptions } from '../datapath/classify.js';
import { loadManifests } from '../manifests/index.js';
import type { KubeObject } from '../manifests/types.js';
import { PolicyRevisions, type Published } from '../policy/revisions.js';
import type { Flow } from '../policy/types.js';
import { ClusterServices } from '../live/services/cluster-services.js';
import { DEFAULT_EXTRA_NAMES } from '../live/services/dns-server.js';
import { LiveSession } from '../live/services/live-session.js';
import type { ExecResult } from '../live/services/netns-exec.js';
import { CHECK_LABELS, EXTERNAL_SITE, LAB_STEPS, labFiles, type Check, type LabStep, type Outcome } from './lab.js';
import type { CheckResult, StepResult } from './run.js';

export interface LabLiveOptions {
  semantics?: SemanticsOptions;
  classifier?: ClassifierOptions;
  /** answer denied packets (RST / ICMP) so failures are quick; default false (dropped, as in the lab) */
  reject?: boolean;
  /** external names → addresses (default cloudyuga.guru → 203.0.113.80) */
  extraNames?: Readonly<Record<string, readonly string[]>>;
  /** progress lines (e.g. to stderr) */
  log?: (line: string) => void;
  /** run only steps ≤ this index */
  upTo?: number;
  /** wait up to this long for another running kpf live to finish (default 0: fail at once) */
  waitForOtherMs?: number;
  /** namespace names: 'documented' (default, as kpf live) or 'unique' to this run (tests) */
  names?: 'documented' | 'unique';
}

/** What `kpf lab --live` needs on this machine; returns the missing pieces (empty = ready). */
export function labLiveMissing(): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (run with sudo)');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun (modprobe tun)');
  for (const [cmd, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['dig', ['-v'], 'dnsutils'],
    ['curl', ['--version'], 'curl'],
  ] as const) {
    try {
      execFileSync(cmd, [...args], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      missing.push(`${cmd} (Debian package ${pkg})`);
    }
  }
  if (!existsSync('/etc/resolv.conf')) missing.push('/etc/resolv.conf (ip netns exec mounts the pods\' resolv.conf over it)');
  return missing;
}

/** The lab's objects, with the step each came from. */
async function loadLabObjects(): Promise<Array<{ step: number; object: KubeObject }>> {
  const files = labFiles();
  const loaded = await loadManifests(files, {});
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new ManifestError(errors);
  const stepOf = new Map(LAB_STEPS.map((s) => [s.file, s.index]));
  return loaded.objects.map((object) => ({ step: stepOf.get(path.basename(object.loc.file)) ?? 0, object }));
}

/** The cluster of a step: every object except the NetworkPolicies of later steps (all pods exist from the start). */
function clusterAt(objects: ReadonlyArray<{ step: number; object: KubeObject }>, step: number): Cluster {
  const built = buildCluster(
    objects.filter((o) => o.object.kind !== 'NetworkPolicy' || o.step <= step).map((o) => o.object),
    {},
  );
  const errors = built.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new ManifestError(errors);
  return built.cluster;
}

function v4(p: Pod): string {
  return p.ips.find((a) => !a.includes(':')) ?? p.ips[0]!;
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

/** One command's verdict and the line that explains it. */
function judgeCurl(r: ExecResult): { allowed: boolean; detail: string } {
  const lines = r.stdout.trimEnd().split('\n');
  const status = /^HTTP (\d{3})$/.exec(lines[lines.length - 1] ?? '')?.[1];
  if (r.code === 0 && status === '200') {
    const by = /Served by (.+?) \(kpf live\)/.exec(r.stdout)?.[1];
    return { allowed: true, detail: `HTTP 200${by ? ` from ${by}` : ''} (${r.ms} ms)` };
  }
  const why =
    r.timedOut ? 'killed after the timeout' : r.code === 6 ? 'could not resolve the host' : r.code === 28 ? 'timed out' : r.code === 7 ? 'connection refused/rejected' : `exit ${r.code ?? r.signal}`;
  const err = firstLine(r.stderr);
  return { allowed: false, detail: `${why}${err ? `: ${err}` : ''}${status && status !== '000' ? ` (HTTP ${status})` : ''}` };
}

function judgeDig(r: ExecResult, want: string): { allowed: boolean; detail: string } {
  const out = r.stdout.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (r.code === 0 && out.includes(want)) return { allowed: true, detail: `answered ${out.join(' ')} (${r.ms} ms)` };
  const what = out.length ? out.join(' ') : firstLine(r.stderr);
  return { allowed: false, detail: `${r.timedOut ? 'killed after the timeout' : `exit ${r.code ?? r.signal}`}${what ? `: ${what}` : ': no answer'}` };
}

/** The lab's commands (argv); curl prints the status on a last line of its own. */
export function labCommand(kind: 'dig' | 'curl', target: string): string[] {
  if (kind === 'dig') return ['dig', '-r', '+search', '+short', '+time=2', '+tries=1', target];
  return ['curl', '-q', '-s', '-S', '-m', '3', '--noproxy', '*', '-w', '\\nHTTP %{http_code}\\n', `http://${target}`];
}

/** Hard timeouts of the commands (their own timeouts are 2-3 s; dig may try each search domain). */
const DIG_KILL_MS = 12_000;
const CURL_KILL_MS = 6_000;

/**
 * Runs the lab live: starts the namespaces, the dataplane and the servers, swaps in each step's revision and runs
 * the lab's commands; always removes everything it created. Throws a KpfError when the machine lacks something
 * (see {@link labLiveMissing}) or live mode fails to start.
 */
export async function runLabLive(opts: LabLiveOptions = {}): Promise<StepResult[]> {
  const missing = labLiveMissing();
  if (missing.length) throw new KpfError('KPF_ERR_LIVE', `kpf lab --live needs ${missing.join(', ')}`);
  const log = opts.log ?? (() => undefined);
  const sem = opts.semantics ?? DEFAULT_SEMANTICS;
  const extraNames = opts.extraNames ?? DEFAULT_EXTRA_NAMES;
  const objects = await loadLabObjects();
  const steps = LAB_STEPS.filter((s) => s.index <= (opts.upTo ?? Infinity));
  const revisions = new PolicyRevisions({ semantics: sem, shared: true });
  const publish = (cluster: Cluster): Published => {
    const r = revisions.apply(cluster);
    if (!r.ok) throw r.error;
    return r.published;
  };
  const first = clusterAt(objects, steps[0]?.index ?? 0);
  const firstRevision = publish(first);

  let session: LiveSession | undefined;
  let services: ClusterServices | undefined;
  const onExit = (): void => {
    services?.killNow();
    session?.destroySync();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    onExit();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: StepResult[] = [];
  try {
    const worldIps = [...new Set(Object.values(extraNames).flat())];
    session = await LiveSession.start(first, firstRevision, { worldIps, ...(opts.names ? { names: opts.names } : {}), ...(opts.waitForOtherMs ? { waitForOtherMs: opts.waitForOtherMs } : {}), ...(opts.classifier ? { classifier: opts.classifier } : {}), ...(opts.reject ? { reject: true } : {}) });
    log(`live: ${session.net.attachments.length} namespaces, revision ${firstRevision.revision}`);
    const s = session;
    services = await ClusterServices.start(first, {
      netnsOf: (p) => s.netnsByPod.get(`${p.namespace}/${p.name}`),
      worldNetns: s.worldNetns,
      extraNames,
      log: (l) => log(`live: ${l}`),
    });

    for (const step of steps) {
      const cluster = step === steps[0] ? first : clusterAt(objects, step.index);
      const published = step === steps[0] ? firstRevision : publish(cluster);
      await s.setRevision(published);
      if (s.failure) throw s.failure;
      log(`live: step ${step.index} (${step.file}): revision ${published.revision} in force`);
      const files = labFiles(step.index);
      const labCluster = clusterAtFiles(objects, step.index);
      out.push({
        step,
        files,
        policies: cluster.policies.map((p) => `${p.namespace}/${p.name}`),
        results: await runChecks(s, cluster, step, labCluster),
      });
    }
    return out;
  } finally {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      await services?.stop();
    } finally {
      await session?.stop();
    }
  }
}

/** The step's cluster as the lab has it (pods of later steps absent): decides whether othernspod is checked. */
function clusterAtFiles(objects: ReadonlyArray<{ step: number; object: KubeObject }>, step: number): Cluster {
  const built = buildCluster(objects.filter((o) => o.step <= step).map((o) => o.object), {});
  return built.cluster;
}

async function runChecks(s: LiveSession, cluster: Cluster, step: LabStep, labCluster: Cluster): Promise<CheckResult[]> {
  const pod = (ns: string, name: string): Pod | undefined => cluster.pods.find((p) => p.namespace === ns && p.name === name);
  const svcIP = (ns: string, name: string): string | undefined => cluster.services.find((x) => x.namespace === ns && x.name === name)?.clusterIPs[0];
  const debug = pod('prod-nginx', 'debug');
  const dnsIP = svcIP('kube-system', 'kube-dns');
  const svc = svcIP('prod-nginx', 'my-nginx-clusterip');
  const nginx = cluster.pods.filter((p) => p.namespace === 'prod-nginx' && p.labels['app'] === 'nginx' && p.ips.length > 0);
  if (!debug || !dnsIP || !svc || nginx.length === 0) {
    throw new Error('lab manifests are incomplete: need prod-nginx/debug, kube-dns, my-nginx-clusterip and nginx pods');
  }
  const podIP = v4(nginx[0]!);
  const other = labCluster.pods.some((p) => p.namespace === 'myhackns' && p.name === 'othernspod') ? pod('myhackns', 'othernspod') : undefined;
  const debugKey = 'prod-nginx/debug';

  type Probe = { what: string; flow: Flow; allowed: boolean; detail: string };
  const dig = async (from: Pod, key: string): Promise<Probe> => {
    const argv = labCommand('dig', 'my-nginx-clusterip');
    const r = await s.exec(key, argv, DIG_KILL_MS);
    return { what: `dig +search +short my-nginx-clusterip → ${dnsIP}:53/UDP`, flow: { src: v4(from), dst: dnsIP, protocol: 'UDP', dstPort: 53 }, ...judgeDig(r, svc) };
  };
  const curl = async (from: Pod, key: string, target: string, dst: string, shown: string): Promise<Probe> => {
    const r = await s.exec(key, labCommand('curl', target), CURL_KILL_MS);
    return { what: `curl -s -m 3 http://${shown} → ${dst}:80/TCP`, flow: { src: v4(from), dst, protocol: 'TCP', dstPort: 80 }, ...judgeCurl(r) };
  };
  const [dns, service, podIp, external, otherNs] = await Promise.all([
    dig(debug, debugKey),
    curl(debug, debugKey, 'my-nginx-clusterip', svc, 'my-nginx-clusterip'),
    curl(debug, debugKey, podIP, podIP, '$POD'),
    curl(debug, debugKey, EXTERNAL_SITE.name, EXTERNAL_SITE.ip, EXTERNAL_SITE.name),
    other ? curl(other, 'myhackns/othernspod', 'my-nginx-clusterip.prod-nginx', svc, 'my-nginx-clusterip.prod-nginx') : Promise.resolve(undefined),
  ]);
  const result = (check: Check, probes: Probe[]): CheckResult => {
    const outcome: Outcome = probes.every((p) => p.allowed) ? 'working' : 'failed';
    const expected = step.expected[check];
    return { check, label: CHECK_LABELS[check], outcome, ...(expected ? { expected } : {}), ok: !expected || expected === outcome, steps: probes };
  };
  const results = [result('dns', [dns]), result('service', [service]), result('podIP', [podIp]), result('external', [external])];
  if (otherNs) results.push(result('otherNs', [otherNs]));
  return results;
}
