/**
 * `kpf live` on real traffic, beside a direct veth pair measured in the same run: TCP throughput (iperf3), added
 * round-trip latency (a UDP echo in node), and a sustained flood of new UDP flows while an established TCP stream
 * keeps running (bytes of the stream during the flood, kpf's RSS before/after, the kpf_live_* metrics).
 *
 * Drives the built CLI (`npm run build` first) and needs root, /dev/net/tun, ip and iperf3 (Debian package iperf3;
 * without it the bench says so and exits 0):
 *
 *   npm run build
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/live/live.bench.ts
 *
 * Env: IPERF_SECONDS (5), RTTS (1000 round trips per path), FLOOD_SECONDS (10), FLOOD_PPS (30000 new flows/s target),
 * STREAM_MBPS (100: rate of the established stream during the flood), KPF_LIVE_ARGS (extra `kpf live` flags, e.g.
 * "--ct-any-max 16384").
 *
 * The direct case uses namespaces kpfb-<pid>-a / kpfb-<pid>-b joined by a veth pair (10.250.91.1/.2); the kpf case
 * the two pods of bench/live/two-pods.yaml (10.244.91.10 → 10.244.91.20) in kpf live's own kpf-… namespaces. Traffic
 * runs only between these namespaces. Everything created (namespaces, veths, processes, the temp dir) is removed on
 * exit, on failure and on SIGINT/SIGTERM. Only one `kpf live` may run on a machine: when another holds its
 * namespaces the start is retried for 30 s, then the bench gives up (exit 1). The whole run takes about a minute.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { podNetnsName } from '../../src/live/netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const KPF = path.join(root, 'bin/kpf.js');
const MANIFEST = path.join(here, 'two-pods.yaml');
const NODE = process.execPath;

const IPERF_SECONDS = Number(process.env['IPERF_SECONDS'] ?? 5);
const RTTS = Number(process.env['RTTS'] ?? 1000);
const FLOOD_SECONDS = Number(process.env['FLOOD_SECONDS'] ?? 10);
const FLOOD_PPS = Number(process.env['FLOOD_PPS'] ?? 30000);
const STREAM_MBPS = Number(process.env['STREAM_MBPS'] ?? 100);
const EXTRA = (process.env['KPF_LIVE_ARGS'] ?? '').split(/\s+/).filter(Boolean);

const IPERF_PORT = 5201;
const STREAM_PORT = 5202;
const ECHO_PORT = 7007;
const FLOOD_PORTS = [20000, 59999] as const;

interface Pair {
  name: string;
  client: { netns: string; ip: string };
  server: { netns: string; ip: string };
}
const DIRECT: Pair = {
  name: 'direct veth',
  client: { netns: `kpfb-${process.pid}-a`, ip: '10.250.91.1' },
  server: { netns: `kpfb-${process.pid}-b`, ip: '10.250.91.2' },
};
const VIA_KPF: Pair = {
  name: 'via kpf live',
  client: { netns: podNetnsName('kpfbench', 'client'), ip: '10.244.91.10' },
  server: { netns: podNetnsName('kpfbench', 'server'), ip: '10.244.91.20' },
};
const VETH = [`kpfb${process.pid}a`, `kpfb${process.pid}b`];

// ---------------------------------------------------------------------------------------------------------------
// bookkeeping: everything this run creates, removed by cleanup() whatever happens

const children = new Set<ChildProcess>();
const ourNetns = new Set<string>();
let kpf: Kpf | undefined;
let tmp: string | undefined;
let cleaning: Promise<void> | undefined;
let interrupted = false;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function exitOf(c: ChildProcess): Promise<void> {
  return alive(c) ? new Promise((r) => c.once('exit', () => r())) : Promise.resolve();
}

/** Synchronous part of the cleanup (also run from process 'exit'). */
function cleanupSync(): void {
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
  for (const n of ourNetns) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
  for (const l of VETH) spawnSync('ip', ['link', 'delete', l], { stdio: 'ignore', timeout: 10_000 });
  ourNetns.clear();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // the processes inside the namespaces first (they would keep kpf's namespaces alive), then kpf itself
    for (const c of children) if (c !== kpf?.child && alive(c)) c.kill('SIGKILL');
    await Promise.all([...children].filter((c) => c !== kpf?.child).map((c) => within(exitOf(c), 3000)));
    if (kpf && alive(kpf.child)) await kpf.stop();
    cleanupSync();
  })();
  return cleaning;
}

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    interrupted = true;
    process.stderr.write(`\nlive.bench: ${sig}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// processes

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** Starts `ip netns exec NETNS CMD…` (ip execs the command: the child's pid is the command's). */
function startIn(netns: string, cmd: string[]): Proc {
  let out = '';
  const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  children.add(child);
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return { child, out: () => out, exited };
}

/** Runs a command in a namespace to its end, bounded. */
async function runIn(netns: string, cmd: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const p = startIn(netns, cmd);
  const code = await within(p.exited, timeoutMs);
  if (code === null && alive(p.child)) {
    p.child.kill('SIGKILL');
    await p.exited;
    throw new Error(`${cmd.slice(0, 3).join(' ')}… in ${netns} did not finish within ${timeoutMs} ms:\n${p.out().slice(-2000)}`);
  }
  return { code, out: p.out() };
}

async function waitFor(what: string, pred: () => boolean, timeoutMs: number, proc?: Proc): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (proc && !alive(proc.child)) throw new Error(`${what}: the process exited:\n${proc.out().slice(-2000)}`);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${proc ? `:\n${proc.out().slice(-2000)}` : ''}`);
    await sleep(50);
  }
}

