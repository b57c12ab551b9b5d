/**
 * The lab through the real replay engine: the lab's traffic (`kpf gen lab`: every connection of the procedure as a
 * full exchange) replayed against each step's manifests on worker threads, conntrack and Service NAT included. A
 * check works when every packet of every exchange it needs was forwarded. Each failure is explained by the first
 * dropped packet (reason, direction, the isolating policies) and by the reference evaluator's account of the
 * connection.
 */
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import { labCaptureBytes, labTraffic, loadLabCluster, type LabExchange } from '../gen/lab.js';
import { compile, type Compiled } from '../policy/compile.js';
import { evaluate } from '../policy/reference.js';
import { buildSnapshot } from '../policy/snapshot.js';
import type { Flow } from '../policy/types.js';
import { replay, type ReplayOptions } from '../replay/engine.js';
import { RecordContext, type FlowRecord } from '../replay/records.js';
import { CHECK_LABELS, LAB_STEPS, type Check, type LabStep, type Outcome } from './lab.js';
import { loadStepCluster } from './run.js';

export interface ExchangeResult {
  exchange: LabExchange;
  allowed: boolean;
  forwarded: number;
  dropped: number;
  /** the first dropped packet, as its flow record */
  firstDrop?: FlowRecord;
  /** the reference evaluator's one-line account of the connection */
  reference: string;
}

export interface ReplayCheck {
  check: Check;
  label: string;
  outcome: Outcome;
  expected?: Outcome;
  ok: boolean;
  exchanges: ExchangeResult[];
  /** why it failed, one line (absent when working) */
  why?: string;
}

export interface ReplayStep {
  step: LabStep;
  files: string[];
  policies: string[];
  compiled: Compiled;
  /** policies this step added (by name) */
  added: string[];
  checks: ReplayCheck[];
}

function dropText(r: FlowRecord): string {
  const what = `${r.protocol}${r.tcp_flags ? ` [${r.tcp_flags}]` : ''} ${r.src_pod ?? r.src_ip}${r.src_port ? `:${r.src_port}` : ''} → ${r.service ?? r.dst_pod ?? r.dst_ip}${r.dst_port ? `:${r.dst_port}` : ''}`;
  const denied = r.denied_by?.map((d) => `${d.direction} isolated by ${d.policies.join(', ')}, no rule allows it`).join('; ');
  return `packet #${r.index} ${what} DROPPED ${r.drop_reason}${denied ? ` (${denied})` : ''}`;
}

/** Replays the lab capture against every step; `replayOptions` as for `kpf replay`. */
export async function runLabReplay(sem: SemanticsOptions = DEFAULT_SEMANTICS, replayOptions: Partial<ReplayOptions> = {}): Promise<ReplayStep[]> {
  const labCluster = await loadLabCluster();
  const traffic = labTraffic(labCluster);
  const bytes = await labCaptureBytes(traffic);
  const out: ReplayStep[] = [];
  let previous = new Set<string>();
  for (const step of LAB_STEPS) {
    const { files, cluster } = await loadStepCluster(step.index);
    const compiled = compile(cluster, { semantics: sem });
    const snapshot = buildSnapshot(compiled, { shared: true });
    const ctx = new RecordContext(compiled, snapshot);
    const results = traffic.exchanges.map((e) => ({ exchange: e, allowed: true, forwarded: 0, dropped: 0 }) as ExchangeResult);
    let ex = 0;
    await replay(bytes, snapshot, { workers: 1, ...replayOptions }, {
      batch({ records, verdicts }) {
        for (let i = 0; i < verdicts.count; i++) {
          const index = records.firstIndex + i;
          while (ex < results.length && index >= results[ex]!.exchange.end) ex++;
          const r = results[ex];
          if (!r) continue;
          if (verdicts.verdict[i] === 1) r.forwarded++;
          else {
            r.dropped++;
            r.allowed = false;
            if (!r.firstDrop) r.firstDrop = ctx.record(records, verdicts, i);
          }
        }
      },
    });
    for (const r of results) {
      const e = r.exchange;
      const flow: Flow = { src: e.src, dst: e.dst, protocol: e.protocol, srcPort: e.srcPort, dstPort: e.dstPort };
      // a pod of a later step is not in this step's cluster: its packets are then addressed from outside
      r.reference = evaluate(cluster, flow, sem).detail;
    }
    const checks: ReplayCheck[] = [];
    const present = new Set(cluster.pods.map((p) => `${p.namespace}/${p.name}`));
    for (const check of Object.keys(CHECK_LABELS) as Check[]) {
      const exs = results.filter((r) => r.exchange.neededBy.includes(check));
      if (exs.length === 0 || !exs.every((r) => present.has(r.exchange.pod))) continue;
      const outcome: Outcome = exs.every((r) => r.allowed) ? 'working' : 'failed';
      const expected = step.expected[check];
      const failed = exs.find((r) => !r.allowed);
      checks.push({
        check,
        label: CHECK_LABELS[check],
        outcome,
        ...(expected ? { expected } : {}),
        ok: !expected || expected === outcome,
        exchanges: exs,
        ...(failed ? { why: `${failed.exchange.what}: ${failed.firstDrop ? dropText(failed.firstDrop) : 'dropped'}; reference: ${failed.reference}` } : {}),
      });
    }
    const policies = compiled.policyNames.slice();
    out.push({ step, files, policies, compiled, added: policies.filter((p) => !previous.has(p)), checks });
    previous = new Set(policies);
  }
  return out;
}
