/**
 * The machine's memory latency as kpf's conntrack sees it: dependent loads at random (a pointer chase over one
 * 64-byte line a step) over working sets from 256 KB to 64 MB. Where the latency jumps is the cache the process
 * really gets (a VM shares its CPU's last-level cache with other tenants), which decides how fast a conntrack
 * lookup can be (docs/ARCHITECTURE.md, "Where the time goes").
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/machine/latency.bench.ts
 *   env: STEPS (2000000), RUNS (3; the median is printed)
 */
import { Prng } from '../../src/gen/traffic.js';

const STEPS = Number(process.env['STEPS'] ?? 2_000_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const rng = new Prng(1);

function chase(bytes: number): number {
  const words = bytes >>> 2;
  const a = new Int32Array(words);
  const lines = words >>> 4;
  // one random cycle through every line
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  for (let i = lines - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let i = 0; i < lines; i++) a[order[i]! * 16] = order[(i + 1) % lines]! * 16;
  const times: number[] = [];
  let p = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) p = a[p]!;
    times.push(((performance.now() - t0) * 1e6) / STEPS);
  }
  if (p < 0) throw new Error('unreachable');
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
}

console.log('working set   ns per dependent load (median of', RUNS, 'runs)');
for (const kb of [256, 1024, 2048, 4096, 8192, 16384, 32768, 65536]) {
  console.log(`${String(kb >= 1024 ? `${kb / 1024} MB` : `${kb} KB`).padStart(11)}   ${chase(kb * 1024).toFixed(1).padStart(6)}`);
}
