/**
 * `kpf lab [-o text|json]`: the lab of "Kubernetes native network security policies by example", step by step:
 * the manifest each step applies, the policies in force, and the results of the lab's connectivity procedure
 * next to the Results lines the lab states, with the reason for every failure. Exit 1 when any result differs.
 */
import path from 'node:path';
import { DEFAULT_SEMANTICS } from '../../core/options.js';
import { LAB_DIR } from '../../lab/lab.js';
import { runLab, type StepResult } from '../../lab/run.js';
import { COMMON_OPTIONS, SEMANTICS_OPTIONS, describeSemantics, parse, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { outputFormat, toJson } from '../output.js';

export const HELP = `Run the lab of "Kubernetes native network security policies by example".

Usage: kpf lab [-o text|json] [semantics switches]

For each step: the manifest applied, the policies in force, and the outcome of the lab's checks (DNS resolution,
access to the Service name, to the pod IP, to the external site, from the other namespace) beside the Results lines
the lab states. Exit 1 when any outcome differs from the lab.
`;

function why(r: StepResult['results'][number]): string {
  const failed = r.steps.find((s) => !s.allowed);
  return failed ? `${failed.what}: ${failed.detail}` : '';
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { ...COMMON_OPTIONS, ...SEMANTICS_OPTIONS }, false);
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['text', 'json']);
  const sem = semanticsFrom(v);
  const steps = await runLab(sem);
  const mismatches = steps.flatMap((s) => s.results.filter((r) => !r.ok)).length;
  if (fmt === 'json') {
    io.stdout.write(
      toJson({
        evaluator: 'reference',
        semantics: describeSemantics(sem),
        ok: mismatches === 0,
        steps: steps.map((s) => ({
          step: s.step.index,
          title: s.step.title,
          manifest: path.relative(process.cwd(), path.join(LAB_DIR, s.step.file)),
          policies: s.policies,
          results: s.results.map((r) => ({
            check: r.check,
            label: r.label,
            outcome: r.outcome,
            ...(r.expected ? { expected: r.expected } : {}),
            ok: r.ok,
            ...(r.outcome === 'failed' ? { reason: why(r) } : {}),
          })),
        })),
      }),
    );
    return mismatches ? 1 : 0;
  }
  const w = (s: string) => io.stdout.write(s);
  const d = describeSemantics(sem);
  const dflt = describeSemantics(DEFAULT_SEMANTICS);
  const changed = Object.entries(d).filter(([k, x]) => dflt[k] !== x);
  w(`Lab: Kubernetes native network security policies by example (evaluator: reference${changed.length ? `; ${changed.map(([k, x]) => `--${k}=${x}`).join(' ')}` : ''})\n\n`);
  for (const s of steps) {
    w(`Step ${s.step.index}: ${s.step.title}\n`);
    w(`  applies: examples/lab/${s.step.file}\n`);
    w(`  policies in force: ${s.policies.length ? s.policies.join(', ') : 'none'}\n`);
    w('  Results:\n');
    const width = Math.max(...s.results.map((r) => r.label.length)) + 1;
    for (const r of s.results) {
      const exp = r.expected ? (r.ok ? `lab: ${r.expected}  ok` : `lab: ${r.expected}  MISMATCH`) : 'lab: (not stated)';
      w(`  - ${(r.label + ':').padEnd(width)} ${r.outcome.padEnd(7)}   ${exp}\n`);
      if (r.outcome === 'failed') w(`      why: ${why(r)}\n`);
    }
    w('\n');
  }
  w(mismatches ? `${mismatches} result(s) differ from the lab\n` : 'every result matches the lab\n');
  return mismatches ? 1 : 0;
}
