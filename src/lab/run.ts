/**
 * Runs the lab's connectivity procedure after every step, against the cluster model built from the step's
 * manifests plus all earlier ones, and compares the outcomes with the lab's Results lines.
 */
import { buildCluster } from '../cluster/build.js';
import type { Cluster, Pod } from '../cluster/model.js';
import { ManifestError } from '../core/errors.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import { loadManifests } from '../manifests/index.js';
import { evaluate } from '../policy/reference.js';
import type { Decision, Flow } from '../policy/types.js';
import { CHECK_LABELS, EXTERNAL_SITE, LAB_STEPS, labFiles, type Check, type LabStep, type Outcome } from './lab.js';

export interface CheckResult {
  check: Check;
  label: string;
  outcome: Outcome;
  /** the lab's stated outcome, when it states one */
  expected?: Outcome;
  /** expected and outcome agree (true when nothing is expected) */
  ok: boolean;
  /** the evaluated connections: what was asked and what decided it */
  steps: Array<{ what: string; flow: Flow; allowed: boolean; detail: string }>;
}

/** Decides one connection of the procedure: allowed or not, and one line saying why. */
export type Judge = (flow: Flow) => { allowed: boolean; detail: string };

/** The reference evaluator as a judge. */
export function referenceJudge(cluster: Cluster, sem: SemanticsOptions = DEFAULT_SEMANTICS): Judge {
  return (flow) => {
    const d: Decision = evaluate(cluster, flow, sem);
    return { allowed: d.verdict !== 'DROP', detail: d.detail };
  };
}

/** Makes a judge for a step's cluster (the reference by default; tests pass the compiled dataplane). */
export type JudgeFactory = (cluster: Cluster, sem: SemanticsOptions) => Judge;

export interface StepResult {
  step: LabStep;
  files: string[];
  policies: string[];
  results: CheckResult[];
}

/** Source ports of the simulated clients (fixed, so Service backend choice is reproducible). */
const CLIENT_PORT = { dns: 41000, http: 42000 } as const;

function firstIP(p: Pod): string {
  const v4 = p.ips.find((ip) => !ip.includes(':'));
  return v4 ?? p.ips[0]!;
}

function findPod(c: Cluster, ns: string, name: string): Pod | undefined {
  return c.pods.find((p) => p.namespace === ns && p.name === name);
}

function serviceIP(c: Cluster, ns: string, name: string): string | undefined {
  return c.services.find((s) => s.namespace === ns && s.name === name)?.clusterIPs[0];
}

/** Evaluates one lab step's procedure on a built cluster. */
export function runProcedure(cluster: Cluster, step: LabStep, judge: Judge): CheckResult[] {
  const debug = findPod(cluster, 'prod-nginx', 'debug');
  const dnsIP = serviceIP(cluster, 'kube-system', 'kube-dns');
  const svcIP = serviceIP(cluster, 'prod-nginx', 'my-nginx-clusterip');
  // POD=$(kubectl get pods -n prod-nginx -l app=nginx -o jsonpath='{.items[0].status.podIP}'): items sorted by name
  const nginx = cluster.pods.filter((p) => p.namespace === 'prod-nginx' && p.labels['app'] === 'nginx' && p.ips.length > 0);
  if (!debug || !dnsIP || !svcIP || nginx.length === 0) {
    throw new Error('lab manifests are incomplete: need prod-nginx/debug, kube-dns, my-nginx-clusterip and nginx pods');
  }
  const podIP = firstIP(nginx[0]!);
  const out: CheckResult[] = [];
  const ask = (what: string, flow: Flow) => ({ what, flow, ...judge(flow) });
  const dnsFrom = (src: Pod) =>
    ask(`dig +search my-nginx-clusterip → kube-dns ${dnsIP}:53/UDP`, {
      src: firstIP(src),
      dst: dnsIP,
      protocol: 'UDP',
      srcPort: CLIENT_PORT.dns,
      dstPort: 53,
    });
  const http = (src: Pod, dst: string, what: string) =>
    ask(what, { src: firstIP(src), dst, protocol: 'TCP', srcPort: CLIENT_PORT.http, dstPort: 80 });
  const result = (check: Check, steps: CheckResult['steps']): CheckResult => {
    const outcome: Outcome = steps.every((s) => s.allowed) ? 'working' : 'failed';
    const expected = step.expected[check];
    return { check, label: CHECK_LABELS[check], outcome, ...(expected ? { expected } : {}), ok: !expected || expected === outcome, steps };
  };
  const dns = dnsFrom(debug);
  out.push(result('dns', [dns]));
  out.push(result('service', [dns, http(debug, svcIP, `curl http://my-nginx-clusterip → ${svcIP}:80/TCP`)]));
  out.push(result('podIP', [http(debug, podIP, `curl http://$POD → ${podIP}:80/TCP`)]));
  out.push(result('external', [dns, http(debug, EXTERNAL_SITE.ip, `curl http://${EXTERNAL_SITE.name} → ${EXTERNAL_SITE.ip}:80/TCP`)]));
  const other = findPod(cluster, 'myhackns', 'othernspod');
  if (other) {
    out.push(
      result('otherNs', [dnsFrom(other), http(other, svcIP, `curl my-nginx-clusterip.prod-nginx → ${svcIP}:80/TCP`)]),
    );
  }
  return out;
}

/** The cluster of a lab step: its manifests and every earlier step's. */
export async function loadStepCluster(index: number): Promise<{ files: string[]; cluster: Cluster }> {
  const files = labFiles(index);
  const loaded = await loadManifests(files, {});
  const built = buildCluster(loaded.objects, {});
  const diags = [...loaded.diagnostics, ...built.diagnostics];
  if (diags.some((d) => d.severity === 'error')) throw new ManifestError(diags);
  return { files, cluster: built.cluster };
}

/** Builds the cluster of every step (cumulatively) and runs the procedure after each. */
export async function runLab(sem: SemanticsOptions = DEFAULT_SEMANTICS, makeJudge: JudgeFactory = referenceJudge): Promise<StepResult[]> {
  const out: StepResult[] = [];
  for (const step of LAB_STEPS) {
    const { files, cluster } = await loadStepCluster(step.index);
    out.push({
      step,
      files,
      policies: cluster.policies.map((p) => `${p.namespace}/${p.name}`),
      results: runProcedure(cluster, step, makeJudge(cluster, sem)),
    });
  }
  return out;
}