/** Starts a long-running server and waits for its "listening" line. */
async function server(netns: string, cmd: string[], what: string): Promise<Proc> {
  const p = startIn(netns, cmd);
  await waitFor(what, () => /listening/i.test(p.out()), 15_000, p);
  return p;
}

function stopProc(p: Proc | undefined): Promise<unknown> {
  if (!p || !alive(p.child)) return Promise.resolve();
  p.child.kill('SIGKILL');
  return p.exited;
}

// ---------------------------------------------------------------------------------------------------------------
// the direct case: two namespaces joined by a veth pair

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function setupDirect(): void {
  const { client: a, server: b } = DIRECT;
  for (const n of [a.netns, b.netns]) {
    ourNetns.add(n);
    ip(['netns', 'add', n]);
    ip(['-n', n, 'link', 'set', 'dev', 'lo', 'up']);
  }
  ip(['link', 'add', VETH[0]!, 'type', 'veth', 'peer', 'name', VETH[1]!]);
  ip(['link', 'set', 'dev', VETH[0]!, 'netns', a.netns]);
  ip(['link', 'set', 'dev', VETH[1]!, 'netns', b.netns]);
  ip(['-n', a.netns, 'addr', 'add', `${a.ip}/30`, 'dev', VETH[0]!]);
  ip(['-n', b.netns, 'addr', 'add', `${b.ip}/30`, 'dev', VETH[1]!]);
  ip(['-n', a.netns, 'link', 'set', 'dev', VETH[0]!, 'up']);
  ip(['-n', b.netns, 'link', 'set', 'dev', VETH[1]!, 'up']);
}

