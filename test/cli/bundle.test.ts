/**
 * The bundles (scripts/bundle.mjs) that `kpf replay` runs from a built checkout: the replay's CLI bundle
 * (dist/cli/replay.bundle.cjs: the command, its body and the worker pool with piscina, run by dist/cli/boot.cjs with
 * V8's code cache) and the worker (dist/workers/verdict.worker.bundle.cjs, run with its code cache by the thread script
 * dist/workers/verdict.thread.cjs). Each is used when fresh, not when any module it was built from is newer, and the
 * CLI gives the same output with them as without them (KPF_NO_BUNDLE=1), with a code cache, without one and with a
 * damaged one. The other tests run the TypeScript sources, which have no bundles, so this is the test of what
 * `npx kpf replay` runs.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheFile } from '../../src/core/bundle.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = `${ROOT}dist/cli/`;
const BUNDLE = `${CLI}replay.bundle.cjs`;
const BOOT = `${CLI}boot.cjs`;
const built = existsSync(BUNDLE) && existsSync(BOOT) && existsSync(`${CLI}commands/replay.js`);
const WORKERS = `${ROOT}dist/workers/`;
const WORKER_BUNDLE = `${WORKERS}verdict.worker.bundle.cjs`;
const THREAD = `${WORKERS}verdict.thread.cjs`;
const LAB = ['--lab', `${ROOT}captures/lab.pcap`];

/** `bootCli(argv)` in a node of its own: whether it ran the command, and what the command wrote */
function boot(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const code = `const r = require(${JSON.stringify(BOOT)}).bootCli(${JSON.stringify(argv)}); process.stderr.write('booted=' + r + '\\n');`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env });
  return { booted: /booted=true/.test(r.stderr), stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Runs `check` while `input` looks newer than `bundle` (as after a plain `tsc`), then gives `input` its time back. */
function whileNewer(input: string, bundle: string, check: () => void): void {
  const st = statSync(input);
  try {
    utimesSync(input, st.atime, new Date(statSync(bundle).mtimeMs + 5000));
    check();
  } finally {
    utimesSync(input, st.atime, st.mtime);
  }
}

/** the internal modules of Node's ES module loader that load only when it loads an ES module */
const ESM_PROBE = `process.on('exit', () => process.stderr.write('esm-modules=' + process.moduleLoadList.some((m) => /esm\\/module_job/.test(m)) + '\\n'));`;

t.test('the built replay command runs from its CLI bundle when fresh, and from the modules otherwise', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const help = boot(['replay', '--help']);
  t.ok(help.booted, 'fresh bundle: bootCli ran the command') || t.comment(help.stderr);
  t.match(help.stdout, /^Replay a capture against the manifests/, 'and the command wrote its help');
  t.equal(help.status, 0, 'exit 0');
  t.notOk(boot(['get', 'pods']).booted, 'another command: not from the bundle');
  t.notOk(boot(['--version']).booted, 'no command: not from the bundle');
  t.notOk(boot(['replay', '--help'], { ...process.env, KPF_NO_BUNDLE: '1' }).booted, 'KPF_NO_BUNDLE=1: not from the bundle');
  // an input rebuilt after the bundle (a plain `tsc`) makes it stale, and so does one of the loader's own
  const inputs = JSON.parse(readFileSync(`${CLI}replay.bundle.inputs.json`, 'utf8')) as string[];
  t.ok(inputs.length > 50, `${inputs.length} inputs`);
  t.ok(inputs.some((f) => f.endsWith('piscina/dist/index.js')), 'piscina is inlined');
  t.ok(inputs.includes('commands/replay-run.js') && inputs.includes('../workers/pool.js'), 'the replay body and the pool are in it');
  t.notOk(inputs.some((f) => /commands\/(get|lab|bench)\.js$/.test(f)), 'and no other command');
  const input = fileURLToPath(new URL(inputs[Math.floor(inputs.length / 2)]!, `file://${CLI}`));
  whileNewer(input, BUNDLE, () => t.notOk(boot(['replay', '--help']).booted, `stale bundle (${input.slice(ROOT.length)} is newer): not used`));
  whileNewer(`${ROOT}dist/core/bundle.js`, BOOT, () => t.notOk(boot(['replay', '--help']).booted, 'stale loader (core/bundle.js is newer): not used'));
  t.ok(boot(['replay', '--help']).booted, 'fresh again');
  // every module's import.meta.url is its own file's: the thread script and the WebAssembly module are found from them
  const text = readFileSync(BUNDLE, 'latin1');
  t.notMatch(text, /import\.meta/, 'no import.meta left in the bundle');
  t.match(text, /new URL\("\.\.\/workers\/pool\.js", __kpfUrl\)/, 'the pool’s URL is dist/workers/pool.js, from the bundle’s');
  t.match(text, /existsSync\(p\) \? p : .*require\.resolve\("piscina"\)/, 'piscina’s thread script: its place at build time, else through require.resolve');
  // bin/kpf.cjs runs a replay without Node's ES module loader loading any module; other commands and a replay without
  // the bundle take the modules
  // (without NODE_OPTIONS, which tap sets in every child it starts: its hooks there are ES modules)
  const probe = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync('sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, '-e', ESM_PROBE + `process.argv.splice(1, 0, ${JSON.stringify(`${ROOT}bin/kpf.cjs`)}); require(process.argv[1]);`, '--', ...args], { encoding: 'utf8', env });
  const r = probe(['replay', ...LAB, '-o', 'summary', '--workers', '1']);
  t.equal(r.status, 0, 'bin/kpf.cjs replay: exit 0') || t.comment(r.stderr);
  t.match(r.stdout, /Records: 46 /, 'every record');
  t.match(r.stderr, /esm-modules=false/, 'no ES module loaded');
  t.match(probe(['replay', ...LAB, '-o', 'summary'], { ...process.env, KPF_NO_BUNDLE: '1' }).stderr, /esm-modules=true/, 'KPF_NO_BUNDLE=1: the ES modules');
  const v = probe(['--version']);
  t.match(v.stdout, /^kpf \d/, 'bin/kpf.cjs --version');
  t.match(v.stderr, /esm-modules=true/, 'another command: the ES modules');
});

t.test('the code cache: saved after a run, used by the next, replaced when damaged', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const cache = codeCacheFile(BUNDLE);
  const replay = () =>
    spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', `${ROOT}captures/lab.pcap`, '-o', 'json', '--workers', '1'], { encoding: 'utf8' });
  rmSync(cache, { force: true });
  const first = replay();
  t.equal(first.status, 0, 'no cache: exit 0') || t.comment(first.stderr);
  t.ok(existsSync(cache) && statSync(cache).size > 10_000, `the run saved V8's code cache (${existsSync(cache) ? statSync(cache).size : 0} bytes)`);
  const saved = statSync(cache).mtimeMs;
  const second = replay();
  t.equal(second.stdout, first.stdout, 'with the cache: the same records');
  t.equal(statSync(cache).mtimeMs, saved, 'a cache V8 accepted is not rewritten');
  writeFileSync(cache, Buffer.alloc(4096, 7));
  const third = replay();
  t.equal(third.status, 0, 'a damaged cache: exit 0') || t.comment(third.stderr);
  t.equal(third.stdout, first.stdout, 'a damaged cache: the same records');
  t.ok(statSync(cache).size > 10_000, 'and the damaged cache was replaced');
  // and the worker's, saved by the thread after the replay's last task, with the functions the replay compiled: the
  // general path's among them (the lab's capture has packets only it classifies)
  const workerCache = codeCacheFile(WORKER_BUNDLE);
  rmSync(workerCache, { force: true });
  t.equal(replay().stdout, first.stdout, 'no worker cache: the same records');
  t.ok(existsSync(workerCache) && statSync(workerCache).size > 50_000, `the worker thread saved its bundle’s code cache (${existsSync(workerCache) ? statSync(workerCache).size : 0} bytes)`);
  const workerSaved = statSync(workerCache).mtimeMs;
  t.equal(replay().stdout, first.stdout, 'with the worker cache: the same records');
  t.equal(statSync(workerCache).mtimeMs, workerSaved, 'a worker cache V8 accepted is not rewritten');
  writeFileSync(workerCache, Buffer.alloc(4096, 7));
  t.equal(replay().stdout, first.stdout, 'a damaged worker cache: the same records');
  t.ok(statSync(workerCache).size > 50_000, 'and the damaged worker cache was replaced');
  // with two workers both threads save theirs (under names of their own), and the output is the same
  rmSync(workerCache, { force: true });
  const two = spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', `${ROOT}captures/lab.pcap`, '-o', 'json', '--workers', '2'], { encoding: 'utf8' });
  t.equal(two.stdout, first.stdout, '2 workers, no worker cache: the same records');
  t.ok(existsSync(workerCache) && statSync(workerCache).size > 50_000, '2 workers: the cache was saved');
  t.same(
    readdirSync(WORKERS).filter((f) => f.includes('.v8cache.')),
    [],
    'no temporary cache file left behind',
  );
});

