/**
 * Packets/s of the synthetic traffic generator (src/gen/traffic.ts) over the lab cluster:
 *   1. generation only (the sink discards the chunks)
 *   2. generation + writing the file (to $TMPDIR, removed afterwards)
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/gen/traffic.bench.ts
 *
 * Env: N (packets, default 5,000,000), FRAME (default 64), FLOWS (default 50,000), RUNS (default 3), SEED (1).
 * The first run includes JIT warm-up; the median of the runs is reported too.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTraffic, DEFAULT_TRAFFIC, type TrafficOptions } from '../../src/gen/traffic.js';
import { loadLabCluster } from '../../src/gen/lab.js';

const N = Number(process.env['N'] ?? 5_000_000);
const FRAME = Number(process.env['FRAME'] ?? 64);
const FLOWS = Number(process.env['FLOWS'] ?? 50_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const SEED = Number(process.env['SEED'] ?? 1);

const cluster = await loadLabCluster();
const opts: TrafficOptions = { ...DEFAULT_TRAFFIC, mix: { ...DEFAULT_TRAFFIC.mix }, packets: N, flows: FLOWS, frameSize: FRAME, seed: SEED };

async function once(toFile: boolean): Promise<number> {
  const file = join(tmpdir(), `kpf-gen-bench-${process.pid}.pcap`);
  const fd = toFile ? openSync(file, 'w') : -1;
  const t0 = process.hrtime.bigint();
  await generateTraffic(cluster, opts, (c) => {
    if (fd >= 0) writeSync(fd, c);
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (fd >= 0) {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return N / s;
}

const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M packets/s`;
for (const [name, toFile] of [['generate only', false], ['generate + write file', true]] as const) {
  const r: number[] = [];
  for (let i = 0; i < RUNS; i++) r.push(await once(toFile));
  const sorted = [...r].sort((a, b) => a - b);
  console.log(`${name.padEnd(22)} N=${N} frame=${FRAME} flows=${FLOWS}: first ${fmt(r[0]!)}, median ${fmt(sorted[Math.floor(RUNS / 2)]!)}, best ${fmt(sorted[RUNS - 1]!)}`);
}
