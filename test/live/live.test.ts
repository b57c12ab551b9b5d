/**
 * `kpf live` end to end on this machine: real namespaces, real TUNs, real traffic (ICMP echo over a raw socket,
 * TCP with node one-liners) between the namespaces kpf creates — and nothing else. Needs root and /dev/net/tun;
 * skipped otherwise, unless KPF_REQUIRE_LIVE=1 (CI), where that is a failure.
 *
 * All runs are in this one file, one after the other: two `kpf live` at once would refuse each other.
 * Every wait is bounded; every namespace, device and process a test creates is removed in t.teardown.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORLD_NETNS, ownedByLiveProcess, podNetnsName } from '../../src/live/netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const CLI = path.join(here, 'fixtures/cli.ts');
const PING = path.join(here, 'fixtures/ping.mjs');
const FIXTURE = path.join(here, 'fixtures/two-pods.yaml');
const CLIENT = { netns: podNetnsName('live', 'client'), ip: '10.244.7.10' };
const SERVER = { netns: podNetnsName('live', 'server'), ip: '10.244.7.20' };
const SERVICE = { ip: '10.96.77.80', port: 80 };
const OURS = [CLIENT.netns, SERVER.netns, WORLD_NETNS];
const START_TIMEOUT = 120_000;

function why(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (kpf live creates namespaces and TUN devices)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'ip netns does not work (iproute2 missing?)';
  return null;
}

const reason = why();
if (reason) {
  if (process.env['KPF_REQUIRE_LIVE'] === '1') t.fail(`live tests required (KPF_REQUIRE_LIVE=1) but cannot run: ${reason}`);
  else t.plan(0, `skipped: ${reason}`);
} else {
  main();
}

/** Namespaces and devices named kpf-* right now. */
function leftovers(): string[] {
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('kpf-'));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '').filter((n) => n.startsWith('kpf-'));
  return [...ns.map((n) => `netns ${n}`), ...links.map((n) => `link ${n}`)];
}

/**
 * Leftovers of these tests: the pods' namespaces and devices, and the world's unless another `kpf live` (not one
 * of ours: they are all stopped or killed when this is called) holds it.
 */
function ourLeftovers(): string[] {
  return leftovers().filter(
    (n) => n.endsWith(` ${CLIENT.netns}`) || n.endsWith(` ${SERVER.netns}`) || (n.endsWith(` ${WORLD_NETNS}`) && !ownedByLiveProcess(WORLD_NETNS)),
  );
}

/** Removes the namespaces (and root-namespace devices) these tests create. */
function removeOurs(): void {
  for (const n of OURS) {
    spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
    spawnSync('ip', ['link', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
    rmSync(`/run/kpf-live/${n}`, { force: true });
  }
}

/** The loader flags this test runs under (tap's TypeScript import), for child processes running .ts. */
function nodeArgs(bare = false): string[] {
  // bare: without tap's process-info hook, which writes under .tap/ (not writable for another user)
  const a = process.execArgv.filter((x) => !x.startsWith('--inspect') && !(bare && /processinfo/.test(x)));
  if (!a.some((x) => /typescript|ts-node|tsx|tsimp/.test(x))) a.push('--import', '@tapjs/typescript/import');
  return a;
}

/** The environment without tap's process-info hook (NODE_OPTIONS --import of @tapjs/processinfo). */
function bareEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env['NODE_OPTIONS']) env['NODE_OPTIONS'] = env['NODE_OPTIONS'].split(/\s+/).filter((o) => !/processinfo/.test(o)).join(' ');
  return env;
}

