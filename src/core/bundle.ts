/**
 * One-file bundles of module graphs (scripts/bundle.mjs, built by `npm run build`): a bundle is used only when it is
 * there and no module it was built from is newer (a later plain `tsc` makes it stale), and never with
 * `KPF_NO_BUNDLE=1`. The tests run the TypeScript sources, which have no bundles.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * `bundle` (a file URL) when it is fresh: it exists, `KPF_NO_BUNDLE` is not `1`, and every input listed beside it
 * (`<name>.inputs.json`, paths relative to the bundle) is no newer than it; else null.
 */
export function freshBundle(bundle: URL): URL | null {
  if (process.env['KPF_NO_BUNDLE'] === '1') return null;
  const file = fileURLToPath(bundle);
  const built = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return null;
  let inputs: string[];
  try {
    inputs = JSON.parse(readFileSync(file.replace(/\.c?js$/, '.inputs.json'), 'utf8')) as string[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  // (paths joined as strings: ~10 µs a file, where URLs cost ~20; the CLI bundle has ~160 inputs)
  const dir = file.slice(0, file.lastIndexOf('/') + 1);
  for (const f of inputs) {
    const at = statSync(dir + f, { throwIfNoEntry: false })?.mtimeMs;
    if (at === undefined || at > built) return null;
  }
  return bundle;
}

/** A script bundle's exports, and how to save the code V8 compiled for it (see {@link runScriptBundle}). */
export interface ScriptBundle<T> {
  exports: T;
  /**
   * Writes V8's code cache of the bundle beside it ({@link codeCacheFile}: `<bundle>.v8cache`) when it had none or V8
   * rejected it (another Node or V8 flags, a rebuilt bundle). Best effort: a read-only checkout keeps compiling. Call
   * it after the work, so that the cache holds the functions compiled while doing it.
   */
  saveCache(): void;
}

/**
 * Whether this process collects block coverage: NODE_V8_COVERAGE (c8, `node --test --experimental-test-coverage`), or
 * tap's own (its processinfo hook starts precise coverage through an inspector session in every process it reaches,
 * and says so in _TAPJS_PROCESSINFO_COVERAGE_). Coverage started some other way through the inspector is not seen.
 */
export function collectsCoverage(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env['NODE_V8_COVERAGE'] ?? '') !== '' || env['_TAPJS_PROCESSINFO_COVERAGE_'] === '1';
}

/**
 * The file that keeps V8's code cache of the bundle `file`: `<file>.v8cache`, or `<file>.coverage.v8cache` in a
 * process that {@link collectsCoverage}. Under block coverage V8 compiles every function with a counter for each
 * block, and the code cache keeps that bytecode: V8 accepts it in a process without coverage (the flags are the
 * same), which then counts blocks on every call. The caches saved while `npm test` ran made every later replay of the
 * peers' capture spend ~12 % of its main thread in `Builtins_IncBlockCounter` (~115 ms of CPU, ~35 ms of wall time,
 * median of 10 alternating). Each kind of process keeps a cache of its own.
 */
export function codeCacheFile(file: string, env: NodeJS.ProcessEnv = process.env): string {
  return collectsCoverage(env) ? `${file}.coverage.v8cache` : `${file}.v8cache`;
}

/**
 * Runs a bundle built in the CommonJS shape (scripts/bundle.mjs) through `vm.Script`, with V8's code cache when one was
 * saved beside it ({@link codeCacheFile}): Node 20 keeps no code cache for ES modules, and compiling the replay's
 * code (the top level and the functions its start-up runs) is ~15-25 ms of every `kpf replay`. Its `require` is
 * Node's, from the bundle's directory; `__kpfUrl` in it is the bundle's URL. Synchronous, so that a module that calls
 * it needs no top-level await (piscina loads a thread script with `require` first, which Node 20 can do for an ES
 * module without top-level await; one with it was loaded twice, the second time by `import`).
 */
export function runScriptBundle<T>(bundle: URL): ScriptBundle<T> {
  const file = fileURLToPath(bundle);
  const req = createRequire(bundle);
  const cacheFile = codeCacheFile(file);
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  // (scripts/bundle.mjs writes bundles in ASCII, so latin1 reads them as they are, into a one-byte string, ~2× faster
  // than UTF-8's decoding: the CLI bundle is ~0.8 MB)
  const source = `(function (exports, require, module, __filename, __dirname, __kpfUrl) {${readFileSync(file, 'latin1')}\n})`;
  const script = new Script(source, { filename: file, ...(cached ? { cachedData: cached } : {}) });
  const fn = script.runInThisContext() as (...a: unknown[]) => void;
  const module = { exports: {} as T };
  fn(module.exports, req, module, file, fileURLToPath(new URL('.', bundle)), bundle.href);
  const stale = cached === undefined || script.cachedDataRejected === true;
  return {
    exports: module.exports,
    saveCache(): void {
      if (!stale) return;
      try {
        // (the replay's worker threads save theirs too, each under a name of its own, the last rename winning)
        const tmp = `${cacheFile}.${process.pid}.${threadId}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // a read-only checkout: compile every time
      }
    },
  };
}

/**
 * A file of the kpf package (`rel` from its root: the directory holding `src/` and `dist/`), found from the URL of
 * the module asking (`import.meta.url`) whether that module runs from `src/` (tests), from `dist/`, or inlined in a
 * bundle anywhere under `dist/`: so a module that needs a file of the package can be bundled.
 */
export function packageFile(moduleUrl: string, rel: string): URL {
  const p = new URL(moduleUrl).pathname;
  const at = Math.max(p.lastIndexOf('/dist/'), p.lastIndexOf('/src/'));
  if (at < 0) throw new Error(`${p} is not under the package's src/ or dist/`);
  return new URL(`file://${p.slice(0, at + 1)}${rel}`);
}
