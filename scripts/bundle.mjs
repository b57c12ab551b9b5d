#!/usr/bin/env node
/**
 * Bundles three module graphs into one file each, with the list of its inputs beside it (<bundle>.inputs.json), so that
 * core/bundle.ts can tell a bundle older than any of them (a later plain `tsc`) and not use it. Run after `tsc`
 * (npm run build / npm ci).
 *
 * 1. The body of `kpf replay` (dist/cli/commands/replay-run.js and the modules it imports) into
 *    dist/cli/commands/replay-run.bundle.cjs: commands/replay.ts runs it (core/bundle.ts loadScriptBundle). Loading
 *    ~75 modules one by one cost ~40 ms of the replay's start-up, the bundle ~12 ms as an ES module, and ~15 ms less
 *    again in the CommonJS shape, which Node 20 lets us run through `vm.Script` with V8's code cache (it keeps none for
 *    ES modules). `import.meta.url` in it becomes the bundle's URL (`__kpfUrl`), and the relative imports it keeps
 *    external are listed beside it (<bundle>.externals.json) for the loader to hand it those modules. Left out of it
 *    and imported from their own files, so that nothing exists twice and nothing moves:
 *    - the modules the command has already loaded when it imports the bundle (cli/main, cli/commands/replay and their
 *      static imports: errors, whose classes the CLI tests with instanceof; the worker pool the command started);
 *    - modules that find files next to themselves (`new URL('…', import.meta.url)`: the worker scripts, the lab);
 *    - packages (node_modules).
 * 2. The replay's worker (dist/workers/verdict.worker.js and its imports) into dist/workers/verdict.worker.bundle.cjs,
 *    in the CommonJS shape too: workers/pool.ts hands piscina workers/verdict.thread.js, which runs it with V8's code
 *    cache. A worker thread loads nothing else of kpf, so everything is inlined but packages, and a module that finds
 *    files next to itself only when it sits as deep under dist/ as the bundle (its relative URLs then resolve alike:
 *    datapath/wasm-core's `../../dist/wasm/fast4.wasm`); any other stays external.
 *    Its thread script (workers/verdict.thread.js and core/bundle.js) goes into dist/workers/verdict.thread.cjs, so that
 *    the thread loads no ES module.
 * 3. replay/pool-start with the worker pool and piscina inlined (see 4. below).
 * Without esbuild (an install without dev dependencies) this script does nothing and kpf loads the modules.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const entry = join(dist, 'cli/commands/replay-run.js');
const outfile = join(dist, 'cli/commands/replay-run.bundle.cjs');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed; kpf replay will load its modules one by one\n');
  process.exit(0);
}
if (!existsSync(entry)) throw new Error(`bundle: ${relative(root, entry)} is missing: run tsc first`);

// A build starts without code caches (the first run saves them): V8 accepts a cache as long as its bundle's source is
// unchanged, and a cache saved while collecting coverage by an earlier version of kpf (before core/bundle.ts
// codeCacheFile kept those apart) holds the coverage's block counters, which every run would then count.
for (const b of ['cli/commands/replay-run.bundle.cjs', 'workers/verdict.worker.bundle.cjs', 'workers/pool-start.bundle.cjs']) {
  for (const suffix of ['.v8cache', '.coverage.v8cache']) rmSync(join(dist, b + suffix), { force: true });
}

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
        // dynamic imports (the commands, the replay body, the worker pool) are not loaded up front
        b.onResolve({ filter: /^\./, namespace: 'file' }, (a) => (a.kind === 'dynamic-import' ? { external: true } : undefined));
        b.onResolve({ filter: /^[^./]/ }, () => ({ external: true }));
      },
    },
  ],
});
const loaded = new Set(Object.keys(pre.metafile.inputs).map((p) => resolve(root, p)));
if (!loaded.has(join(dist, 'core/errors.js'))) throw new Error('bundle: the pre-loaded modules were not found');

const locationRelative = (file) => /new URL\([^)]*import\.meta\.url/.test(readFileSync(file, 'utf8'));
/**
 * esbuild options of a bundle of `entryPoint` into `out`: packages stay external but those `inlinePackage` names, and
 * so does every relative import `keep(file)` says to keep, imported by its path from the bundle
 */
const bundleOf = (entryPoint, out, format, keep, inlinePackage = () => false) => ({
  entryPoints: [entryPoint],
  outfile: out,
  bundle: true,
  platform: 'node',
  format,
  target: 'node20',
  metafile: true,
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [
    {
      name: 'externals',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (inlinePackage(a) ? undefined : { external: true }));
        b.onResolve({ filter: /^\./ }, (a) => {
          const file = resolve(a.resolveDir, a.path);
          // (an inlined package's own modules are inlined)
          if (a.importer === '' || file === entryPoint || a.importer.includes(`${sep}node_modules${sep}`) || !keep(file)) return undefined;
          let rel = relative(dirname(out), file).split(sep).join('/');
          if (!rel.startsWith('.')) rel = './' + rel;
          return { path: rel, external: true };
        });
      },
    },
  ],
});

