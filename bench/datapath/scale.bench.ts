/**
 * Policy-decision cost per packet as the policy count grows: 10, 100, 1,000 and 10,000 policies over 5,000 pods.
 * The first ten policies deny everything in the ten namespaces the measured flows run in, so every size does the
 * same lookups on isolated endpoints. For each size: compile time, memory of the compiled tables, and ns/packet of the decision on a verdict-cache hit
 * and on a miss (single thread), beside a naive baseline measured in the same run (a JS Map keyed by a flow string).
 * The hit path must stay flat: 10,000 policies at ≥ 0.8× the speed of 10.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --expose-gc --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/datapath/scale.bench.ts
 *   env: PODS (5000), SIZES (10,100,1000,10000), FLOWS (20000), ROUNDS (5)
 */
import { buildCluster } from '../../src/cluster/build.js';
import { addressWords, compile } from '../../src/policy/compile.js';
import { buildSnapshot } from '../../src/policy/snapshot.js';
import { Decision, decide, type DecideInput } from '../../src/datapath/decide.js';
import { VerdictCache } from '../../src/datapath/verdict-cache.js';
import type { KubeObject, NetworkPolicyObject, PodObject, NamespaceObject } from '../../src/manifests/types.js';

const PODS = Number(process.env['PODS'] ?? 5000);
const SIZES = (process.env['SIZES'] ?? '10,100,1000,10000').split(',').map(Number);
const FLOWS = Number(process.env['FLOWS'] ?? 20000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const NS = 50;
const APPS = 1000; // 5 replicas an app
const loc = { file: 'bench', line: 0 };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cluster(policies: number): KubeObject[] {
  const objs: KubeObject[] = [];
  for (let n = 0; n < NS; n++) objs.push({ kind: 'Namespace', name: `ns${n}`, labels: { team: `t${n % 7}` }, loc } satisfies NamespaceObject);
  for (let i = 0; i < PODS; i++) {
    objs.push({
      kind: 'Pod',
      namespace: `ns${i % NS}`,
      name: `p${i}`,
      labels: { app: `a${i % APPS}`, tier: `t${i % 5}` },
      spec: { hostNetwork: false, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
      phase: 'Running',
      podIPs: [`10.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`],
      loc,
    } satisfies PodObject);
  }
  const r = rng(policies);
  for (let p = 0; p < policies; p++) {
    const ns = `ns${p % NS}`;
    if (p < 10) {
      // the first ten: default deny ingress in ns0..ns9, where the measured flows run, so that every size measures
      // one ingress lookup on an isolated endpoint per flow (the work of the policy map), not the not-isolated shortcut
      objs.push({ kind: 'NetworkPolicy', namespace: ns, name: `deny${p}`, labels: {}, podSelector: { matchLabels: {}, matchExpressions: [] }, policyTypes: ['Ingress'], ingress: [], egress: [], loc } satisfies NetworkPolicyObject);
      continue;
    }
    // pods of app a<k> live in namespace ns<k % 50>: pick apps that exist in the policy's namespace
    const app = `a${(p % NS) + NS * Math.floor(r() * (APPS / NS))}`;
    const peerApp = `a${(p % NS) + NS * Math.floor(r() * (APPS / NS))}`;
    const port = 8000 + Math.floor(r() * 200);
    // most policies are narrow (one app's pods, from one other app of the namespace); some are wide:
    // 10% from every pod of the namespaces of a team, 10% from an ipBlock, 5% from one tier of the namespaces of a team
    const kind = p % 20 === 0 ? 1 : p % 20 === 1 ? 2 : p % 20 === 2 ? 3 : p % 10 === 5 ? 1 : p % 10 === 6 ? 2 : 0;
    objs.push({
      kind: 'NetworkPolicy',
      namespace: ns,
      name: `np${p}`,
      labels: {},
      podSelector: { matchLabels: { app }, matchExpressions: [] },
      policyTypes: ['Ingress'],
      ingress: [
        {
          peers:
            kind === 0
              ? [{ podSelector: { matchLabels: { app: peerApp }, matchExpressions: [] } }]
              : kind === 1
                ? [{ namespaceSelector: { matchLabels: { team: `t${p % 7}` }, matchExpressions: [] } }]
                : kind === 2
                  ? [{ ipBlock: { cidr: `192.168.${p % 256}.0/24`, except: [] } }]
                  : [{ podSelector: { matchLabels: { tier: `t${p % 5}` }, matchExpressions: [] }, namespaceSelector: { matchLabels: { team: `t${p % 7}` }, matchExpressions: [] } }],
          ports: [{ protocol: 'TCP', port, ...(kind === 2 ? { endPort: port + 50 } : {}) }],
        },
      ],
      egress: [],
      loc,
    } satisfies NetworkPolicyObject);
  }
  return objs;
}

function flows(n: number): DecideInput[] {
  const r = rng(7);
  const out: DecideInput[] = [];
  for (let i = 0; i < n; i++) {
    // pods of ns0..ns9 (index % 50 < 10): isolated in both directions by the default-deny policies
    const pick = () => Math.floor(r() * (PODS / NS)) * NS + Math.floor(r() * 10);
    const a = pick();
    const b = pick();
    const [s0, s1, s2, s3] = addressWords(`10.${16 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}`);
    const [d0, d1, d2, d3] = addressWords(`10.${16 + (b >> 16)}.${(b >> 8) & 255}.${b & 255}`);
    out.push({ family: 4, proto: 6, src0: s0, src1: s1, src2: s2, src3: s3, dst0: d0, dst1: d1, dst2: d2, dst3: d3, sport: 30000 + (i % 30000), dport: 8000 + Math.floor(r() * 250), icmpType: 0 });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fl = flows(FLOWS);
const gc = (globalThis as { gc?: () => void }).gc;
const rows: string[] = [];
let hit10 = 0;
console.log(`pods ${PODS}, flows ${FLOWS}, rounds ${ROUNDS} (median ns/packet)`);
// the first size runs twice: the first pass only warms the JIT up and is not reported
for (const [run, size] of [SIZES[0]!, ...SIZES].entries()) {
  const objs = cluster(size);
  const built = buildCluster(objs, { defaultDns: false, podCidrs: ['10.16.0.0/12'] });
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const c = compile(built.cluster);
  const snap = buildSnapshot(c, { shared: false });
  const compileMs = performance.now() - t0;
  gc?.();
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 1048576;
  const tableMb =
    (snap.policy.k0.byteLength * 3 + snap.policy.slot.byteLength + snap.policy.entryRow.byteLength + snap.rules.endpoint.byteLength * 8 + snap.ipcache.buffer.byteLength) / 1048576;
  const d = new Decision();
  const vc = new VerdictCache(1 << 17);
  let allowed = 0;
  for (const f of fl) if (decide(snap, f, d, vc).verdict !== 2) allowed++; // warm the cache: later rounds are hits
  const hit: number[] = [];
  const miss: number[] = [];
  const nocache: number[] = [];
  const base: number[] = [];
  // baseline: a Map from a flow string to a verdict, filled with the same flows
  const map = new Map<string, number>();
  for (const f of fl) map.set(`${f.src3}|${f.dst3}|${f.proto}|${f.dport}`, 1);
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    for (const f of fl) decide(snap, f, d, vc);
    hit.push(((performance.now() - t) * 1e6) / fl.length);
    // miss: a new revision makes every cached verdict stale — lookup, policy map, insert
    const rev = snap.revision;
    snap.revision = rev + 1000 + r;
    t = performance.now();
    for (const f of fl) decide(snap, f, d, vc);
    miss.push(((performance.now() - t) * 1e6) / fl.length);
    snap.revision = rev;
    for (const f of fl) decide(snap, f, d, vc); // re-warm for the next hit round
    t = performance.now();
    for (const f of fl) decide(snap, f, d); // no cache at all: the policy-map lookups alone
    nocache.push(((performance.now() - t) * 1e6) / fl.length);
    t = performance.now();
    let x = 0;
    for (const f of fl) x += map.get(`${f.src3}|${f.dst3}|${f.proto}|${f.dport}`) ?? 0;
    base.push(((performance.now() - t) * 1e6) / fl.length);
    if (x < 0) console.log(x);
  }
  const h = median(hit);
  const m = median(miss);
  const n = median(nocache);
  const b = median(base);
  if (run === 0) continue;
  if (run === 1) hit10 = h;
  rows.push(
    `${String(size).padStart(6)} policies: compile ${compileMs.toFixed(0).padStart(6)} ms, heap +${heapMb.toFixed(1).padStart(6)} MiB, tables ${tableMb.toFixed(1).padStart(5)} MiB, ` +
      `${String(c.stats.entries).padStart(8)} entries, ${c.stats.identities} identities | hit ${h.toFixed(0).padStart(4)} ns, miss ${m.toFixed(0).padStart(4)} ns, no cache ${n.toFixed(0).padStart(4)} ns, Map baseline ${b.toFixed(0).padStart(4)} ns ` +
      `(hit = ${(b / h).toFixed(2)}× baseline speed; vs ${SIZES[0]} policies: ${(hit10 / h).toFixed(2)}×) allowed ${allowed}/${fl.length}`,
  );
  console.log(rows[rows.length - 1]);
}
