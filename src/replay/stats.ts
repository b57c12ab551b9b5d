/**
 * Counters of a replay — counts by verdict and reason, bytes, the top dropped flows (replay/tally.ts: counted by
 * the main thread from the ordered batches, or by the workers and merged here), and at the end the workers' own
 * counters (policy-rule hits, conntrack, caches); printed as the `summary` output and as Prometheus text (`--metrics`).
 */
import { DropReasonText } from '../core/enums.js';
import { wordsToIP } from '../core/flow-key.js';
import { ForwardReasonName, type VerdictBatch } from '../datapath/classify.js';
import { DIR_INGRESS, type Compiled } from '../policy/compile.js';
import type { RecordBatch } from '../sources/capture.js';
import { dropReasonName } from './records.js';
import { VerdictTally } from './tally.js';
import type { ReplaySummary } from './engine.js';
import { VERSION } from '../version.js';

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMPv4', 58: 'ICMPv6' };

export class ReplayStats extends VerdictTally {
  /** Counts a batch's records (its verdicts in batch order). */
  addBatch(records: RecordBatch, v: VerdictBatch): void {
    this.add(records.buf, records.offsets, records.capLens, records.wireLens, records.linkTypes, v, 0, v.count);
  }

  /** [reason, packets] of the forwarded packets, reasons with none left out */
  get forwardReasons(): Array<[number, number]> {
    return nonZero(this.fwdBy);
  }

  /** [reason, packets] of the dropped packets */
  get dropReasons(): Array<[number, number]> {
    return nonZero(this.dropBy);
  }

  /** The n flows with most dropped packets as text, most first (ties by text). */
  topDropped(n: number): Array<[string, number]> {
    if (n <= 0) return [];
    // only the flows that can make the list are put into words: down to the n-th count, ties included
    const top: Array<[string, number]> = [];
    for (const [w, c] of this.droppedFlows?.top(n) ?? []) {
      const fam = w[0]! >>> 8;
      const proto = w[0]! & 0xff;
      const src = wordsToIP(fam, w[1]! >>> 0, w[2]! >>> 0, w[3]! >>> 0, w[4]! >>> 0);
      const dst = wordsToIP(fam, w[5]! >>> 0, w[6]! >>> 0, w[7]! >>> 0, w[8]! >>> 0);
      top.push([`${src} -> ${dst}${w[9]! >= 0 ? `:${w[9]}` : ''} ${PROTO[proto] ?? proto}`, c]);
    }
    return top.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }

}

function nonZero(a: Float64Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push([i, a[i]!]);
  return out;
}

/** Packets allowed per policy rule (first packets and established ones), summed over workers. */
export function ruleHits(c: Compiled, summary: ReplaySummary): Array<{ rule: string; packets: number; bytes: number }> {
  const hits = new Map<string, { packets: number; bytes: number }>();
  for (const w of summary.workers) {
    if (!w || w.revision !== c.revision) continue;
    for (let e = 0; e < w.entryPackets.length; e++) {
      const p = w.entryPackets[e]!;
      if (p === 0) continue;
      const entry = c.entries[e]!;
      for (const r of entry.rows.slice(0, 1)) {
        const row = c.rows[r]!;
        const name = `${c.policyNames[row.policy]}#${row.dir === DIR_INGRESS ? 'ingress' : 'egress'}[${row.rule}]`;
        const h = hits.get(name) ?? { packets: 0, bytes: 0 };
        h.packets += p;
        h.bytes += w.entryBytes[e]!;
        hits.set(name, h);
      }
    }
  }
  return [...hits].map(([rule, h]) => ({ rule, ...h })).sort((a, b) => b.packets - a.packets || (a.rule < b.rule ? -1 : 1));
}

function pct(a: number, b: number): string {
  return b === 0 ? '0.0%' : `${((100 * a) / b).toFixed(1)}%`;
}

export function summaryText(st: ReplayStats, c: Compiled, s: ReplaySummary): string {
  const lines: string[] = [];
  const pps = s.wallSeconds > 0 ? st.records / s.wallSeconds : 0;
  lines.push(`Records: ${st.records}   forwarded ${st.forwarded} (${pct(st.forwarded, st.records)})   dropped ${st.dropped} (${pct(st.dropped, st.records)})`);
  lines.push(`New connections evaluated: ${st.newConnections}   replies: ${st.replies}   mid-flow pickups: ${st.pickups}   truncated records: ${st.truncated}`);
  if (s.defaultVerdicts) lines.push(`Default verdicts after worker failures: ${s.defaultVerdicts} (${s.workerFailures} failed batch tasks)`);
  lines.push(`Time: ${s.wallSeconds.toFixed(3)} s (${(pps / 1e6).toFixed(3)} Mpps whole run, ${s.steadySeconds > 0 ? (st.records / s.steadySeconds / 1e6).toFixed(3) : '0'} Mpps from the first batch)`);
  lines.push('', 'Verdicts by reason:');
  for (const [r, n] of [...st.dropReasons].sort((a, b) => b[1] - a[1])) {
    lines.push(`  DROPPED    ${dropReasonName(r).padEnd(34)} ${String(n).padStart(10)}   ${DropReasonText[r] ?? ''}`);
  }
  for (const [r, n] of [...st.forwardReasons].sort((a, b) => b[1] - a[1])) {
    lines.push(`  FORWARDED  ${(ForwardReasonName[r] ?? String(r)).padEnd(34)} ${String(n).padStart(10)}`);
  }
  const hits = ruleHits(c, s);
  lines.push('', 'Hits per policy rule (packets allowed):');
  if (hits.length === 0) lines.push('  (none)');
  for (const h of hits.slice(0, 50)) lines.push(`  ${h.rule.padEnd(60)} ${String(h.packets).padStart(10)} packets ${String(h.bytes).padStart(12)} bytes`);
  if (hits.length > 50) lines.push(`  … ${hits.length - 50} more`);
  const top = st.topDropped(10);
  if (top.length) {
    lines.push('', 'Top dropped flows:');
    for (const [f, n] of top) lines.push(`  ${String(n).padStart(10)}  ${f}`);
  }
  return lines.join('\n') + '\n';
}