function teardownDirect(): void {
  for (const n of [DIRECT.client.netns, DIRECT.server.netns]) {
    spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
    ourNetns.delete(n);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// kpf live

class Kpf {
  err = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    children.add(child);
    child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((r) =>
      child.once('exit', (code) => {
        children.delete(child);
        r(code);
      }),
    );
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** SIGTERM, a bounded wait for the clean stop; SIGKILL and `kpf live cleanup` otherwise. */
  async stop(): Promise<number | null> {
    if (alive(this.child)) this.child.kill('SIGTERM');
    let code = await within(this.exited, 20_000);
    if (code === null && alive(this.child)) {
      this.child.kill('SIGKILL');
      await this.exited;
      spawnSync(NODE, [KPF, 'live', 'cleanup'], { stdio: 'ignore', timeout: 60_000, cwd: root });
      code = null;
    }
    return code;
  }
}

/** Starts kpf live (flow log to /dev/null: it is one JSON line per packet) and waits until it forwards. */
async function startKpf(metrics: string): Promise<Kpf> {
  const end = Date.now() + 30_000;
  for (;;) {
    const child = spawn(NODE, [KPF, 'live', '--no-default-dns', '-f', MANIFEST, '-o', 'json', '--metrics', metrics, ...EXTRA], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const k = new Kpf(child);
    kpf = k;
    const deadline = Date.now() + 90_000;
    while (!k.err.includes('kpf live: forwarding') && alive(child) && Date.now() < deadline) await sleep(50);
    if (k.err.includes('kpf live: forwarding')) return k;
    if (alive(child)) {
      await k.stop();
      throw new Error(`kpf live did not start within 90 s:\n${k.err}`);
    }
    await k.exited;
    if (!/another kpf live is running/.test(k.err) || Date.now() > end) throw new Error(`kpf live did not start (exit ${child.exitCode}):\n${k.err}`);
    process.stderr.write('live.bench: another kpf live is running on this machine: retrying\n');
    await sleep(2000);
  }
}

function rssKiB(pid: number): number {
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 });
  return Number(r.stdout.trim()) || NaN;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** A counter of the Udp: line of /proc/net/snmp inside a namespace (per-namespace counters). */
function udpCounter(netns: string, name: string): number {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'cat', '/proc/net/snmp'], { encoding: 'utf8', timeout: 5000 });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) return NaN;
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  return Number(vals[keys.indexOf(name)]);
}

function readMetrics(file: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(file)) return m;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const x = /^(\S+)\s+(\S+)$/.exec(l);
    if (x && !l.startsWith('#')) m.set(x[1]!, Number(x[2]));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// the measurements

/** iperf3 -t N -J from client to server; Gbit/s received (and sender retransmits). */
async function iperf(p: Pair, pid?: number): Promise<{ gbps: number; sentGbps: number; retransmits: number; kpfCpu?: number }> {
  const srv = startIn(p.server.netns, ['iperf3', '-s', '-B', p.server.ip, '-p', String(IPERF_PORT)]);
  try {
    // iperf3 block-buffers its "Server listening" into a pipe: ask the socket table instead
    const listening = (): boolean =>
      spawnSync('ip', ['netns', 'exec', p.server.netns, 'ss', '-Hltn', `sport = :${IPERF_PORT}`], { encoding: 'utf8', timeout: 5000 }).stdout?.includes(':') === true;
    await waitFor(`iperf3 -s in ${p.server.netns}`, listening, 15_000, srv);
    const c0 = pid ? cpuSeconds(pid) : 0;
    const w0 = Date.now();
    const r = await runIn(p.client.netns, ['iperf3', '-c', p.server.ip, '-p', String(IPERF_PORT), '-t', String(IPERF_SECONDS), '-J'], (IPERF_SECONDS + 25) * 1000);
    let j: { error?: string; end?: { sum_received?: { bits_per_second: number }; sum_sent?: { bits_per_second: number; retransmits?: number } } };
    try {
      j = JSON.parse(r.out.slice(r.out.indexOf('{')));
    } catch {
      throw new Error(`iperf3 ${p.name}: no JSON (exit ${r.code}):\n${r.out.slice(-2000)}`);
    }
    if (j.error || !j.end?.sum_received) throw new Error(`iperf3 ${p.name}: ${j.error ?? 'no result'}`);
    return {
      gbps: j.end.sum_received.bits_per_second / 1e9,
      sentGbps: (j.end.sum_sent?.bits_per_second ?? 0) / 1e9,
      retransmits: j.end.sum_sent?.retransmits ?? 0,
      ...(pid ? { kpfCpu: (cpuSeconds(pid) - c0) / ((Date.now() - w0) / 1000) } : {}),
    };
  } finally {
    await stopProc(srv);
  }
}

