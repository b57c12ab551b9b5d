#!/usr/bin/env node
/**
 * Bundles the module graphs that `kpf replay` runs into one file each, in the CommonJS shape, with the list of its
 * inputs beside it (<bundle>.inputs.json), so that core/bundle.ts can tell a bundle older than any of them (a later
 * plain `tsc`) and not use it. Node 20 keeps no code cache for ES modules and its ES module loader resolves, reads and
 * links every module; a CommonJS-shaped bundle runs through `vm.Script` with V8's code cache (core/bundle.ts
 * runScriptBundle). Run after `tsc` (npm run build / npm ci).
 *
 * 1. The replay's CLI bundle, dist/cli/replay.bundle.cjs: cli/replay-entry.js and everything of kpf it imports,
 *    statically or not (the replay command, its body, the worker pool), with piscina inlined. bin/kpf.cjs runs it
 *    through its loader, dist/cli/boot.cjs (cli/boot.js with core/bundle.js), for `kpf replay`: Node then starts no ES
 *    module loader for it. Each module's `import.meta.url` becomes its own file's URL, resolved from the bundle's at
 *    run time, so that what a module finds next to itself (the worker's thread script, the WebAssembly module) is
 *    found where it was.
 * 2. The replay's worker (dist/workers/verdict.worker.js and its imports) into dist/workers/verdict.worker.bundle.cjs:
 *    workers/pool.ts hands piscina workers/verdict.thread.cjs (workers/verdict.thread.js with core/bundle.js), which
 *    runs it with V8's code cache, so that the thread loads no ES module. Everything of kpf is inlined, its modules'
 *    `import.meta.url` as in 1 (datapath/wasm-core finds `../../dist/wasm/fast4.wasm` from its own place).
 *
 * Bundles are written in ASCII (core/bundle.ts reads them as latin1). Without esbuild (an install without dev
 * dependencies) this script does nothing and kpf loads the modules.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed; kpf replay will load its modules one by one\n');
  process.exit(0);
}
const cliEntry = join(dist, 'cli/replay-entry.js');
if (!existsSync(cliEntry)) throw new Error(`bundle: ${relative(root, cliEntry)} is missing: run tsc first`);

// A build starts without code caches (the first run saves them): V8 accepts a cache as long as its bundle's source is
// unchanged, and a cache saved while collecting coverage by an earlier version of kpf (before core/bundle.ts
// codeCacheFile kept those apart) holds the coverage's block counters, which every run would then count. The bundles
// of earlier builds (the replay's body and its pool, each a bundle of its own) go too, and the lists of the modules
// bundles kept out of them, which none does now.
for (const dir of ['cli', 'cli/commands', 'workers']) {
  for (const f of existsSync(join(dist, dir)) ? readdirSync(join(dist, dir)) : []) {
    if (f.endsWith('.v8cache') || f.endsWith('.externals.json') || /^(replay-run|pool-start)\.bundle\.|^verdict\.worker\.bundle\.js$/.test(f)) rmSync(join(dist, dir, f), { force: true });
  }
}

/** esbuild plugin: every package stays external (required from node_modules at run time) */
const packagesExternal = { name: 'packages', setup: (b) => b.onResolve({ filter: /^[^./]/ }, () => ({ external: true })) };
const inNodeModules = (file) => file.includes(`${sep}node_modules${sep}`);
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', metafile: true, absWorkingDir: root, logLevel: 'warning', legalComments: 'none' };

/**
 * A module of kpf's text for the bundle `outfile`: its `import.meta.url` becomes its own file's URL, resolved from the
 * bundle's (`__kpfUrl`, core/bundle.ts runScriptBundle) at run time, so that what it finds next to itself is found
 * where it was, wherever the bundle is.
 */
