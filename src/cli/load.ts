/**
 * Manifest loading for the sub-commands: `-f` paths (or the built-in lab with `--lab`) → cluster model.
 * Errors of every document are collected and raised together (exit 1); notices go to stderr.
 */
import path from 'node:path';
import { ManifestError, UsageError, formatDiagnostic, type Diagnostic } from '../core/errors.js';
import type { LoadOptions } from '../core/options.js';
import { buildCluster } from '../cluster/build.js';
import type { Cluster } from '../cluster/model.js';
import { loadManifests } from '../manifests/index.js';
import { labFiles } from '../lab/lab.js';
import type { Io } from './io.js';
import { loadOptionsFrom, type Values } from './args.js';

export interface Loaded {
  cluster: Cluster;
  diagnostics: Diagnostic[];
  options: LoadOptions;
  /** the paths that were read */
  sources: string[];
}

/** Reads the manifests named by the flags; throws ManifestError when any document is invalid. */
export async function loadFromFlags(v: Values, io: Io): Promise<Loaded> {
  const options = loadOptionsFrom(v);
  const cwd = io.cwd ?? process.cwd();
  const sources = sourcePaths(v, io);
  // (io.stdin only for a `-f -`: Node builds process.stdin, ~2 ms, on first access)
  const stdin = sources.includes('-') ? io.stdin : undefined;
  const loaded = await loadManifests(sources, { ...options, ...(stdin ? { stdin } : {}) });
  const built = buildCluster(loaded.objects, options);
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics].map((d) => relativise(d, cwd));
  if (diagnostics.some((d) => d.severity === 'error')) throw new ManifestError(diagnostics);
  return { cluster: built.cluster, diagnostics, options, sources };
}

/**
 * The paths named by -f (or the lab's files with --lab). Relative paths stay relative to the process's directory
 * so that messages name them as the user typed them; io.cwd (tests) re-anchors them.
 */
export function sourcePaths(v: Values, io: Io): string[] {
  const files = Array.isArray(v['filename']) ? (v['filename'] as string[]) : [];
  const cwd = io.cwd ?? process.cwd();
  if (v['lab'] === true) {
    if (files.length > 0) throw new UsageError('--lab and -f cannot be combined');
    return labFiles();
  }
  if (files.length === 0) throw new UsageError('must specify one of -f or --lab');
  return files.map((f) => (f === '-' || path.isAbsolute(f) ? f : path.relative(process.cwd(), path.resolve(cwd, f)) || '.'));
}

/** Prints notices (and optionally warnings) to stderr. */
export function printDiagnostics(io: Io, diagnostics: Diagnostic[], withWarnings: boolean): void {
  for (const d of diagnostics) {
    if (d.severity === 'notice') io.stderr.write(`notice: ${formatDiagnostic(d)}\n`);
    else if (d.severity === 'warning' && withWarnings) io.stderr.write(`Warning: ${formatDiagnostic(d)}\n`);
  }
}

function relativise(d: Diagnostic, cwd: string): Diagnostic {
  if (!d.loc || !path.isAbsolute(d.loc.file)) return d;
  const rel = path.relative(cwd, d.loc.file);
  return { ...d, loc: { ...d.loc, file: rel.startsWith('..') ? d.loc.file : rel } };
}
