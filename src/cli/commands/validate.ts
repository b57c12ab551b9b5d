/**
 * `kpf validate -f …`: strict decoding, defaulting and API-server validation of every document, the cluster-level
 * checks, and lint warnings. Exit 0 when valid (warnings printed), 1 with every error listed.
 */
import { formatDiagnostic, type Diagnostic } from '../../core/errors.js';
import { buildCluster } from '../../cluster/build.js';
import { loadManifests } from '../../manifests/index.js';
import { lintCluster } from '../../policy/lint.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, loadOptionsFrom, parse, semanticsFrom } from '../args.js';
import type { Io } from '../io.js';
import { outputFormat, toJson } from '../output.js';
import { sourcePaths } from '../load.js';
import path from 'node:path';

export const HELP = `Validate manifests as the API server would, and lint the policies.

Usage: kpf validate -f FILE|DIR|- ... [-R] [-n NS] [-o text|json]
       [--cidr-validation strict|legacy] [--duplicates reject|last-wins] [--create-namespaces] [--no-default-dns]

Exit 0 when every document is valid (warnings are printed), 1 when any is not (all errors are listed).
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS }, false);
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['text', 'json']);
  const options = loadOptionsFrom(v);
  const sem = semanticsFrom(v);
  const cwd = io.cwd ?? process.cwd();
  const sources = sourcePaths(v, io);
  const loaded = await loadManifests(sources, { ...options, ...(io.stdin ? { stdin: io.stdin } : {}) });
  const built = buildCluster(loaded.objects, options);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics, ...built.diagnostics];
  if (!diagnostics.some((d) => d.severity === 'error')) diagnostics.push(...lintCluster(built.cluster, sem));
  const rel = diagnostics.map((d) =>
    d.loc && path.isAbsolute(d.loc.file) && !path.relative(cwd, d.loc.file).startsWith('..')
      ? { ...d, loc: { ...d.loc, file: path.relative(cwd, d.loc.file) } }
      : d,
  );
  const errors = rel.filter((d) => d.severity === 'error');
  const counts = new Map<string, number>();
  for (const o of loaded.objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  if (fmt === 'json') {
    io.stdout.write(
      toJson({
        valid: errors.length === 0,
        objects: Object.fromEntries([...counts].sort()),
        errors: rel.filter((d) => d.severity === 'error'),
        warnings: rel.filter((d) => d.severity === 'warning'),
        notices: rel.filter((d) => d.severity === 'notice'),
      }),
    );
    return errors.length ? 1 : 0;
  }
  for (const d of rel) {
    const prefix = d.severity === 'error' ? 'error: ' : d.severity === 'warning' ? 'Warning: ' : 'notice: ';
    (d.severity === 'error' ? io.stderr : io.stdout).write(prefix + formatDiagnostic(d) + '\n');
  }
  const plural = (k: string, n: number) => (n === 1 ? k : k.endsWith('y') ? `${k.slice(0, -1)}ies` : `${k}s`);
  const summary = [...counts].sort().map(([k, n]) => `${n} ${plural(k, n)}`).join(', ') || 'no objects';
  const nw = rel.filter((d) => d.severity === 'warning').length;
  if (errors.length) {
    io.stderr.write(`${errors.length} error${errors.length === 1 ? '' : 's'}; input is invalid (${summary} read)\n`);
    return 1;
  }
  io.stdout.write(`valid: ${summary}${nw ? `; ${nw} warning${nw === 1 ? '' : 's'}` : ''}\n`);
  return 0;
}