const ECHO_SERVER = (host: string) =>
  `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(m,r.port,r.address));` +
  `d.bind(${ECHO_PORT},${JSON.stringify(host)},()=>console.log('listening'))`;

/** One outstanding request at a time; WARM round trips first (ARP/conntrack/JIT), not counted. */
const ECHO_CLIENT = (host: string, n: number) =>
  `const s=require('dgram').createSocket('udp4');const N=${n},WARM=50,rtts=[];let i=0,t0=0n,lost=0,timer;const b=Buffer.alloc(64);` +
  `function send(){b.writeUInt32BE(i,0);t0=process.hrtime.bigint();s.send(b,${ECHO_PORT},${JSON.stringify(host)});` +
  `clearTimeout(timer);timer=setTimeout(()=>{lost++;next()},1000)}` +
  `function next(){i++;if(i>=N+WARM){clearTimeout(timer);console.log(JSON.stringify({rtts,lost}));s.close();return}send()}` +
  `s.on('message',m=>{if(m.readUInt32BE(0)!==i)return;const dt=Number(process.hrtime.bigint()-t0)/1e3;if(i>=WARM)rtts.push(dt);next()});` +
  `s.bind(0,()=>send())`;

interface Latency {
  n: number;
  lost: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function latency(p: Pair): Promise<Latency> {
  const srv = await server(p.server.netns, [NODE, '-e', ECHO_SERVER(p.server.ip)], `the UDP echo in ${p.server.netns}`);
  try {
    const r = await runIn(p.client.netns, [NODE, '-e', ECHO_CLIENT(p.server.ip, RTTS)], 60_000);
    const j = JSON.parse(r.out.slice(r.out.indexOf('{'))) as { rtts: number[]; lost: number };
    const s = j.rtts.sort((a, b) => a - b);
    if (!s.length) throw new Error(`no echo came back on ${p.name}`);
    return { n: s.length, lost: j.lost, medianUs: quantile(s, 0.5), p99Us: quantile(s, 0.99), meanUs: s.reduce((a, b) => a + b, 0) / s.length };
  } finally {
    await stopProc(srv);
  }
}

const SINK = (host: string) =>
  `let t=0;require('net').createServer(s=>s.on('data',b=>t+=b.length)).listen(${STREAM_PORT},${JSON.stringify(host)},()=>console.log('listening'));` +
  `setInterval(()=>console.log('bytes '+t),100)`;

/** A paced TCP stream: STREAM_MBPS in 10 ms slices (never more than 4 MB queued in the socket). */
const SOURCE = (host: string, mbps: number) =>
  `const s=require('net').connect({host:${JSON.stringify(host)},port:${STREAM_PORT}},()=>{console.log('connected');` +
  `const per=Math.max(1,Math.round(${mbps}*1e6/8/100)),b=Buffer.alloc(per);setInterval(()=>{if(s.writableLength<4e6)s.write(b)},10)});` +
  `s.on('error',e=>{console.log('error '+e.code);process.exit(2)})`;

/** New UDP flows: 8 source sockets × ports 20000-59999, paced to PPS for SECONDS; prints what it sent. */
const FLOOD = (host: string, pps: number, seconds: number) =>
  `const d=require('dgram');const S=[];for(let k=0;k<8;k++){const s=d.createSocket('udp4');s.on('error',()=>{});S.push(s)}` +
  `const b=Buffer.alloc(32),P0=${FLOOD_PORTS[0]},NP=${FLOOD_PORTS[1] - FLOOD_PORTS[0] + 1};let sent=0,errs=0,inflight=0;const t0=Date.now(),end=t0+${seconds * 1000};` +
  `const cb=e=>{inflight--;if(e)errs++};` +
  `function tick(){const now=Date.now();if(now>=end){const w=()=>{if(inflight>0)return setTimeout(w,10);console.log(JSON.stringify({sent,errs,seconds:(Date.now()-t0)/1e3}));process.exit(0)};return w()}` +
  `const due=Math.floor((now-t0)*${pps}/1000);while(sent<due&&inflight<4096){S[sent&7].send(b,P0+(Math.floor(sent/8)%NP),${JSON.stringify(host)},cb);sent++;inflight++}setTimeout(tick,2)}` +
  `tick()`;

interface Flood {
  sent: number;
  /** flood datagrams that reached the server's stack (its Udp NoPorts counter: nothing listens there) */
  delivered: number;
  sendErrors: number;
  seconds: number;
  streamMbps: { before: number; during: number; after: number };
  streamBytesDuring: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  rssAfterKiB: number;
  rssSettledKiB: number;
}

/** COUNT datagrams server → client:7007, which client-deny-ingress denies; returns what reached the client's stack. */
async function deniedProbe(p: Pair, count: number): Promise<number> {
  const before = udpCounter(p.client.netns, 'NoPorts') + udpCounter(p.client.netns, 'InDatagrams');
  const js =
    `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(32);` +
    `(function f(){if(n>=${count})return setTimeout(()=>s.close(),100);s.send(b,${ECHO_PORT},${JSON.stringify(p.client.ip)},()=>{n++;f()})})()`;
  await runIn(p.server.netns, [NODE, '-e', js], 15_000);
  await sleep(300);
  return udpCounter(p.client.netns, 'NoPorts') + udpCounter(p.client.netns, 'InDatagrams') - before;
}

async function flood(p: Pair, pid: number): Promise<Flood> {
  const sink = await server(p.server.netns, [NODE, '-e', SINK(p.server.ip)], 'the TCP sink');
  const src = startIn(p.client.netns, [NODE, '-e', SOURCE(p.server.ip, STREAM_MBPS)]);
  let fl: Proc | undefined;
  try {
    await waitFor('the established stream', () => src.out().includes('connected'), 15_000, src);
    const bytes = (): number => {
      const o = sink.out();
      const i = o.lastIndexOf('bytes ', o.length - 2);
      return i < 0 ? 0 : parseInt(o.slice(i + 6), 10);
    };
    const rate = async (ms: number): Promise<number> => {
      const b0 = bytes();
      const t0 = Date.now();
      await sleep(ms);
      return ((bytes() - b0) * 8) / ((Date.now() - t0) / 1000) / 1e6;
    };
    await sleep(500); // slow start
    const before = await rate(2000);
    const rssBefore = rssKiB(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssKiB(pid) || 0)), 250);
    const noPorts0 = udpCounter(p.server.netns, 'NoPorts');
    const b0 = bytes();
    const t0 = Date.now();
    fl = startIn(p.client.netns, [NODE, '-e', FLOOD(p.server.ip, FLOOD_PPS, FLOOD_SECONDS)]);
    const code = await within(fl.exited, (FLOOD_SECONDS + 20) * 1000);
    const during = bytes() - b0;
    const dt = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const rssAfter = rssKiB(pid);
    if (code !== 0) throw new Error(`the flood failed (exit ${code}):\n${fl.out().slice(-2000)}`);
    const r = JSON.parse(fl.out().slice(fl.out().indexOf('{'))) as { sent: number; errs: number; seconds: number };
    await sleep(200); // the last datagrams still in kpf's queues
    const delivered = udpCounter(p.server.netns, 'NoPorts') - noPorts0;
    const after = await rate(2000);
    const rssSettled = rssKiB(pid);
    return {
      sent: r.sent,
      delivered,
      sendErrors: r.errs,
      seconds: r.seconds,
      streamMbps: { before, during: (during * 8) / dt / 1e6, after },
      streamBytesDuring: during,
      rssBeforeKiB: rssBefore,
      rssPeakKiB: Math.max(rssPeak, rssAfter),
      rssAfterKiB: rssAfter,
      rssSettledKiB: rssSettled,
    };
  } finally {
    await Promise.all([stopProc(fl), stopProc(src), stopProc(sink)]);
  }
}