t.test('a process that collects block coverage keeps a code cache of its own', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  // V8 keeps the block counters of coverage in the bytecode it caches and accepts that cache without coverage: a
  // cache saved by `npm test` made every later replay count blocks. Neither kind of run may touch the other's cache.
  t.equal(codeCacheFile('/x/b.cjs', {}), '/x/b.cjs.v8cache', 'no coverage: <bundle>.v8cache');
  t.equal(codeCacheFile('/x/b.cjs', { NODE_V8_COVERAGE: '/tmp/c' }), '/x/b.cjs.coverage.v8cache', 'NODE_V8_COVERAGE');
  t.equal(codeCacheFile('/x/b.cjs', { _TAPJS_PROCESSINFO_COVERAGE_: '1' }), '/x/b.cjs.coverage.v8cache', 'tap’s coverage');
  t.equal(codeCacheFile('/x/b.cjs', { _TAPJS_PROCESSINFO_COVERAGE_: '0', NODE_V8_COVERAGE: '' }), '/x/b.cjs.v8cache', 'both off');
  // a child without coverage: tap's hook (in NODE_OPTIONS) is told not to start it
  const plainEnv: NodeJS.ProcessEnv = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
  delete plainEnv['NODE_V8_COVERAGE'];
  const covDir = mkdtempSync(join(tmpdir(), 'kpf-cov-'));
  const replay = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', `${ROOT}captures/lab.pcap`, '-o', 'json', '--workers', '1'], { encoding: 'utf8', env });
  const bundles = [BUNDLE, WORKER_BUNDLE];
  const name = (b: string) => b.slice(ROOT.length);
  try {
    for (const b of bundles) for (const f of [`${b}.v8cache`, `${b}.coverage.v8cache`]) rmSync(f, { force: true });
    const plain = replay(plainEnv);
    t.equal(plain.status, 0, 'without coverage: exit 0') || t.comment(plain.stderr);
    const saved = new Map(bundles.map((b) => [b, existsSync(`${b}.v8cache`) ? readFileSync(`${b}.v8cache`) : null]));
    for (const b of bundles) {
      t.ok(saved.get(b), `without coverage: ${name(b)}.v8cache saved`);
      t.notOk(existsSync(`${b}.coverage.v8cache`), `without coverage: no ${name(b)}.coverage.v8cache`);
    }
    // NODE_V8_COVERAGE, as c8 sets it
    const covered = replay({ ...plainEnv, NODE_V8_COVERAGE: covDir });
    t.equal(covered.stdout, plain.stdout, 'NODE_V8_COVERAGE: the same records') || t.comment(covered.stderr);
    t.ok(readdirSync(covDir).some((f) => f.endsWith('.json')), 'NODE_V8_COVERAGE: the run did collect coverage');
    for (const b of bundles) {
      t.ok(existsSync(`${b}.coverage.v8cache`), `NODE_V8_COVERAGE: ${name(b)}.coverage.v8cache saved`);
      t.same(readFileSync(`${b}.v8cache`), saved.get(b), `NODE_V8_COVERAGE: ${name(b)}.v8cache untouched`);
    }
    // tap's own coverage, when this test runs under it with coverage on (its hook in NODE_OPTIONS)
    if (process.env['_TAPJS_PROCESSINFO_COVERAGE_'] === '1') {
      for (const b of bundles) rmSync(`${b}.coverage.v8cache`, { force: true });
      const tap = replay({ ...plainEnv, _TAPJS_PROCESSINFO_COVERAGE_: '1' });
      t.equal(tap.stdout, plain.stdout, 'tap’s coverage: the same records') || t.comment(tap.stderr);
      for (const b of bundles) {
        t.ok(existsSync(`${b}.coverage.v8cache`), `tap’s coverage: ${name(b)}.coverage.v8cache saved`);
        t.same(readFileSync(`${b}.v8cache`), saved.get(b), `tap’s coverage: ${name(b)}.v8cache untouched`);
      }
    }
  } finally {
    rmSync(covDir, { recursive: true, force: true });
  }
});