function ownUrl(outfile, file, text) {
  const rel = relative(dirname(outfile), file).split(sep).join('/');
  return text.replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(rel)}, __kpfUrl).href`);
}

// 1. the replay's CLI bundle. piscina finds its thread script beside its own file (`resolve(__dirname, 'worker.js')`),
// which inlined would be the bundle's directory: that one expression is rewritten to the script's place from the
// bundle's at build time, or when it is not there (a moved installation) piscina's directory through
// `require.resolve`. If the expression is not found (another piscina), there is no bundle, and `kpf replay` imports
// the modules.
const cliOut = join(dist, 'cli/replay.bundle.cjs');
const PISCINA_DIR = "(0, node_path_1.resolve)(__dirname, 'worker.js')";
let piscinaPatched = 0;
const cli = await esbuild.build({
  ...common,
  entryPoints: [cliEntry],
  outfile: cliOut,
  logOverride: { 'require-resolve-not-external': 'silent' },
  plugins: [
    {
      name: 'replay-cli',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.path === 'piscina' ? undefined : { external: true }));
        b.onLoad({ filter: /\.js$/ }, (a) => {
          let text = readFileSync(a.path, 'utf8');
          if (/[\\/]node_modules[\\/]piscina[\\/]dist[\\/]index\.js$/.test(a.path) && text.includes(PISCINA_DIR)) {
            piscinaPatched++;
            // (its place from the bundle's as built, when it is still there: resolving the package took ~3.5 ms)
            const atBuild = JSON.stringify(relative(dirname(cliOut), join(dirname(a.path), 'worker.js')).split(sep).join('/'));
            text = text.replace(
              PISCINA_DIR,
              `((p) => require('node:fs').existsSync(p) ? p : (0, node_path_1.resolve)((0, node_path_1.dirname)(require.resolve('piscina')), 'worker.js'))((0, node_path_1.resolve)(__dirname, ${atBuild}))`,
            );
          } else if (!inNodeModules(a.path)) {
            text = ownUrl(cliOut, a.path, text);
          }
          return { contents: text, loader: 'js' };
        });
      },
    },
  ],
});
if (piscinaPatched !== 1) {
  for (const f of [cliOut, cliOut.replace(/\.cjs$/, '.inputs.json')]) rmSync(f, { force: true });
  process.stdout.write(`bundle: piscina's thread script path was not found in its code: no ${relative(root, cliOut)}\n`);
} else {
  writeInputs(cliOut, cli);
}
// and its loader, which bin/kpf.cjs requires
await smallScript('cli/boot.js', 'cli/boot.cjs');

// 2. the worker's bundle, and the thread script that runs it
const workerEntry = join(dist, 'workers/verdict.worker.js');
const workerOut = join(dist, 'workers/verdict.worker.bundle.cjs');
const worker = await esbuild.build({
  ...common,
  entryPoints: [workerEntry],
  outfile: workerOut,
  plugins: [
    packagesExternal,
    { name: 'own-urls', setup: (b) => b.onLoad({ filter: /\.js$/ }, (a) => (inNodeModules(a.path) ? undefined : { contents: ownUrl(workerOut, a.path, readFileSync(a.path, 'utf8')), loader: 'js' })) },
  ],
});
writeInputs(workerOut, worker);
await smallScript('workers/verdict.thread.js', 'workers/verdict.thread.cjs');

/**
 * A script that Node loads with `require` (a loader of a bundle, with core/bundle.js): `entry` and the modules of kpf
 * it imports, in the CommonJS shape, beside it (its `import.meta.url` is its own file's URL).
 */
async function smallScript(entry, out) {
  const outfile = join(dist, out);
  const built = await esbuild.build({
    ...common,
    entryPoints: [join(dist, entry)],
    outfile,
    define: { 'import.meta.url': '__kpfScriptUrl' },
    banner: { js: '"use strict";\nvar __kpfScriptUrl = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [packagesExternal],
  });
  writeInputs(outfile, built);
}

/** `bundle` in ASCII, and its inputs beside it (paths relative to it) */
function writeInputs(bundle, built) {
  asciiOnly(bundle);
  const dir = dirname(bundle);
  const inputs = Object.keys(built.metafile.inputs).map((p) => relative(dir, resolve(root, p)).split(sep).join('/'));
  writeFileSync(bundle.replace(/\.c?js$/, '.inputs.json'), JSON.stringify(inputs) + '\n');
  process.stdout.write(`bundle: ${relative(root, bundle)} (${inputs.length} modules)\n`);
}

/**
 * Rewrites `bundle` in ASCII, which core/bundle.ts reads as latin1 (a one-byte string, without UTF-8's decoding:
 * ~2× faster for the ~0.5 MB CLI bundle). esbuild escapes every other character of the code (its default
 * `charset: 'ascii'`); what it leaves is in the comments it keeps, and becomes the text of its escape there.
 */
function asciiOnly(bundle) {
  const text = readFileSync(bundle, 'utf8');
  if (/^[\x00-\x7f]*$/.test(text)) return;
  writeFileSync(bundle, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