// 2. the bundle, in the CommonJS shape; replay/pool-start stays out of it: the command loads it first, from its own bundle
const poolStart = join(dist, 'replay/pool-start.js');
const script = await esbuild.build({
  ...bundleOf(entry, outfile, 'cjs', (file) => loaded.has(file) || file === poolStart || locationRelative(file)),
  define: { 'import.meta.url': '__kpfUrl' },
});
// its inputs, so that the command can tell a bundle older than any of them (a later plain `tsc`) and not use it; and
// the relative imports it keeps external
writeInputs(outfile, script);
writeExternals(outfile, script);

// 3. the worker's bundle, in the CommonJS shape too: workers/verdict.thread.js runs it with V8's code cache
const workerEntry = join(dist, 'workers/verdict.worker.js');
const workerOut = join(dist, 'workers/verdict.worker.bundle.cjs');
const depth = (dir) => relative(dist, dir).split(sep).length;
const worker = await esbuild.build({
  ...bundleOf(workerEntry, workerOut, 'cjs', (file) => locationRelative(file) && depth(dirname(file)) !== depth(dirname(workerOut))),
  define: { 'import.meta.url': '__kpfUrl' },
});
writeInputs(workerOut, worker);
writeExternals(workerOut, worker);
rmSync(join(dist, 'workers/verdict.worker.bundle.js'), { force: true }); // (the ES-module bundle of earlier builds)
// and the thread script that runs it (workers/verdict.thread.js with core/bundle.js), in the CommonJS shape: piscina
// loads it with require, and the thread then never starts Node's ES module loader (~2-3 ms of its boot)
const threadOut = join(dist, 'workers/verdict.thread.cjs');
const thread = await esbuild.build({
  ...bundleOf(join(dist, 'workers/verdict.thread.js'), threadOut, 'cjs', () => false),
  define: { 'import.meta.url': '__kpfThreadUrl' },
  banner: { js: '"use strict";\nvar __kpfThreadUrl = require("node:url").pathToFileURL(__filename).href;' },
});
writeInputs(threadOut, thread);

// 4. replay/pool-start with the worker pool and piscina inlined, in the CommonJS shape, beside workers/pool.js (whose
// relative URLs then resolve alike): `kpf replay` loads it first (cli/commands/replay.ts loadPoolStart), to start the
// threads, and piscina's ~10 modules one by one were ~15 ms of that. piscina finds its thread script beside its own
// file (`resolve(__dirname, 'worker.js')`), which inlined would be the bundle's directory: that one expression is
// rewritten to find piscina's directory through `require.resolve`. If it is not found (another piscina), there is no
// bundle, and the command imports the module.
const poolOut = join(dist, 'workers/pool-start.bundle.cjs');
const PISCINA_DIR = "(0, node_path_1.resolve)(__dirname, 'worker.js')";
let piscinaPatched = 0;
const poolOptions = bundleOf(
  poolStart,
  poolOut,
  'cjs',
  (file) => loaded.has(file) || (locationRelative(file) && dirname(file) !== dirname(poolOut)),
  (a) => a.path === 'piscina',
);
poolOptions.plugins = [
  {
    name: 'piscina-thread-script',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]piscina[\\/]dist[\\/]index\.js$/ }, (a) => {
        const text = readFileSync(a.path, 'utf8');
        if (!text.includes(PISCINA_DIR)) return { contents: text, loader: 'js' };
        piscinaPatched++;
        return { contents: text.replace(PISCINA_DIR, "(0, node_path_1.resolve)((0, node_path_1.dirname)(require.resolve('piscina')), 'worker.js')"), loader: 'js' };
      });
    },
  },
  ...poolOptions.plugins,
];
const pool = await esbuild.build({ ...poolOptions, define: { 'import.meta.url': '__kpfUrl' }, logOverride: { 'require-resolve-not-external': 'silent' } });
if (piscinaPatched !== 1) {
  for (const f of [poolOut, poolOut.replace(/\.cjs$/, '.inputs.json')]) rmSync(f, { force: true });
  process.stdout.write(`bundle: piscina's thread script path was not found in its code: no ${relative(root, poolOut)}\n`);
} else {
  writeInputs(poolOut, pool);
  writeExternals(poolOut, pool);
}

function writeInputs(bundle, built) {
  const dir = dirname(bundle);
  const inputs = Object.keys(built.metafile.inputs).map((p) => relative(dir, resolve(root, p)).split(sep).join('/'));
  writeFileSync(bundle.replace(/\.c?js$/, '.inputs.json'), JSON.stringify(inputs) + '\n');
  process.stdout.write(`bundle: ${relative(root, bundle)} (${inputs.length} modules)\n`);
}

/** The relative imports a CommonJS-shaped bundle keeps external, beside it (<bundle>.externals.json: core/bundle.ts) */
function writeExternals(bundle, built) {
  const externals = [...new Set(Object.values(built.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && i.path.startsWith('.')).map((i) => i.path)))];
  writeFileSync(bundle.replace(/\.cjs$/, '.externals.json'), JSON.stringify(externals) + '\n');
}