// ---------------------------------------------------------------------------------------------------------------

function precondition(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (namespaces, veth, kpf live)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'ip netns does not work (iproute2 missing?)';
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) return 'kpf is not built: run `npm run build` first';
  return null;
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mib = (kib: number) => `${fmt(kib / 1024, 1)} MiB`;

async function main(): Promise<number> {
  const why = precondition();
  if (why) {
    console.error(`live.bench: cannot run: ${why}`);
    return 1;
  }
  if (spawnSync('iperf3', ['--version']).error) {
    console.log('live.bench: iperf3 is not installed (Debian package iperf3: apt-get install -y iperf3): nothing measured');
    return 0;
  }
  const t0 = Date.now();
  tmp = mkdtempSync(path.join(tmpdir(), 'kpf-live-bench-'));
  const metricsFile = path.join(tmp, 'metrics.prom');
  const cpus = (await import('node:os')).cpus().length;
  console.log(`kpf live benchmark — node ${process.version}, ${cpus} CPUs, iperf3 -t ${IPERF_SECONDS}, ${RTTS} round trips, flood ${FLOOD_SECONDS} s at ${FLOOD_PPS} new flows/s with a ${STREAM_MBPS} Mbit/s stream${EXTRA.length ? `, kpf live ${EXTRA.join(' ')}` : ''}`);

  // direct
  setupDirect();
  const directTput = await iperf(DIRECT);
  const directLat = await latency(DIRECT);
  teardownDirect();

  // through kpf live
  const k = await startKpf(metricsFile);
  const startupS = (Date.now() - t0) / 1000;
  const rssIdle = rssKiB(k.pid);
  const kpfTput = await iperf(VIA_KPF, k.pid);
  const kpfLat = await latency(VIA_KPF);
  const DENIED = 100;
  const leaked = await deniedProbe(VIA_KPF, DENIED);
  const fl = await flood(VIA_KPF, k.pid);
  const code = await k.stop();
  kpf = undefined;
  const metrics = readMetrics(metricsFile);
  const summary = /kpf live: (\d+ forwarded.*)$/m.exec(k.err)?.[1] ?? '(no summary line)';

  console.log('\n1. TCP throughput (iperf3 -t %d, client → server, receiver side)', IPERF_SECONDS);
  console.log(`   direct veth : ${fmt(directTput.gbps)} Gbit/s (retransmits ${directTput.retransmits})`);
  console.log(`   via kpf live: ${fmt(kpfTput.gbps)} Gbit/s (retransmits ${kpfTput.retransmits}; kpf process ${fmt((kpfTput.kpfCpu ?? NaN) * 100, 0)}% CPU, flow log -o json to /dev/null)`);
  console.log(`   ratio kpf/direct: ${fmt(kpfTput.gbps / directTput.gbps, 3)}  (goal ≥ 1 Gbit/s through kpf: ${kpfTput.gbps >= 1 ? 'met' : 'NOT met'})`);

  console.log(`\n2. UDP round trip (64-byte echo, ${RTTS} sequential, after 50 warm-up), µs`);
  console.log(`   direct veth : median ${fmt(directLat.medianUs, 1)}  p99 ${fmt(directLat.p99Us, 1)}  mean ${fmt(directLat.meanUs, 1)}  lost ${directLat.lost}`);
  console.log(`   via kpf live: median ${fmt(kpfLat.medianUs, 1)}  p99 ${fmt(kpfLat.p99Us, 1)}  mean ${fmt(kpfLat.meanUs, 1)}  lost ${kpfLat.lost}`);
  console.log(`   added by kpf: median +${fmt(kpfLat.medianUs - directLat.medianUs, 1)}  p99 +${fmt(kpfLat.p99Us - directLat.p99Us, 1)}`);

  console.log(`\n3. Flood of new UDP flows through kpf live (client → server:${FLOOD_PORTS[0]}-${FLOOD_PORTS[1]}, 8 source ports)`);
  console.log(`   sent ${fl.sent} datagrams = new flows in ${fmt(fl.seconds, 1)} s (${fmt(fl.sent / fl.seconds, 0)}/s, target ${FLOOD_PPS}/s, send errors ${fl.sendErrors})`);
  console.log(`   forwarded to the server (its Udp NoPorts counter): ${fl.delivered} (${fmt((100 * fl.delivered) / fl.sent, 1)}%)`);
  console.log(
    `   established TCP stream (paced at ${STREAM_MBPS} Mbit/s): before ${fmt(fl.streamMbps.before, 1)} Mbit/s, during ${fmt(fl.streamMbps.during, 1)} Mbit/s ` +
      `(${fl.streamBytesDuring} bytes), after ${fmt(fl.streamMbps.after, 1)} Mbit/s → ${fl.streamBytesDuring > 0 ? 'kept forwarding' : 'STALLED'}`,
  );
  console.log(`   kpf RSS (ps -o rss): at start ${mib(rssIdle)}, before flood ${mib(fl.rssBeforeKiB)}, peak ${mib(fl.rssPeakKiB)}, right after ${mib(fl.rssAfterKiB)}, 2 s later ${mib(fl.rssSettledKiB)}`);
  const live = [...metrics].filter(([n]) => n.startsWith('kpf_live_'));
  console.log(`   --metrics at exit (the whole run): ${live.map(([n, v]) => `${n}=${v}`).join(', ') || '(none)'}`);
  const drops = metrics.get('kpf_live_drops_total{reason="POLICY_DENIED"}') ?? 0;
  console.log(`   policy check: ${DENIED} datagrams server → client (denied): ${leaked} reached the client; kpf_live_drops_total{POLICY_DENIED}=${drops}`);
  const ct = [...metrics.keys()].filter((n) => /conntrack|_ct_|evict/.test(n));
  console.log(
    ct.length
      ? `   conntrack: ${ct.map((n) => `${n}=${metrics.get(n)}`).join(', ')}`
      : `   conntrack evictions/entries: not in kpf live's --metrics (only the kpf_live_* packet/drop/reject/unroutable/write-error counters and gauges above); ` +
          `${fl.delivered > 131072 ? `${fl.delivered} new UDP flows reached kpf's conntrack in ${fmt(fl.seconds, 0)} s with a 30 s unreplied timeout: with the default --ct-any-max 131072 the table filled, i.e. ≥ ${fl.delivered - 131072} evictions (inferred, not counted)` : 'the flood stayed under the default --ct-any-max 131072 (no eviction needed)'}`,
  );
  console.log(`   kpf live stop: exit ${code}; ${summary}`);
  console.log(`\nwhole run ${fmt((Date.now() - t0) / 1000, 1)} s (kpf live started after ${fmt(startupS, 1)} s)`);
  console.log(
    JSON.stringify({
      throughputGbps: { direct: directTput.gbps, kpf: kpfTput.gbps, ratio: kpfTput.gbps / directTput.gbps },
      latencyUs: { direct: directLat, kpf: kpfLat },
      flood: fl,
      deniedProbe: { sent: DENIED, leaked, policyDenied: drops },
      metrics: Object.fromEntries(live),
    }),
  );
  return code === 0 ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (e) {
  if (interrupted) await new Promise(() => {}); // the signal handler exits once cleaned up
  console.error(`live.bench: failed: ${e instanceof Error ? e.message : String(e)}`);
  if (kpf) console.error(`kpf live stderr:\n${kpf.err.slice(-3000)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
