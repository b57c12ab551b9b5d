/**
 * kpf replay side by side with ../shared/peers in one run, on the peers' capture and its manifests: tcpdump's BPF
 * filter (`-w /dev/null`), the C reference classifier, naive JS (Map + string keys), typed-array JS — and kpf replay
 * with 1 and 2 workers (`-o summary`, whole process, as a user runs it: the `kpf` command, bin/kpf), with 1 worker
 * writing the allowed packets to /dev/null as tcpdump's line does (`--write-allowed`), with 1 worker without its
 * WebAssembly fast path (KPF_WASM=0), and kpf on the capture's header alone (its start-up and shut-down).
 * When NODE_EXTRA_CA_CERTS is set, also `node bin/kpf.js` with 1 worker, which starts with it (bin/kpf drops it: Node
 * parses that file at start-up, and kpf uses no TLS). Runs go round robin over the variants; ratios are within this
 * run only.
 *
 *   npm run build && node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/replay/peers.bench.ts
 *   env: N (2000000), RUNS (3), KPF_PEERS_DIR (../shared/peers beside the checkout)
 *
 * The peers' policy is stateless (replies are judged like requests) and kpf's is connection-oriented, so the
 * allowed counts differ: compare costs, not verdicts (peers/README.md).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEERS_DIR } from '../common.js';

const N = Number(process.env['N'] ?? 2_000_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const work = join(tmpdir(), `kpf-peers-bench-${N}`);
const pcap = join(work, 'pods.pcap');
if (!existsSync(pcap)) execFileSync('node', [join(PEERS_DIR, 'gen-pcap.js'), work], { env: { ...process.env, N: String(N), FRAME: '64', FLOWS: '50000', SEED: '1' }, stdio: 'ignore' });
const filter = execFileSync('cat', [join(work, 'filter.bpf')], { encoding: 'utf8' }).trim();
const classifyBin = join(work, 'classify');
if (!existsSync(classifyBin)) execFileSync('gcc', ['-O2', '-o', classifyBin, join(PEERS_DIR, 'classify.c')]);
const kpf = resolve(fileURLToPath(new URL('../../bin/kpf', import.meta.url)));
const kpfJs = resolve(fileURLToPath(new URL('../../bin/kpf.js', import.meta.url)));
const extraCerts = process.env['NODE_EXTRA_CA_CERTS'];
// the same pcap header with no records: kpf's start-up and shut-down alone (manifests, compile, worker boot)
const empty = join(work, 'empty.pcap');
if (!existsSync(empty)) {
  const header = Buffer.alloc(24);
  const fd = openSync(pcap, 'r');
  readSync(fd, header, 0, 24, 0);
  closeSync(fd);
  writeFileSync(empty, header);
}
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

/**
 * CPU seconds (user and system, every thread) of the children this process has waited for: /proc/self/stat's cutime
 * and cstime, in clock ticks (1/100 s on Linux); null without /proc.
 */
function childrenCpu(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}

/** One run: its wall seconds, and its CPU seconds (null without /proc). */
function wall(cmd: string, args: string[], env: Record<string, string> = {}): [number, number | null] {
  const c0 = childrenCpu();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const w = (performance.now() - t0) / 1000;
  const c1 = childrenCpu();
  return [w, c0 === null || c1 === null ? null : c1 - c0];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const replayArgs = (capture: string, workers: number) => ['replay', '-f', join(work, 'manifests.yaml'), capture, '-o', 'summary', '--workers', String(workers)];
const variants: Array<[string, string, string[], Record<string, string>?]> = [
  ...(haveTcpdump ? ([['tcpdump BPF filter -w /dev/null', 'tcpdump', ['-r', pcap, '-w', '/dev/null', filter]]] as Array<[string, string, string[]]>) : []),
  ['C reference classifier', classifyBin, [pcap, join(work, 'policy.txt')]],
  ['node naive (Map, string keys)', 'node', [join(PEERS_DIR, 'classify.js'), pcap, join(work, 'policy.txt'), 'map']],
  ['node typed-array open addressing', 'node', [join(PEERS_DIR, 'classify.js'), pcap, join(work, 'policy.txt'), 'oa']],
  ['kpf replay, 1 worker', kpf, replayArgs(pcap, 1)],
  // what tcpdump's line does: the packets the filter passes written out as a pcap
  ['kpf replay, 1 worker, --write-allowed /dev/null', kpf, [...replayArgs(pcap, 1), '--write-allowed', '/dev/null']],
  ['kpf replay, 2 workers', kpf, replayArgs(pcap, 2)],
  // the same without the WebAssembly fast path (datapath/wasm-core.ts): its gain, measured in the same run
  ['kpf replay, 1 worker, KPF_WASM=0', kpf, replayArgs(pcap, 1), { KPF_WASM: '0' }],
  // Node started with NODE_EXTRA_CA_CERTS (as the node peers above are): what bin/kpf saves by dropping it
  ...(extraCerts ? ([['kpf replay, 1 worker, node bin/kpf.js', 'node', [kpfJs, ...replayArgs(pcap, 1)]]] as Array<[string, string, string[]]>) : []),
  ['kpf replay, 1 worker, no records', kpf, replayArgs(empty, 1)],
];
execFileSync('cat', [pcap], { stdio: 'ignore' }); // page cache
// round robin, so that a slow spell of this shared machine falls on every variant alike
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
const cpus = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let r = 0; r < RUNS; r++) {
  for (const [name, cmd, args, env] of variants) {
    const [w, c] = wall(cmd, args, env);
    times.get(name)!.push(w);
    if (c !== null) cpus.get(name)!.push(c);
  }
}
const results = new Map<string, number>([...times].map(([name, ts]) => [name, median(ts)]));
// CPU: every thread's user and system time, median (kpf keeps two threads busy: on a shared machine it needs the time
// of two cores where tcpdump needs one)
const cpuOf = (name: string): string => {
  const c = cpus.get(name)!;
  return c.length === RUNS ? `  cpu ${median(c).toFixed(2)} s (${(median(c) / results.get(name)!).toFixed(2)} cores)` : '';
};
const ref = results.get('tcpdump BPF filter -w /dev/null');
const c = results.get('C reference classifier')!;
console.log(`${N} records of 64 B, median of ${RUNS} runs, whole process (Mpps = records / wall seconds)`);
for (const [name, s] of results) {
  if (name.endsWith('no records')) {
    console.log(`${name.padEnd(48)} ${s.toFixed(3).padStart(7)} s  (start-up and shut-down only)${cpuOf(name)}`);
    continue;
  }
  console.log(`${name.padEnd(48)} ${s.toFixed(3).padStart(7)} s  ${(N / s / 1e6).toFixed(2).padStart(6)} Mpps  vs C ${(c / s).toFixed(2)}${ref ? `  vs tcpdump ${(ref / s).toFixed(2)}` : ''}${cpuOf(name)}`);
}
if (!haveTcpdump) console.log('tcpdump is not installed: its variant was skipped');
if (extraCerts) console.log(`NODE_EXTRA_CA_CERTS=${extraCerts}: the node variants start with it, except kpf's (bin/kpf drops it)`);