/** Prometheus text exposition of the replay (observability.md §4). */
export function metricsText(st: ReplayStats, c: Compiled, s: ReplaySummary): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: Array<[Record<string, string>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels);
      out.push(`${name}${l.length ? `{${l.map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, (m) => (m === '\n' ? '\\n' : `\\${m}`))}"`).join(',')}}` : ''} ${v}`);
    }
  };
  metric('kpf_build_info', 'gauge', 'kpf build information.', [[{ version: VERSION, node_version: process.version }, 1]]);
  metric('kpf_packets_total', 'counter', 'Capture records by verdict.', [
    [{ verdict: 'forwarded' }, st.forwarded],
    [{ verdict: 'dropped' }, st.dropped],
  ]);
  metric('kpf_bytes_total', 'counter', 'Wire bytes by verdict.', [
    [{ verdict: 'forwarded' }, st.bytesForwarded],
    [{ verdict: 'dropped' }, st.bytesDropped],
  ]);
  metric(
    'kpf_drops_total',
    'counter',
    'Dropped packets by reason.',
    [...st.dropReasons].sort((a, b) => a[0] - b[0]).map(([r, n]) => [{ reason: dropReasonName(r).toLowerCase() }, n]),
  );
  const bypass = ['loopback', 'node_ingress', 'icmpv6_nd', 'non_ip', 'hairpin', 'icmp_allow'];
  metric(
    'kpf_bypass_total',
    'counter',
    'Packets not subject to policy, by reason.',
    bypass.map((b) => [{ reason: b }, [...st.forwardReasons].filter(([r]) => ForwardReasonName[r] === b).reduce((a, [, n]) => a + n, 0)]),
  );
  metric('kpf_default_verdicts_total', 'counter', 'Default verdicts assigned after worker failures.', [[{ reason: 'worker_error' }, s.defaultVerdicts]]);
  metric('kpf_capture_records_total', 'counter', 'Capture records read.', [
    [{ result: 'ok' }, st.records - st.truncated],
    [{ result: 'truncated' }, st.truncated],
  ]);
  const workers = s.workers.filter((w): w is NonNullable<typeof w> => w !== null);
  const sum = (f: (w: (typeof workers)[number]) => number) => workers.reduce((a, w) => a + f(w), 0);
  metric('kpf_conntrack_entries', 'gauge', 'Conntrack entries at the end of the run.', [
    [{ table: 'tcp' }, sum((w) => w.conntrack.tcp.entries)],
    [{ table: 'any' }, sum((w) => w.conntrack.any.entries)],
  ]);
  metric('kpf_conntrack_evictions_total', 'counter', 'Conntrack entries evicted to make room.', [
    [{ table: 'tcp', reason: 'expired' }, sum((w) => w.conntrack.tcp.evictions.expired)],
    [{ table: 'tcp', reason: 'non_assured' }, sum((w) => w.conntrack.tcp.evictions.non_assured)],
    [{ table: 'tcp', reason: 'lru' }, sum((w) => w.conntrack.tcp.evictions.lru)],
    [{ table: 'any', reason: 'expired' }, sum((w) => w.conntrack.any.evictions.expired)],
    [{ table: 'any', reason: 'non_assured' }, sum((w) => w.conntrack.any.evictions.non_assured)],
    [{ table: 'any', reason: 'lru' }, sum((w) => w.conntrack.any.evictions.lru)],
  ]);
  metric('kpf_verdict_cache_lookups_total', 'counter', 'Verdict cache lookups by result.', [
    [{ result: 'hit' }, sum((w) => w.verdictCache.hits)],
    [{ result: 'miss' }, sum((w) => w.verdictCache.misses)],
    [{ result: 'stale' }, sum((w) => w.verdictCache.stale)],
  ]);
  metric('kpf_fast_path_packets_total', 'counter', 'Packets classified by the WebAssembly fast path, by kind.', [
    [{ kind: 'established' }, sum((w) => w.fastPath.packets - w.fastPath.dropMemoHits - w.fastPath.createMemoHits - w.fastPath.decided)],
    [{ kind: 'drop_memo' }, sum((w) => w.fastPath.dropMemoHits)],
    [{ kind: 'new_memo' }, sum((w) => w.fastPath.createMemoHits)],
    [{ kind: 'decided' }, sum((w) => w.fastPath.decided)],
  ]);
  metric('kpf_policy_revision', 'gauge', 'Policy revision in force.', [[{}, c.revision]]);
  metric('kpf_policies', 'gauge', 'NetworkPolicies compiled.', [[{}, c.policies.length]]);
  metric('kpf_endpoints', 'gauge', 'Endpoints (pods enforced for).', [[{}, c.endpoints.length]]);
  metric('kpf_identities', 'gauge', 'Security identities allocated.', [[{}, c.identities.length]]);
  metric('kpf_policy_map_entries_max', 'gauge', 'Entries of the largest endpoint policy map.', [[{}, c.stats.maxEntriesPerEndpoint]]);
  metric('kpf_workers', 'gauge', 'Worker threads.', [[{}, s.workers.length]]);
  metric('kpf_worker_restarts_total', 'counter', 'Worker threads replaced after a failure.', [[{ reason: 'error' }, s.workerFailures]]);
  return out.join('\n') + '\n';
}