interface Live {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLive(t: Test, args: string[], env: Record<string, string> = {}): Live {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [...nodeArgs(), CLI, ...args], {
    cwd: root,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await within(exited, 5000);
    }
    removeOurs();
  });
  return { child, out: () => out, err: () => err, exited };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `p`, or null after `ms` (the timer is cleared as soon as `p` settles, so it never holds the process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(what: string, pred: () => boolean, timeoutMs: number, live?: Live): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (live && live.child.exitCode !== null) throw new Error(`kpf live exited (${live.child.exitCode}) while waiting for ${what}:\n${live.err()}`);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${live ? `; kpf live stderr:\n${live.err()}` : ''}`);
    await sleep(100);
  }
}

const BUSY = /another kpf live is running/;

/**
 * Starts `kpf live` and waits until it forwards. Only one `kpf live` runs on a machine at a time: when another one
 * (another test file, a developer's) holds the namespaces, this start is refused, and is retried within the bound.
 */
async function startLiveReady(t: Test, args: string[]): Promise<Live> {
  const end = Date.now() + START_TIMEOUT;
  for (;;) {
    const live = startLive(t, args);
    await waitFor('kpf live to forward or exit', () => live.err().includes('kpf live: forwarding') || live.child.exitCode !== null, Math.max(1000, end - Date.now()));
    if (live.err().includes('kpf live: forwarding')) return live;
    if (!BUSY.test(live.err()) || Date.now() > end) throw new Error(`kpf live did not start (exit ${live.child.exitCode}):\n${live.err()}`);
    t.comment('another kpf live is running on this machine: retrying');
    await sleep(2000);
  }
}

async function exitOf(live: Live, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const r = await within(live.exited, timeoutMs);
  if (!r) throw new Error(`kpf live did not exit within ${timeoutMs} ms:\n${live.err()}`);
  return r;
}

/** Runs a command inside a namespace, bounded. */
function inNs(netns: string, cmd: string[], timeoutMs = 15_000): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8', timeout: timeoutMs, cwd: root });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function ping(from: { netns: string }, to: string, count = 2, perEchoMs = 1500): { status: number | null; out: string } {
  return inNs(from.netns, [process.execPath, PING, to, String(count), String(perEchoMs)]);
}

/** TCP client one-liner: prints what the server sent, or the error code; exit 0 only on data. */
function tcpConnect(from: { netns: string }, host: string, port: number, timeoutMs = 2000): { status: number | null; out: string } {
  const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});let d='';s.setTimeout(${timeoutMs},()=>{console.log('TIMEOUT');process.exit(3)});s.on('data',x=>d+=x);s.on('end',()=>{console.log(d.trim());process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(2)})`;
  return inNs(from.netns, [process.execPath, '-e', js], timeoutMs + 10_000);
}

