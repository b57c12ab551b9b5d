/**
 * `kpf lab [-o text|json]`: the lab of "Kubernetes native network security policies by example", step by step:
 * the manifest each step applies, the policies in force, and the results of the lab's connectivity procedure
 * next to the Results lines the lab states, with the reason for every failure. Exit 1 when any result differs.
 */
import { DEFAULT_SEMANTICS } from '../../core/options.js';
import { UsageError } from '../../core/errors.js';
import { runLabReplay, type ReplayStep } from '../../lab/replay.js';
import { runLab, type StepResult } from '../../lab/run.js';
import { runLabLive } from '../../lab/live.js';
import { DIR_INGRESS } from '../../policy/compile.js';
import { formatTable } from '../table.js';
import { entryPortText, entryPrefix, identityLabelText } from './compile.js';
import { COMMON_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { outputFormat, toJson } from '../output.js';
import { MAX_WORKERS } from '../../replay/pool-limits.js';

export const HELP = `Run the lab of "Kubernetes native network security policies by example".

Usage: kpf lab [-o text|json] [--reference | --live] [--workers N] [semantics switches]

For each step: the manifest applied, the policy-map entries it added (as kpf compile shows them), and the outcome
of the lab's checks (DNS resolution, access to the Service name, to the pod IP, to the external site, from the other
namespace), obtained by replaying the lab's traffic (kpf gen lab) through the replay engine, beside the Results
lines the lab states, with the reason for every failure. --reference asks the reference evaluator instead;
--live runs the lab for real: network namespaces, the live dataplane, DNS and HTTP servers, dig and curl (root).
Exit 1 when any outcome differs from the lab.
`;

function entriesAdded(s: ReplayStep): string {
  const c = s.compiled;
  const added = new Set(s.added.map((p) => c.policyNames.indexOf(p)));
  const rows: string[][] = [];
  for (const e of c.entries) {
    const from = e.rows.map((r) => c.rows[r]!).filter((row) => added.has(row.policy));
    if (from.length === 0) continue;
    const ep = c.endpoints[e.endpoint - 1]!;
    rows.push([
      ep.key,
      'Allow',
      e.dir === DIR_INGRESS ? 'Ingress' : 'Egress',
      identityLabelText(c, e.peer),
      entryPortText(e),
      String(entryPrefix(e)),
      [...new Set(from.map((row) => `${c.policyNames[row.policy]}#${row.dir === DIR_INGRESS ? 'ingress' : 'egress'}[${row.rule}]`))].join(','),
    ]);
  }
  const isolated = c.endpoints.filter((ep) => ep.selectedBy.some((i) => added.has(i)));
  const lines: string[] = [];
  if (isolated.length) lines.push(`  selects: ${isolated.map((e) => e.key).join(', ')}`);
  if (rows.length === 0) lines.push('  policy-map entries added: none (isolation only: what is not allowed is denied)');
  else {
    lines.push('  policy-map entries added:');
    lines.push(...formatTable(['ENDPOINT', 'POLICY', 'DIRECTION', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PREFIX', 'DERIVED FROM'], rows).trimEnd().split('\n').map((l) => `    ${l}`));
  }
  return lines.join('\n') + '\n';
}

/** One step as both evaluators report it, for printing. */
interface StepView {
  index: number;
  title: string;
  file: string;
  policies: string[];
  added?: string[];
  entries?: string;
  checks: Array<{ check: string; label: string; outcome: string; expected?: string; ok: boolean; why?: string; packets?: number; dropped?: number }>;
}

function fromReplay(s: ReplayStep): StepView {
  return {
    index: s.step.index,
    title: s.step.title,
    file: s.step.file,
    policies: s.policies,
    added: s.added,
    ...(s.added.length ? { entries: entriesAdded(s) } : {}),
    checks: s.checks.map((r) => ({
      check: r.check,
      label: r.label,
      outcome: r.outcome,
      ...(r.expected ? { expected: r.expected } : {}),
      ok: r.ok,
      ...(r.why ? { why: r.why } : {}),
      packets: r.exchanges.reduce((a, e) => a + e.forwarded + e.dropped, 0),
      dropped: r.exchanges.reduce((a, e) => a + e.dropped, 0),
    })),
  };
}

function fromReference(s: StepResult): StepView {
  return {
    index: s.step.index,
    title: s.step.title,
    file: s.step.file,
    policies: s.policies,
    checks: s.results.map((r) => ({
      check: r.check,
      label: r.label,
      outcome: r.outcome,
      ...(r.expected ? { expected: r.expected } : {}),
      ok: r.ok,
      ...(r.outcome === 'failed' ? { why: why(r) } : {}),
    })),
  };
}

function why(r: StepResult['results'][number]): string {
  const failed = r.steps.find((s) => !s.allowed);
  return failed ? `${failed.what}: ${failed.detail}` : '';
}

function printText(io: Io, steps: StepView[], heading: string): void {
  const w = (s: string) => io.stdout.write(s);
  w(`${heading}\n\n`);
  for (const s of steps) {
    w(`Step ${s.index}: ${s.title}\n`);
    w(`  applies: examples/lab/${s.file}\n`);
    w(`  policies in force: ${s.policies.length ? s.policies.join(', ') : 'none'}\n`);
    if (s.entries) w(s.entries);
    w('  Results:\n');
    const width = Math.max(...s.checks.map((r) => r.label.length)) + 1;
    for (const r of s.checks) {
      const exp = r.expected ? (r.ok ? `lab: ${r.expected}  ok` : `lab: ${r.expected}  MISMATCH`) : 'lab: (not stated)';
      w(`  - ${(r.label + ':').padEnd(width)} ${r.outcome.padEnd(7)}   ${exp}\n`);
      if (r.why) w(`      why: ${r.why}\n`);
    }
    w('\n');
  }
  const mismatches = steps.flatMap((s) => s.checks.filter((r) => !r.ok)).length;
  w(mismatches ? `${mismatches} result(s) differ from the lab\n` : 'every result matches the lab\n');
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { ...COMMON_OPTIONS, ...SEMANTICS_OPTIONS, reference: { type: 'boolean' }, live: { type: 'boolean' }, workers: { type: 'string' } }, false);
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['text', 'json']);
  const sem = semanticsFrom(v);
  const d = describeSemantics(sem);
  const dflt = describeSemantics(DEFAULT_SEMANTICS);
  const changed = Object.entries(d).filter(([k, x]) => dflt[k] !== x);
  const switches = changed.length ? `; ${changed.map(([k, x]) => `--${k}=${x}`).join(' ')}` : '';
  const reference = v['reference'] === true;
  const live = v['live'] === true;
  if (reference && live) throw new UsageError('--reference and --live cannot be combined');
  const w = v['workers'];
  if (w !== undefined && (typeof w !== 'string' || !/^\d+$/.test(w) || Number(w) < 1 || Number(w) > MAX_WORKERS)) {
    throw new UsageError(`invalid --workers "${String(w)}" (1 to ${MAX_WORKERS})`);
  }
  const workers = w === undefined ? 1 : Number(w);
  const steps = live
    ? (await runLabLive({ semantics: sem, log: (l) => io.stderr.write(`${l}\n`) })).map(fromReference)
    : reference
      ? (await runLab(sem)).map(fromReference)
      : (await runLabReplay(sem, { workers })).map(fromReplay);
  const ok = steps.every((s) => s.checks.every((r) => r.ok));
  if (fmt === 'json') {
    io.stdout.write(
      toJson({
        evaluator: live ? 'live' : reference ? 'reference' : 'replay',
        semantics: d,
        ok,
        steps: steps.map((s) => ({
          step: s.index,
          title: s.title,
          manifest: `examples/lab/${s.file}`,
          policies: s.policies,
          ...(s.added ? { added: s.added } : {}),
          results: s.checks.map(({ why: reason, ...r }) => ({ ...r, ...(reason ? { reason } : {}) })),
        })),
      }),
    );
  } else {
    const how = live
      ? 'live: dig and curl in network namespaces through the live dataplane'
      : reference
        ? 'evaluator: reference'
        : 'replayed: kpf gen lab traffic through kpf replay';
    printText(io, steps, `Lab: Kubernetes native network security policies by example (${how}${switches})`);
  }
  return ok ? 0 : 1;
}
