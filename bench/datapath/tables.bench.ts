/**
 * ns/op of the per-packet runtime tables against a JS Map with string keys measured in the same run.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/datapath/tables.bench.ts
 *
 * Env: FLOWS (live flows / cache entries, default 100000), OPS (lookups per run, default 2000000), RUNS (default 5).
 * Reports the median of RUNS warm runs (after a warm-up run) and the ratio baseline / kpf (> 1 ⇒ kpf is faster).
 * The Map baselines build their string key from the same packet fields per lookup, as a naive datapath would.
 */
import { Conntrack, CtResult } from '../../src/datapath/conntrack.js';
import { VerdictCache } from '../../src/datapath/verdict-cache.js';
import { LpmTable, type LpmEntry } from '../../src/datapath/lpm.js';
import { FlowKey } from '../../src/core/flow-key.js';

const FLOWS = Number(process.env.FLOWS ?? 100_000);
const OPS = Number(process.env.OPS ?? 2_000_000);
const RUNS = Number(process.env.RUNS ?? 5);

let sink = 0;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
function time(fn: () => number): number {
  fn(); // warm-up (JIT)
  const r: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    sink ^= fn();
    r.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  return median(r);
}
const rows: [string, number, number][] = [];
function row(name: string, ours: number, base: number): void {
  rows.push([name, ours, base]);
}

// ---- keys -----------------------------------------------------------------------------------------------------------
const keys: FlowKey[] = [];
const missKeys: FlowKey[] = [];
for (let i = 0; i < FLOWS; i++) {
  for (const arr of [keys, missKeys]) {
    const k = new FlowKey();
    k.family = 4;
    k.proto = 6;
    k.src3 = (0x0af40000 + (i % 60000)) >>> 0; // 10.244.x.y
    k.dst3 = (0x0af50000 + ((i * 7) % 50000)) >>> 0;
    k.sport = 1024 + (i % 50000);
    k.dport = arr === keys ? 80 : 81;
    k.tcpFlags = 0x10;
    k.ipLen = 60;
    arr.push(k);
  }
}
const MASK = FLOWS; // index with i % FLOWS
const strKey = (k: FlowKey) => `${k.proto}|${k.src0},${k.src1},${k.src2},${k.src3}|${k.dst0},${k.dst1},${k.dst2},${k.dst3}|${k.sport}|${k.dport}`;

// ---- conntrack --------------------------------------------------------------------------------------------------------
const ct = new Conntrack({ tcpMax: Math.max(1024, FLOWS * 2), anyMax: 1024 });
const ctMap = new Map<string, { verdict: number; state: number; pkts: number; last: number }>();
for (const k of keys) {
  k.tcpFlags = 0x02;
  ct.create(k, 1e9, 1, 1);
  k.tcpFlags = 0x10;
  ctMap.set(strKey(k), { verdict: 1, state: 1, pkts: 1, last: 1e9 });
}
row(
  'conntrack lookup, hit',
  time(() => {
    let s = 0;
    ct.timeNs = 2e9;
    for (let i = 0; i < OPS; i++) s += ct.lookup(keys[i % MASK]!);
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) s += ctMap.get(strKey(keys[i % MASK]!))!.verdict;
    return s;
  }),
);
row(
  'conntrack track (lookup+update), hit',
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      ct.timeNs = 2e9 + i;
      s += ct.track(keys[i % MASK]!, undefined, 60);
    }
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const e = ctMap.get(strKey(keys[i % MASK]!))!;
      e.pkts++;
      e.last = 2e9 + i;
      s += e.verdict;
    }
    return s;
  }),
);
row(
  'conntrack lookup, miss',
  time(() => {
    let s = 0;
    ct.timeNs = 3e9;
    for (let i = 0; i < OPS; i++) s += ct.lookup(missKeys[i % MASK]!);
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) s += ctMap.get(strKey(missKeys[i % MASK]!)) === undefined ? 1 : 0;
    return s;
  }),
);
if (ct.lookup(keys[0]!) !== CtResult.ORIGINAL) throw new Error('bench: conntrack lost a flow');

