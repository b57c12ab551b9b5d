/**
 * Single-thread cost of the per-packet pipeline (decode → conntrack → policy) over a capture held in memory,
 * beside a decode-only pass and a general-path-only pass (no fast path) over the same records, in one run. Input: the peers' capture and manifests
 * (../shared/peers/gen-pcap.js), or KPF_BENCH_PCAP + KPF_BENCH_MANIFESTS.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/datapath/classify.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCluster } from '../../src/cluster/build.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { Classifier, VerdictBatch } from '../../src/datapath/classify.js';
import { loadManifests } from '../../src/manifests/index.js';
import { decode } from '../../src/packet/decode.js';
import { compile } from '../../src/policy/compile.js';
import { buildSnapshot } from '../../src/policy/snapshot.js';
import { openCapture, type RecordBatch } from '../../src/sources/capture.js';
import { PEERS_DIR } from '../common.js';

const N = Number(process.env['N'] ?? 2_000_000);
const dir = join(tmpdir(), `kpf-bench-peers-${N}`);
if (!process.env['KPF_BENCH_PCAP'] && !existsSync(join(dir, 'pods.pcap'))) {
  execFileSync('node', [join(PEERS_DIR, 'gen-pcap.js'), dir], { env: { ...process.env, N: String(N), FRAME: '64', FLOWS: '50000', SEED: '1' }, stdio: 'ignore' });
}
const pcap = process.env['KPF_BENCH_PCAP'] ?? join(dir, 'pods.pcap');
const manifests = process.env['KPF_BENCH_MANIFESTS'] ?? join(dir, 'manifests.yaml');

const loaded = await loadManifests([manifests], {});
const cluster = buildCluster(loaded.objects, {}).cluster;
const snapshot = buildSnapshot(compile(cluster), { shared: false });
const batches: RecordBatch[] = [];
for await (const b of await openCapture(pcap, { maxBatch: 4096 })) batches.push(b);
const total = batches.reduce((a, b) => a + b.count, 0);

function decodeOnly(): number {
  const k = new FlowKey();
  let ok = 0;
  for (const b of batches) for (let i = 0; i < b.count; i++) if (decode(b.linkTypes[i]!, b.buf, b.offsets[i]!, b.capLens[i]!, b.wireLens[i]!, k) === 0) ok++;
  return ok;
}

function classifyAll(): number {
  const c = new Classifier(snapshot, process.env['CT'] ? { conntrack: { tcpMax: Number(process.env['CT']), anyMax: Number(process.env['CT']) / 4 } } : {});
  const out = new VerdictBatch(4096);
  let fwd = 0;
  for (const b of batches) {
    c.classifyBatch(b.buf, b.count, b.offsets, b.capLens, b.wireLens, b.linkTypes, b.tsSec, b.tsNsec, out);
    for (let i = 0; i < b.count; i++) if (out.verdict[i] === 1) fwd++;
  }
  return fwd;
}

/** The general path only (decode + classifyDecoded for every packet): what the fast path saves, in the same run. */
function classifyGeneral(): number {
  const c = new Classifier(snapshot, {});
  const out = new VerdictBatch(4096);
  let fwd = 0;
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      c.ct.timeNs = b.tsSec[i]! * 1e9 + b.tsNsec[i]!;
      c.classify(b.linkTypes[i]!, b.buf, b.offsets[i]!, b.capLens[i]!, b.wireLens[i]!, out, i);
    }
    for (let i = 0; i < b.count; i++) if (out.verdict[i] === 1) fwd++;
  }
  return fwd;
}

function time(f: () => number): { mpps: number; result: number } {
  const t0 = performance.now();
  const result = f();
  return { mpps: total / ((performance.now() - t0) / 1000) / 1e6, result };
}

const rounds = Number(process.env['RUNS'] ?? 3);
for (let r = 0; r < rounds; r++) {
  const d = time(decodeOnly);
  const c = time(classifyAll);
  const g = time(classifyGeneral);
  if (g.result !== c.result) throw new Error(`the general path forwarded ${g.result}, the fast path ${c.result}`);
  console.log(
    `run ${r + 1}: ${total} records  decode ${d.mpps.toFixed(2)} Mpps  classify ${c.mpps.toFixed(2)} Mpps (${(1000 / c.mpps).toFixed(0)} ns/packet, forwarded ${c.result})  ` +
      `general path only ${g.mpps.toFixed(2)} Mpps (${(1000 / g.mpps).toFixed(0)} ns/packet)  fast/general ${(c.mpps / g.mpps).toFixed(2)}  classify/decode ${(c.mpps / d.mpps).toFixed(2)}`,
  );
}