/** Starts a TCP server one-liner in a namespace that answers `hello from NAME`; resolves once it listens. */
async function tcpServer(t: Test, inside: { netns: string; ip: string }, port: number, name: string): Promise<void> {
  const js = `require('net').createServer(s=>s.end('hello from ${name}\\n')).listen(${port},${JSON.stringify(inside.ip)},()=>console.log('listening'))`;
  const child = spawn('ip', ['netns', 'exec', inside.netns, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await waitFor(`the server in ${inside.netns} to listen`, () => out.includes('listening') || child.exitCode !== null, 20_000);
  if (!out.includes('listening')) throw new Error(`server failed: ${out}`);
}

function flows(live: Live): Record<string, unknown>[] {
  return live
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function main(): void {
  t.before(() => {
    const left = leftovers();
    if (left.length) t.comment(`kpf- leftovers before the tests (a start removes them): ${left.join(', ')}`);
  });

  t.test('two pods: ping and TCP allowed one way, denied the other; a Service via DNAT; --watch; clean stop', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kpf-live-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const manifest = path.join(dir, 'cluster.yaml');
    const original = readFileSync(FIXTURE, 'utf8');
    writeFileSync(manifest, original);
    const live = await startLiveReady(t, ['--no-default-dns', '-f', manifest, '-o', 'json', '--watch', '--metrics', path.join(dir, 'metrics.prom')]);
    t.match(live.err(), CLIENT.netns, 'the client namespace is announced');

    // the namespaces: the pod IPs and the default route via the TUN
    const addr = inNs(CLIENT.netns, ['ip', '-4', 'addr', 'show', 'dev', CLIENT.netns]);
    t.match(addr.out, `inet ${CLIENT.ip}/32`);
    t.match(inNs(CLIENT.netns, ['ip', 'route']).out, `default dev ${CLIENT.netns}`);

    // ICMP echo: client → server allowed (no ports in the rule), server → client denied
    const ok = ping(CLIENT, SERVER.ip);
    t.equal(ok.status, 0, `client pings server: ${ok.out}`);
    const denied = ping(SERVER, CLIENT.ip, 1, 1000);
    t.equal(denied.status, 1, `server cannot ping client: ${denied.out}`);
    t.match(denied.out, /timeout/);

    // TCP: both pods listen; only client → server connects
    await tcpServer(t, SERVER, 8080, 'server');
    await tcpServer(t, CLIENT, 9090, 'client');
    const c2s = tcpConnect(CLIENT, SERVER.ip, 8080);
    t.equal(c2s.out.trim(), 'hello from server', 'client → server:8080');
    const s2c = tcpConnect(SERVER, CLIENT.ip, 9090, 1500);
    t.equal(s2c.out.trim(), 'TIMEOUT', 'server → client:9090 is dropped silently');

    // the Service: ClusterIP:80 → server:8080 and the replies back from the ClusterIP
    const svc = tcpConnect(CLIENT, SERVICE.ip, SERVICE.port);
    t.equal(svc.out.trim(), 'hello from server', 'client → ClusterIP:80 reaches the backend');

    await waitFor('the flow log', () => flows(live).some((f) => f['service'] === 'live/web'), 10_000, live);
    const f = flows(live);
    const natted = f.find((x) => x['service'] === 'live/web' && x['new_connection'] === true)!;
    t.same(natted['translated'], { dst_ip: SERVER.ip, dst_port: 8080 }, 'the flow log names the backend');
    t.ok(
      f.some((x) => x['verdict'] === 'DROPPED' && x['src_ip'] === SERVER.ip && x['dst_ip'] === CLIENT.ip && x['protocol'] === 'TCP' && x['drop_reason'] === 'POLICY_DENIED'),
      'the denied SYN is in the flow log',
    );
    t.ok(f.some((x) => x['verdict'] === 'FORWARDED' && x['is_reply'] === true && x['src_ip'] === SERVER.ip), 'replies are forwarded');

    // kpf live exec: a command in a pod's namespace (the runner is the kpf CLI itself)
    const ex = spawnSync(process.execPath, [...nodeArgs(), CLI, 'exec', 'live/client', '--', 'ip', '-4', '-o', 'addr'], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    });
    t.equal(ex.status, 0, ex.stderr);
    t.match(ex.stdout, CLIENT.ip);

    // --watch: a broken manifest keeps revision 1 …
    writeFileSync(manifest, original + '\n---\nkind: [this is not\n');
    await waitFor('the rejected recompile', () => live.err().includes('recompile rejected'), 30_000, live);
    t.equal(ping(SERVER, CLIENT.ip, 1, 800).status, 1, 'revision 1 still denies server → client');
    // … and dropping the client's policy allows server → client from revision 2 on
    const docs = original.split(/^---$/m).filter((d) => !d.includes('name: client-deny-ingress'));
    writeFileSync(manifest, docs.join('---'));
    await waitFor('revision 2 in the dataplane', () => live.err().includes('revision 2 in force'), 30_000, live);
    const now = ping(SERVER, CLIENT.ip);
    t.equal(now.status, 0, `server pings client under revision 2: ${now.out}`);
    t.equal(tcpConnect(SERVER, CLIENT.ip, 9090).out.trim(), 'hello from client', 'server → client:9090 under revision 2');

    // clean stop
    live.child.kill('SIGTERM');
    const r = await exitOf(live, 20_000);
    t.equal(r.code, 0, `exit code after SIGTERM: ${live.err()}`);
    t.same(ourLeftovers(), [], 'no kpf- namespace or device after a normal stop');
    const metrics = readFileSync(path.join(dir, 'metrics.prom'), 'utf8');
    t.match(metrics, /kpf_live_packets_total\{verdict="DROPPED"\} [1-9]/);
    t.match(metrics, /kpf_policy_changes_total\{outcome="rejected"\} 1/);
    t.match(metrics, /^kpf_live_conntrack_entries\{table="tcp"\} \d+$/m, 'conntrack occupancy is reported');
    t.match(metrics, /^kpf_live_conntrack_evictions_total\{table="any",reason="lru"\} \d+$/m, 'and its evictions');
  });

  t.test('--reject, SIGKILL, and the next (failing) start cleans up', async (t) => {
    const live = await startLiveReady(t, ['--no-default-dns', '-f', FIXTURE, '-o', 'json', '--reject']);
    await tcpServer(t, CLIENT, 9090, 'client');
    const refused = tcpConnect(SERVER, CLIENT.ip, 9090, 5000);
    t.equal(refused.out.trim(), 'ECONNREFUSED', 'a denied SYN gets a RST');
    const unreachable = ping(SERVER, CLIENT.ip, 1, 2000);
    t.match(unreachable.out, /unreachable from 10\.244\.7\.10: code=13/, 'a denied echo gets ICMP admin-prohibited');
    t.equal(tcpConnect(CLIENT, SERVICE.ip, SERVICE.port, 3000).out.trim(), 'ECONNREFUSED', 'the allowed Service has no server listening: the backend itself refuses');

    // a second kpf live refuses to touch the running one's namespaces
    const second = startLive(t, ['--no-default-dns', '-f', FIXTURE]);
    const r2 = await exitOf(second, START_TIMEOUT);
    t.equal(r2.code, 1);
    t.match(second.err(), /another kpf live is running/);
    t.ok(leftovers().some((n) => n === `netns ${CLIENT.netns}`), 'the running one still has its namespaces');

    live.child.kill('SIGKILL');
    await exitOf(live, 10_000);
    t.ok(leftovers().some((n) => n === `netns ${CLIENT.netns}`), 'SIGKILL leaves the namespaces behind');

    // the next start removes them; this one then fails after building its own, and removes those too
    let failing = startLive(t, ['--no-default-dns', '-f', FIXTURE], { KPF_TEST_LIVE_FAIL_START: '1' });
    let r3 = await exitOf(failing, START_TIMEOUT);
    for (const end = Date.now() + START_TIMEOUT; BUSY.test(failing.err()) && Date.now() < end; ) {
      await sleep(2000); // someone else's kpf live started in between: wait for it
      failing = startLive(t, ['--no-default-dns', '-f', FIXTURE], { KPF_TEST_LIVE_FAIL_START: '1' });
      r3 = await exitOf(failing, START_TIMEOUT);
    }
    t.equal(r3.code, 1, 'a failed start exits 1');
    t.match(failing.err(), /start failed/);
    t.same(ourLeftovers(), [], 'no kpf- namespace or device after SIGKILL + a failed start');
  });

  t.test('refuses to run without root', async (t) => {
    const r = spawnSync(process.execPath, [...nodeArgs(true), CLI, '-f', FIXTURE], {
      encoding: 'utf8',
      timeout: 120_000,
      cwd: root,
      uid: 65534,
      gid: 65534,
      env: { ...bareEnv(), TS_NODE_TRANSPILE_ONLY: '1', HOME: '/tmp' },
    });
    if (r.error || (r.status !== 1 && /EACCES|permission denied/i.test(r.stderr))) {
      t.comment(`cannot run node as nobody here, not checked: ${r.error?.message ?? r.stderr.slice(0, 200)}`);
      t.pass('not checked');
      return;
    }
    t.equal(r.status, 1, r.stderr);
    t.match(r.stderr, /needs root/);
    t.same(ourLeftovers(), []);
  });

  t.test('exec without a running kpf live', async (t) => {
    const r = spawnSync(process.execPath, [...nodeArgs(), CLI, 'exec', 'live/nobody', '--', 'true'], {
      encoding: 'utf8',
      timeout: 120_000,
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    });
    t.equal(r.status, 1);
    t.match(r.stderr, /no live namespace for live\/nobody/);
  });
}