// ---- verdict cache -----------------------------------------------------------------------------------------------------
const VC = Math.min(FLOWS, 65536);
const vc = new VerdictCache(65536);
const vcMap = new Map<string, { v: number; rule: number; rev: number }>();
for (let i = 0; i < VC; i++) {
  vc.insert(i & 255, i & 1, 1000 + i, 6, 80, 1, 1, i);
  vcMap.set(`${i & 255}|${i & 1}|${1000 + i}|6|80`, { v: 1, rule: i, rev: 1 });
}
row(
  'verdict cache lookup, hit',
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const j = i % VC;
      s += vc.lookup(j & 255, j & 1, 1000 + j, 6, 80, 1);
    }
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const j = i % VC;
      const e = vcMap.get(`${j & 255}|${j & 1}|${1000 + j}|6|80`);
      s += e !== undefined && e.rev === 1 ? e.v : -1;
    }
    return s;
  }),
);
row(
  'verdict cache lookup, miss',
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const j = i % VC;
      s += vc.lookup(j & 255, j & 1, 1000 + j, 6, 443, 1);
    }
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const j = i % VC;
      s += vcMap.get(`${j & 255}|${j & 1}|${1000 + j}|6|443`) === undefined ? 1 : 0;
    }
    return s;
  }),
);

// ---- LPM (ipcache shape: one /32 per pod, a few CIDRs, 0/0) ----------------------------------------------------------
const entries: LpmEntry[] = [];
const pods = Math.min(FLOWS, 60000);
for (let i = 0; i < pods; i++) entries.push({ family: 4, w0: 0, w1: 0, w2: 0, w3: (0x0af40000 + i) >>> 0, prefixLen: 32, value: 100 + (i % 5000) });
for (const [w3, len, v] of [
  [0x0a000000, 8, 3],
  [0x0af40000, 16, 4],
  [0xc0a80000, 16, 5],
  [0xac100000, 12, 6],
  [0, 0, 2],
] as const)
  entries.push({ family: 4, w0: 0, w1: 0, w2: 0, w3, prefixLen: len, value: v });
const lpm = LpmTable.build(entries, { defaultValue: 2 });
const lens = [...new Set(entries.map((e) => e.prefixLen))].sort((a, b) => b - a);
const lpmMap = new Map<string, number>();
for (const e of entries) lpmMap.set(`${e.prefixLen}/${e.w3}`, e.value);
const maskOf = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const addrs = new Uint32Array(4096);
for (let i = 0; i < addrs.length; i++) addrs[i] = i % 2 === 0 ? (0x0af40000 + ((i * 13) % (pods * 2))) >>> 0 : (0x0a000000 + i * 977) >>> 0;
const lk = new FlowKey();
lk.family = 4;
row(
  `LPM lookup (IPv4, ${entries.length} prefixes, ${lens.length} lengths)`,
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      lk.dst3 = addrs[i & 4095]!;
      s += lpm.lookupDst(lk);
    }
    return s;
  }),
  time(() => {
    let s = 0;
    for (let i = 0; i < OPS; i++) {
      const a = addrs[i & 4095]!;
      let v = 2;
      for (const len of lens) {
        const hit = lpmMap.get(`${len}/${(a & maskOf(len)) >>> 0}`);
        if (hit !== undefined) {
          v = hit;
          break;
        }
      }
      s += v;
    }
    return s;
  }),
);

// ---- report -------------------------------------------------------------------------------------------------------------
console.log(`node ${process.version}, FLOWS=${FLOWS} OPS=${OPS} RUNS=${RUNS} (median ns/op)`);
console.log(`${'table operation'.padEnd(48)} ${'kpf'.padStart(9)} ${'Map<string>'.padStart(12)} ${'ratio'.padStart(7)}`);
for (const [name, ours, base] of rows)
  console.log(`${name.padEnd(48)} ${ours.toFixed(1).padStart(9)} ${base.toFixed(1).padStart(12)} ${(base / ours).toFixed(1).padStart(6)}×`);
if (sink === 0.5) console.log('');
