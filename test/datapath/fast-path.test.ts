/**
 * The replay fast path (Classifier.parseFast + classifyParsed, Conntrack.hit4) against the general path
 * (decode + classifyDecoded): over generated traffic of several clusters (Services and NAT, external peers, TCP, UDP,
 * ICMP), with mutated frames, out-of-order timestamps, small conntrack tables that evict, and revision swaps under
 * both --on-policy-change settings, both give the same record for every packet, the same counters, the same
 * per-rule hits and the same conntrack, entry by entry.
 */
import t, { type Test } from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import type { Cluster } from '../../src/cluster/model.js';
import { Classifier, VerdictBatch, type ClassifierOptions } from '../../src/datapath/classify.js';
import { benchCluster } from '../../src/gen/cluster.js';
import { Prng, type TrafficOptions } from '../../src/gen/traffic.js';
import { labFiles } from '../../src/lab/lab.js';
import { loadManifests } from '../../src/manifests/index.js';
import { RECORD_COLS, captureBatches, snapshotOf } from './traffic.js';

interface Case {
  name: string;
  cluster: Cluster;
  /** a second policy set swapped in halfway (same cluster, other policies), or null */
  other: Cluster | null;
  traffic: Partial<TrafficOptions>;
  opts: ClassifierOptions;
  reevaluate: boolean;
  /** fraction of frames with a byte flipped in the first 60 */
  mutate: number;
}

async function check(t: Test, c: Case): Promise<void> {
  const batches = await captureBatches(c.cluster, c.traffic);
  const s1 = snapshotOf(c.cluster, c.reevaluate, 1);
  const s2 = c.other ? snapshotOf(c.other, c.reevaluate, 2) : s1;
  const fast = new Classifier(s1, c.opts);
  const slow = new Classifier(s1, c.opts);
  const rng = new Prng(c.traffic.seed ?? 1);
  const a = new VerdictBatch(1024);
  const b = new VerdictBatch(1024);
  let n = 0;
  let fastTaken = 0;
  let diffs = 0;
  for (let bi = 0; bi < batches.length; bi++) {
    const r = batches[bi]!;
    if (bi === batches.length >> 1 && c.other) {
      fast.setSnapshot(s2);
      slow.setSnapshot(s2);
    }
    for (let i = 0; i < r.count; i++) {
      if (c.mutate > 0 && rng.next() / 2 ** 32 < c.mutate) r.buf[r.offsets[i]! + rng.below(60)] = rng.below(256);
    }
    for (let i = 0; i < r.count; i++) {
      // an occasional step back in time (the conntrack clock counts regressions)
      const back = rng.below(50) === 0 ? 2 : 0;
      const ts = (r.tsSec[i]! - back) * 1e9 + r.tsNsec[i]!;
      const [lt, off, cap, wire] = [r.linkTypes[i]!, r.offsets[i]!, r.capLens[i]!, r.wireLens[i]!];
      fast.ct.timeNs = ts;
      if (fast.parseFast(lt, r.buf, off, cap, wire) && fast.classifyParsed(a, i)) fastTaken++;
      else fast.classify(lt, r.buf, off, cap, wire, a, i);
      slow.ct.timeNs = ts;
      slow.classify(lt, r.buf, off, cap, wire, b, i);
      for (const col of RECORD_COLS) {
        if (a[col][i] !== b[col][i] && diffs++ < 5) t.fail(`${c.name}: packet ${n + i}: ${col} fast ${a[col][i]} general ${b[col][i]}`);
      }
    }
    n += r.count;
    fast.ct.sweep(undefined, 64);
    slow.ct.sweep(undefined, 64);
  }
  t.equal(diffs, 0, `${c.name}: ${n} records identical`);
  t.ok(fastTaken > n / 4, `${c.name}: the fast path took ${fastTaken} of ${n} packets (not vacuous)`);
  t.same(fast.counters, slow.counters, `${c.name}: counters`);
  t.same([...fast.dropsByReason], [...slow.dropsByReason], `${c.name}: drops by reason`);
  t.same([...fast.entryPackets], [...slow.entryPackets], `${c.name}: packets per policy-map entry`);
  t.same([...fast.entryBytes], [...slow.entryBytes], `${c.name}: bytes per policy-map entry`);
  t.same(fast.ct.stats(), slow.ct.stats(), `${c.name}: conntrack counters`);
  let entryDiffs = 0;
  const slots = fast.ct.tcp.capacity + fast.ct.other.capacity;
  for (let sl = 0; sl < slots; sl++) {
    if (!fast.ct.isLive(sl) && !slow.ct.isLive(sl)) continue;
    const x = fast.ct.toString(sl) + ` state=${fast.ct.stateName(sl)} exp=${fast.ct.expiresNs(sl)} seen=${fast.ct.lastSeenNs(sl)}`;
    const y = slow.ct.toString(sl) + ` state=${slow.ct.stateName(sl)} exp=${slow.ct.expiresNs(sl)} seen=${slow.ct.lastSeenNs(sl)}`;
    if (x !== y && entryDiffs++ < 3) t.fail(`${c.name}: conntrack slot ${sl}:\n  fast    ${x}\n  general ${y}`);
  }
  t.equal(entryDiffs, 0, `${c.name}: conntrack entries identical`);
}

