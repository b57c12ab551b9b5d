/** Shared by the capture benchmarks: a cached 64-byte-frame pcap from ../shared/peers/gen-pcap.js beside the
 *  checkout (or the path in KPF_BENCH_PCAP), and tcpdump timing. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The peers folder beside the checkout (shared/peers), as laid out for developers and CI. */
export const PEERS_DIR = process.env.KPF_PEERS_DIR ?? resolve(fileURLToPath(new URL('../../shared/peers/', import.meta.url)));

export const N = Number(process.env.N ?? 1_000_000);

export function benchPcap(): string {
  if (process.env.KPF_BENCH_PCAP) return process.env.KPF_BENCH_PCAP;
  const dir = join(tmpdir(), `kpf-bench-${process.getuid?.() ?? 0}-${N}`);
  const f = join(dir, 'pods.pcap');
  if (!existsSync(f)) {
    const gen = process.env.KPF_GEN_PCAP ?? join(PEERS_DIR, 'gen-pcap.js');
    execFileSync('node', [gen, dir], { env: { ...process.env, N: String(N), FRAME: '64', FLOWS: '50000', SEED: '1' }, stdio: 'ignore' });
  }
  execFileSync('cat', [f], { stdio: ['ignore', 'ignore', 'ignore'] }); // page cache warm
  return f;
}

export function fileInfo(f: string): string {
  return `${f} (${statSync(f).size} bytes)`;
}

/** Median wall seconds of `tcpdump -r f -w /dev/null` over `runs`, or null without tcpdump. */
export function tcpdumpSeconds(f: string, runs = 3): number | null {
  if (spawnSync('tcpdump', ['--version']).status !== 0) return null;
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync('tcpdump', ['-r', f, '-w', '/dev/null'], { stdio: 'ignore' });
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return ts.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

export const mpps = (n: number, s: number) => (n / s / 1e6).toFixed(2);
export const now = () => Number(process.hrtime.bigint()) / 1e9;
