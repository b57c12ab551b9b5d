#!/usr/bin/env node
/**
 * Bundles the body of `kpf replay` (dist/cli/commands/replay-run.js and the modules it imports) into one file,
 * dist/cli/commands/replay-run.bundle.js, with the list of its inputs beside it (replay-run.bundle.inputs.json);
 * commands/replay.ts imports the bundle when it is newer than every input: loading ~75 modules one by one cost
 * ~40 ms of the replay's start-up, the bundle ~12 ms. Run after `tsc` (npm run build / npm ci).
 *
 * Left out of the bundle and imported from their own files, so that nothing exists twice and nothing moves:
 * - the modules the command has already loaded when it imports the bundle (cli/main, cli/commands/replay and their
 *   static imports: errors, whose classes the CLI tests with instanceof; the worker pool the command started);
 * - modules that find files next to themselves (`new URL('…', import.meta.url)`: the worker scripts, the lab);
 * - packages (node_modules).
 * Without esbuild (an install without dev dependencies) this script does nothing and the command imports
 * replay-run.js itself.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const entry = join(dist, 'cli/commands/replay-run.js');
const outfile = join(dist, 'cli/commands/replay-run.bundle.js');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed; kpf replay will load its modules one by one\n');
  process.exit(0);
}
if (!existsSync(entry)) throw new Error(`bundle: ${relative(root, entry)} is missing: run tsc first`);

// 1. the modules loaded before the bundle: main.js and commands/replay.js with their static imports
const pre = await esbuild.build({
  stdin: { contents: "import './cli/main.js'; import './cli/commands/replay.js';", resolveDir: dist, loader: 'js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  write: false,
  metafile: true,
  absWorkingDir: root,
  logLevel: 'silent',
  plugins: [
    {
      name: 'static-only',
      setup(b) {
        // dynamic imports (the commands, the replay body) are not loaded up front
        b.onResolve({ filter: /^\.\/(commands\/.*|replay-run)\.js$/, namespace: 'file' }, (a) => (a.kind === 'dynamic-import' ? { external: true } : undefined));
        b.onResolve({ filter: /^[^./]/ }, () => ({ external: true }));
      },
    },
  ],
});
const loaded = new Set(Object.keys(pre.metafile.inputs).map((p) => resolve(root, p)));
if (!loaded.has(join(dist, 'core/errors.js'))) throw new Error('bundle: the pre-loaded modules were not found');

// 2. the bundle
const locationRelative = (file) => /new URL\([^)]*import\.meta\.url/.test(readFileSync(file, 'utf8'));
const outDir = dirname(outfile);
const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [
    {
      name: 'keep-shared-modules-external',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, () => ({ external: true }));
        b.onResolve({ filter: /^\./ }, (a) => {
          const file = resolve(a.resolveDir, a.path);
          if (a.importer === '' || file === entry) return undefined;
          if (!loaded.has(file) && !locationRelative(file)) return undefined;
          let rel = relative(outDir, file).split(sep).join('/');
          if (!rel.startsWith('.')) rel = './' + rel;
          return { path: rel, external: true };
        });
      },
    },
  ],
});
// its inputs, so that the command can tell a bundle older than any of them (a later plain `tsc`) and not use it
const inputs = Object.keys(result.metafile.inputs).map((p) => relative(outDir, resolve(root, p)).split(sep).join('/'));
writeFileSync(outfile.replace(/\.js$/, '.inputs.json'), JSON.stringify(inputs) + '\n');
process.stdout.write(`bundle: ${relative(root, outfile)} (${inputs.length} modules)\n`);
