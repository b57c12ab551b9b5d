/**
 * The start of `kpf replay` from a built checkout (bin/kpf.cjs, bin/kpf.js): everything the command runs on the main
 * thread as one CommonJS-shaped bundle (dist/cli/replay.bundle.cjs, from cli/replay-entry.ts: scripts/bundle.mjs), run
 * through `vm.Script` with V8's code cache. Node 20 keeps no code cache for ES modules, and its ES module loader
 * resolves, reads and links each module: bin/kpf.cjs (which runs this, built into dist/cli/boot.cjs with core/bundle.ts)
 * starts no ES module loader at all for a replay.
 */
import { freshBundle, runScriptBundle } from '../core/bundle.js';

/**
 * Runs `kpf ARGV…` from the replay's CLI bundle when ARGV is a replay and the bundle and this module are fresh
 * ({@link freshBundle}: built, no older than any module they came from, no `KPF_NO_BUNDLE=1`), and then saves V8's
 * code cache of the bundle when it had none or V8 rejected it. False when it does not run it: the caller runs the
 * command line from the modules.
 */
export function bootCli(argv: string[] = process.argv.slice(2)): boolean {
  if (argv[0] !== 'replay') return false;
  // (this module is fresh when its bundle is: dist/cli/boot.cjs, not older than cli/boot.js and core/bundle.js)
  if (!import.meta.url.endsWith('.cjs') || !freshBundle(new URL(import.meta.url))) return false;
  const bundle = freshBundle(new URL('./replay.bundle.cjs', import.meta.url));
  if (!bundle) return false;
  const b = runScriptBundle<typeof import('./replay-entry.js')>(bundle);
  void b.exports.start(argv.slice(1)).then(async () => {
    b.saveCache();
    // the process ends once its output is out, with the exit code the command set: Node's own exit would first tear
    // the main thread's heap down page by page (munmap/madvise, ~5-10 ms after a 2-million-packet replay), which the
    // kernel's exit does at once (alternating runs: paired median -12.1 ms, 30 pairs)
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit();
  });
  return true;
}

/** Resolves when `s` has written everything it was handed (at once when it has nothing queued, or is closed). */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  if (s.writableLength === 0 || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('drain', resolve);
    s.once('close', resolve);
    s.once('error', () => resolve());
  });
}