const labLoaded = await loadManifests(labFiles(), {});
const lab = buildCluster(labLoaded.objects, {}).cluster;
const labStep2 = buildCluster((await loadManifests(labFiles(2), {})).objects, {}).cluster;
const bench = buildCluster(benchCluster({ pods: 60, namespaces: 3, policies: 12 }), {}).cluster;

const cases: Case[] = [
  { name: 'lab, default tables', cluster: lab, other: null, traffic: { packets: 30_000, flows: 400, seed: 1, externalShare: 0.2 }, opts: {}, reevaluate: false, mutate: 0 },
  { name: 'lab, mutated frames', cluster: lab, other: null, traffic: { packets: 30_000, flows: 400, seed: 2, externalShare: 0.2 }, opts: {}, reevaluate: false, mutate: 0.05 },
  {
    name: 'bench cluster, small tables that evict',
    cluster: bench,
    other: null,
    traffic: { packets: 40_000, flows: 3_000, seed: 3, externalShare: 0.1, concurrency: 2_000 },
    opts: { conntrack: { tcpMax: 512, anyMax: 256 }, verdictCacheMax: 64 },
    reevaluate: false,
    mutate: 0.01,
  },
  { name: 'lab → step 2, --on-policy-change=keep', cluster: lab, other: labStep2, traffic: { packets: 30_000, flows: 300, seed: 4 }, opts: {}, reevaluate: false, mutate: 0 },
  { name: 'lab → step 2, --on-policy-change=reevaluate', cluster: lab, other: labStep2, traffic: { packets: 30_000, flows: 300, seed: 5 }, opts: {}, reevaluate: true, mutate: 0 },
  { name: 'bench, --verify-checksums (fast path off)', cluster: bench, other: null, traffic: { packets: 5_000, flows: 200, seed: 6 }, opts: { decode: { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 } }, reevaluate: false, mutate: 0 },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    if (c.opts.decode?.verifyChecksums) {
      const cl = new Classifier(snapshotOf(c.cluster, false, 1), c.opts);
      const batches = await captureBatches(c.cluster, c.traffic);
      const r = batches[0]!;
      let taken = 0;
      for (let i = 0; i < r.count; i++) if (cl.parseFast(r.linkTypes[i]!, r.buf, r.offsets[i]!, r.capLens[i]!, r.wireLens[i]!)) taken++;
      t.equal(taken, 0, 'no frame takes the fast path when checksums are verified');
      return;
    }
    await check(t, c);
  });
}