t.test('the built worker pool hands piscina the thread script of the worker bundle when fresh, and the module otherwise', { skip: built && existsSync(WORKER_BUNDLE) ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const pool = (await import(`${WORKERS}pool.js`)) as { workerFile(): string };
  t.equal(pool.workerFile(), THREAD, 'fresh bundle: its thread script');
  process.env['KPF_NO_BUNDLE'] = '1';
  try {
    t.equal(pool.workerFile(), `${WORKERS}verdict.worker.js`, 'KPF_NO_BUNDLE=1: the module');
  } finally {
    delete process.env['KPF_NO_BUNDLE'];
  }
  const inputs = JSON.parse(readFileSync(`${WORKERS}verdict.worker.bundle.inputs.json`, 'utf8')) as string[];
  t.ok(inputs.length > 20, `${inputs.length} inputs`);
  t.ok(inputs.includes('../datapath/wasm-core.js'), 'the fast path is inlined (its wasm URL resolves alike from dist/workers/)');
  // an input newer than its bundle (a plain tsc since): the worker module, for the worker bundle's inputs and for the
  // thread script's own (verdict.thread.js and core/bundle.js)
  const input = fileURLToPath(new URL(inputs.find((f) => f.endsWith('conntrack.js'))!, `file://${WORKERS}`));
  whileNewer(input, WORKER_BUNDLE, () => t.equal(pool.workerFile(), `${WORKERS}verdict.worker.js`, 'stale bundle: the module'));
  t.equal(pool.workerFile(), THREAD, 'fresh again');
  whileNewer(`${WORKERS}verdict.thread.js`, THREAD, () => t.equal(pool.workerFile(), `${WORKERS}verdict.worker.js`, 'stale thread script: the module'));
  t.equal(pool.workerFile(), THREAD, 'and fresh again');
  // in the CommonJS shape, with nothing of kpf but the two modules: the thread starts no ES module loader for it
  t.same((JSON.parse(readFileSync(`${WORKERS}verdict.thread.inputs.json`, 'utf8')) as string[]).sort(), ['../core/bundle.js', 'verdict.thread.js'], 'the thread script’s inputs');
  t.notMatch(readFileSync(THREAD, 'utf8'), /\bimport\(|import\.meta/, 'no import() or import.meta left in it');
  // the thread script loads the bundle synchronously: it keeps no module of kpf out (it requires packages and Node's
  // modules only), and each module inlined finds what is next to it from its own URL, not the bundle's
  const { runScriptBundle } = (await import(`${ROOT}dist/core/bundle.js`)) as { runScriptBundle(u: URL): { exports: { default: unknown } } };
  t.type(runScriptBundle(new URL(`file://${WORKER_BUNDLE}`)).exports.default, 'function', 'the worker bundle, synchronously: its task function');
  const text = readFileSync(WORKER_BUNDLE, 'utf8');
  t.notMatch(text, /require\(["']\.{1,2}\//, 'no module of kpf kept out of the worker bundle');
  t.notMatch(text, /\bimport\.meta\b/, 'no import.meta left in it');
  t.match(text, /new URL\("\.\.\/datapath\/wasm-core\.js", __kpfUrl\)/, 'the fast path resolves its module from its own place');
});

t.test('kpf replay gives the same output with and without the bundle', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const capture = `${ROOT}captures/lab.pcap`;
  const run = (env: Record<string, string>, fmt: string) =>
    spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', capture, '-o', fmt, '--workers', '1'], { encoding: 'utf8', env: { ...process.env, ...env } });
  for (const fmt of ['json', 'summary']) {
    const a = run({}, fmt);
    const b = run({ KPF_NO_BUNDLE: '1' }, fmt);
    t.equal(a.status, 0, `${fmt}: exit 0 with the bundle`) || t.comment(a.stderr);
    t.equal(b.status, 0, `${fmt}: exit 0 without`);
    t.ok(a.stdout.length > 100, `${fmt}: output`);
    const strip = (s: string) => s.replace(/Time: .*\n/g, '').replace(/"wall_seconds":[^,}]*/g, '');
    t.equal(strip(a.stdout), strip(b.stdout), `${fmt}: same output`);
  }
  // what the bundle loads only when asked for (by require: import() has no loader in a script bundle): --metrics,
  // and a capture that is not a regular file (a FIFO)
  const dir = mkdtempSync(`${tmpdir()}/kpf-bundle-`);
  try {
    const metrics = `${dir}/metrics.prom`;
    const m = spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', capture, '-o', 'summary', '--metrics', metrics], { encoding: 'utf8' });
    t.equal(m.status, 0, '--metrics through the bundle: exit 0') || t.comment(m.stderr);
    t.match(existsSync(metrics) ? readFileSync(metrics, 'utf8') : '', /^kpf_/m, 'the metrics file was written');
    const fifo = `${dir}/capture.fifo`;
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      const writer = spawn('sh', ['-c', `cat "${capture}" > "${fifo}"`]);
      const f = spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '--lab', fifo, '-o', 'summary'], { encoding: 'utf8' });
      writer.kill();
      t.equal(f.status, 0, 'a FIFO through the bundle: exit 0') || t.comment(f.stderr);
      t.match(f.stdout, /Records: 46 /, 'every record');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a usage error after the pool started still ends cleanly (no stack trace) through the bundle
  const bad = spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'replay', '-f', `${ROOT}test/fixtures/cli/bad.yaml`, capture, '-o', 'summary'], { encoding: 'utf8' });
  t.not(bad.status, 0, 'bad manifests: non-zero exit');
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

t.test('the bundled replay ends its process once its output is out, with the command’s exit code', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  // cli/boot.ts exits at once after the command (no teardown of the heap): every line of a large output through a
  // pipe, and the exit code of a capture that ends early on damage (3)
  const dir = mkdtempSync(join(tmpdir(), 'kpf-exit-'));
  try {
    const capture = join(dir, 'big.pcap');
    const g = spawnSync(process.execPath, [`${ROOT}bin/kpf.js`, 'gen', 'traffic', '--lab', '-o', capture, '--packets', '30000', '--flows', '500', '--seed', '5'], { encoding: 'utf8' });
    t.equal(g.status, 0, 'generated') || t.comment(g.stderr);
    const r = spawnSync(process.execPath, [`${ROOT}bin/kpf.cjs`, 'replay', '--lab', capture, '-o', 'json', '--workers', '1'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    t.equal(r.status, 0, 'exit 0') || t.comment(r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    t.equal(lines.length, 30000, `every record's line through the pipe (${r.stdout.length} bytes)`);
    t.match(lines[29999], /"index":29999\b/, 'the last one last');
    const bytes = readFileSync(capture);
    writeFileSync(join(dir, 'cut.pcap'), bytes.subarray(0, bytes.length - 7));
    const cut = spawnSync(process.execPath, [`${ROOT}bin/kpf.cjs`, 'replay', '--lab', join(dir, 'cut.pcap'), '-o', 'summary', '--workers', '1'], { encoding: 'utf8' });
    t.equal(cut.status, 3, 'a capture cut in its last record: exit 3') || t.comment(cut.stderr);
    t.match(cut.stdout, /Records: 29999 /, 'the records before the damage');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('packageFile: a file of the package from a module in src/, in dist/ or inlined in a bundle', async (t) => {
  const { packageFile } = await import('../../src/core/bundle.js');
  t.equal(packageFile('file:///a/kpf/src/lab/lab.ts', 'examples/lab/').href, 'file:///a/kpf/examples/lab/', 'from src/');
  t.equal(packageFile('file:///a/kpf/dist/datapath/wasm-core.js', 'dist/wasm/fast4.wasm').href, 'file:///a/kpf/dist/wasm/fast4.wasm', 'from dist/');
  t.equal(packageFile('file:///a/kpf/dist/cli/commands/x.bundle.cjs', 'dist/wasm/fast4.wasm').href, 'file:///a/kpf/dist/wasm/fast4.wasm', 'from a bundle deeper in dist/');
  t.equal(packageFile('file:///home/src/kpf/dist/workers/w.js', 'x').href, 'file:///home/src/kpf/x', 'the last src/ or dist/ of the path counts');
  t.throws(() => packageFile('file:///a/kpf/lib/x.js', 'x'), /not under the package's src\/ or dist\//, 'elsewhere: an error');
});
