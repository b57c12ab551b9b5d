/**
 * The WebAssembly fast path (src/wasm/fast4.ts via datapath/wasm-core.ts) against the TypeScript classifier with
 * plain tables (`conntrack.wasm: false`): over generated traffic of several clusters (Services and NAT, external
 * peers, TCP, UDP, ICMP), small and full-size frames (whole-chunk and header-only copies), batches larger than a chunk,
 * mutated frames, steps back in time, frames that claim to run past the batch buffer, small tables that evict,
 * revision swaps under both --on-policy-change settings, and two shards — every record, counter, per-rule hit and
 * conntrack entry comes out the same. Also: the module is built and used by default, KPF_WASM=0 and
 * `wasm: false` turn it off, and the arena is sized exactly.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCluster } from '../../src/cluster/build.js';
import type { Cluster } from '../../src/cluster/model.js';
import { Classifier, ForwardReason, VerdictBatch, type ClassifierOptions } from '../../src/datapath/classify.js';
import { SemanticsBits } from '../../src/datapath/snapshot.js';
import { Conntrack, CtTable } from '../../src/datapath/conntrack.js';
import { Arena, CHUNK, DESC_WORDS, Describer, FAST_SCRATCH_BYTES, SNAP_BYTES, fastModule } from '../../src/datapath/wasm-core.js';
import { benchCluster } from '../../src/gen/cluster.js';
import { Prng, type TrafficOptions } from '../../src/gen/traffic.js';
import { labFiles } from '../../src/lab/lab.js';
import { loadManifests } from '../../src/manifests/index.js';
import { defaultDecodeOptions } from '../../src/packet/options.js';
import { shardBatch } from '../../src/workers/shard.js';
import { ethernet, icmpEcho, ipv4, ipv6, tcp, udp } from '../fixtures/captures/builders.js';
import { tupleHashI } from '../../src/datapath/flow-hash.js';
import { RECORD_COLS, captureBatches, frameBatch, snapshotOf } from './traffic.js';
import { slotLayout, slotViews } from '../../src/replay/slot-layout.js';

interface Case {
  name: string;
  cluster: Cluster;
  other: Cluster | null;
  traffic: Partial<TrafficOptions>;
  opts: ClassifierOptions;
  reevaluate: boolean;
  /** fraction of frames with a byte flipped in the first 60 */
  mutate: number;
  maxBatch: number;
  /** shards: each shard's records go to its own pair of classifiers */
  shards: number;
  /** the WebAssembly classifiers compute the shards themselves (the TypeScript ones get workers/shard.ts shardBatch's) */
  selfShard?: boolean;
  /** records written from this index of the output batch */
  outStart: number;
  /**
   * the WebAssembly classifiers get each batch in a region of their own module memory and classify it there
   * (classifyInPlace, as a 1-worker replay's worker does)
   */
  inPlace?: boolean;
  /** in place, with each batch described first by another instance of the module (wasm-core.ts Describer) */
  described?: boolean;
}

/** A batch region in a classifier's module memory (replay/slot-layout.ts), as the replay's main thread fills it. */
class Region {
  readonly buf: Uint8Array;
  readonly cols: { offsets: Uint32Array; capLens: Uint32Array; wireLens: Uint32Array; linkTypes: Uint16Array; tsSec: Float64Array; tsNsec: Uint32Array };
  readonly out: VerdictBatch;
  readonly desc: Uint32Array;
  /** batches described before they were classified */
  described = 0;
  constructor(
    arena: Arena,
    records: number,
    chunk: number,
    private readonly describer: Describer | null = null,
  ) {
    const v = slotViews(arena.buffer, arena.alloc(slotLayout(records, chunk).bytes), records, chunk);
    this.buf = v.buf;
    this.cols = v;
    this.out = v.out;
    this.desc = v.desc;
  }

  /** Copies a batch in (its bytes and its first `count` records' columns), as the replay's reader reads one. */
  load(r: { buf: Uint8Array; count: number; offsets: Uint32Array; capLens: Uint32Array; wireLens: Uint32Array; linkTypes: Uint16Array; tsSec: Float64Array; tsNsec: Uint32Array }): void {
    this.buf.set(r.buf);
    const x = this.cols;
    x.offsets.set(r.offsets.subarray(0, r.count));
    x.capLens.set(r.capLens.subarray(0, r.count));
    x.wireLens.set(r.wireLens.subarray(0, r.count));
    x.linkTypes.set(r.linkTypes.subarray(0, r.count));
    x.tsSec.set(r.tsSec.subarray(0, r.count));
    x.tsNsec.set(r.tsNsec.subarray(0, r.count));
  }

  /** Copies a batch in and classifies it in place with `c`; its records then are `out`'s [0, count). */
  classify(c: Classifier, r: { buf: Uint8Array; count: number; offsets: Uint32Array; capLens: Uint32Array; wireLens: Uint32Array; linkTypes: Uint16Array; tsSec: Float64Array; tsNsec: Uint32Array }): number {
    this.load(r);
    const x = this.cols;
    // the buffer as long as the batch's: a frame that claims to run past it is declined, as in the staged copy
    const buf = this.buf.subarray(0, r.buf.length);
    if (!c.inPlace(buf, x.offsets, this.out)) throw new Error('the region is not in the classifier’s memory');
    if (this.describer === null) return c.classifyInPlace(buf, r.count, x.offsets, x.capLens, x.wireLens, x.linkTypes, x.tsSec, x.tsNsec, this.out);
    // descriptors left from the batch before, where this one has fewer records, must not be read
    this.desc.fill(0xffffffff);
    this.describer.describe(buf, x.offsets, x.capLens, x.wireLens, x.linkTypes, r.count, this.desc);
    this.described++;
    return c.classifyInPlace(buf, r.count, x.offsets, x.capLens, x.wireLens, x.linkTypes, x.tsSec, x.tsNsec, this.out, undefined, this.desc);
  }
}

function compare(t: Test, name: string, w: Classifier, p: Classifier): void {
  t.same(w.counters, p.counters, `${name}: counters`);
  t.same([...w.dropsByReason], [...p.dropsByReason], `${name}: drops by reason`);
  t.same([...w.entryPackets], [...p.entryPackets], `${name}: packets per policy-map entry`);
  t.same([...w.entryBytes], [...p.entryBytes], `${name}: bytes per policy-map entry`);
  t.same(w.ct.stats(), p.ct.stats(), `${name}: conntrack counters and clock`);
  t.equal(w.ct.timeNs, p.ct.timeNs, `${name}: conntrack time`);
  t.same([w.ct.slot, w.ct.dir, w.ct.invalidReason], [p.ct.slot, p.ct.dir, p.ct.invalidReason], `${name}: conntrack scratch`);
  let entryDiffs = 0;
  const slots = w.ct.tcp.capacity + w.ct.other.capacity;
  for (let sl = 0; sl < slots; sl++) {
    if (!w.ct.isLive(sl) && !p.ct.isLive(sl)) continue;
    const x = w.ct.toString(sl) + ` state=${w.ct.stateName(sl)} exp=${w.ct.expiresNs(sl)} seen=${w.ct.lastSeenNs(sl)} created=${w.ct.createdNs(sl)}`;
    const y = p.ct.toString(sl) + ` state=${p.ct.stateName(sl)} exp=${p.ct.expiresNs(sl)} seen=${p.ct.lastSeenNs(sl)} created=${p.ct.createdNs(sl)}`;
    if (x !== y && entryDiffs++ < 3) t.fail(`${name}: conntrack slot ${sl}:\n  wasm       ${x}\n  typescript ${y}`);
  }
  t.equal(entryDiffs, 0, `${name}: conntrack entries identical`);
}

async function check(t: Test, c: Case): Promise<void> {
  const batches = await captureBatches(c.cluster, c.traffic, c.maxBatch);
  const s1 = snapshotOf(c.cluster, c.reevaluate, 1);
  const s2 = c.other ? snapshotOf(c.other, c.reevaluate, 2) : s1;
  const chunk = Math.max(...batches.map((r) => r.buf.length));
  const regionBytes = c.inPlace ? slotLayout(c.maxBatch, chunk).bytes : 0;
  const mk = (wasm: boolean): Classifier => {
    const opts = { ...c.opts, conntrack: { ...c.opts.conntrack, wasm } };
    return new Classifier(s1, opts, wasm && c.inPlace ? Classifier.prepare(opts, new Conntrack(opts.conntrack, regionBytes)) : undefined);
  };
  const W = Array.from({ length: c.shards }, () => mk(true));
  const regions = c.inPlace ? W.map((x) => new Region(x.ct.arena!, c.maxBatch, chunk, c.described ? Describer.over(x.ct.arena!.memory) : null)) : [];
  const P = Array.from({ length: c.shards }, () => mk(false));
  t.ok(W.every((x) => x.fastPath === 'wasm') && P.every((x) => x.fastPath === 'typescript'), `${c.name}: the two paths`);
  const rng = new Prng(c.traffic.seed ?? 1);
  const cap = c.outStart + c.maxBatch;
  const a = new VerdictBatch(cap);
  const b = new VerdictBatch(cap);
  const shardCol = new Uint8Array(c.maxBatch);
  let n = 0;
  let diffs = 0;
  let beyond = 0;
  for (let bi = 0; bi < batches.length; bi++) {
    const r = batches[bi]!;
    if (bi === batches.length >> 1 && c.other) for (const x of [...W, ...P]) x.setSnapshot(s2);
    for (let i = 0; i < r.count; i++) {
      if (c.mutate > 0 && rng.next() / 2 ** 32 < c.mutate) r.buf[r.offsets[i]! + rng.below(60)] = rng.below(256);
      // an occasional step back in time (the conntrack clock counts regressions)
      if (rng.below(50) === 0) r.tsSec[i] = r.tsSec[i]! - 2;
      // an occasional record that claims to run past the end of the batch buffer
      if (rng.below(500) === 0) {
        r.capLens[i] = r.buf.length - r.offsets[i]! + 1 + rng.below(100);
        beyond++;
      }
    }
    if (c.shards > 1) shardBatch(s1, defaultDecodeOptions, r.buf, r.offsets, r.capLens, r.wireLens, r.linkTypes, r.count, c.shards, shardCol);
    a.verdict.fill(0);
    b.verdict.fill(0);
    for (let sh = 0; sh < c.shards; sh++) {
      const col = c.shards > 1 ? shardCol : null;
      const args = [r.buf, r.count, r.offsets, r.capLens, r.wireLens, r.linkTypes, r.tsSec, r.tsNsec] as const;
      let mw: number;
      if (c.inPlace) {
        mw = regions[sh]!.classify(W[sh]!, r);
        a.copyRecords(regions[sh]!.out, 0, r.count, c.outStart);
      } else mw = W[sh]!.classifyRecords(...args, a, c.outStart, c.selfShard ? null : col, sh, c.shards);
      const mp = P[sh]!.classifyRecords(...args, b, c.outStart, col, sh);
      if (mw !== mp) t.fail(`${c.name}: batch ${bi} shard ${sh}: ${mw} records vs ${mp}`);
    }
    for (let i = 0; i < r.count; i++) {
      const o = c.outStart + i;
      if (a.verdict[o] === 0) t.fail(`${c.name}: packet ${n + i} has no verdict`);
      for (const col of RECORD_COLS) {
        if (a[col][o] !== b[col][o] && diffs++ < 5) t.fail(`${c.name}: packet ${n + i}: ${col} wasm ${a[col][o]} typescript ${b[col][o]}`);
      }
    }
    n += r.count;
  }
  t.equal(diffs, 0, `${c.name}: ${n} records identical`);
  const fastTaken = W.reduce((s, x) => s + x.fastPathPackets, 0);
  t.ok(fastTaken > n / 4, `${c.name}: the WebAssembly fast path took ${fastTaken} of ${n} packets (not vacuous)`);
  t.ok(beyond > 0, `${c.name}: ${beyond} records ran past their buffer`);
  const memo = W.reduce((s, x) => s + x.dropMemoHits, 0);
  const drops = P.reduce((s, x) => s + x.counters.dropped, 0);
  t.ok(memo > 0 && memo < drops, `${c.name}: the decision memo gave ${memo} of ${drops} drops`);
  const creates = W.reduce((s, x) => s + x.createMemoHits, 0);
  const created = P.reduce((s, x) => s + x.ct.stats().tcp.created + x.ct.stats().any.created, 0);
  t.ok(creates > 0 && creates < created, `${c.name}: the decision memo created ${creates} of ${created} connections`);
  const decided = W.reduce((s, x) => s + x.decidedInWasm, 0);
  const evaluations = P.reduce((s, x) => s + x.counters.policyEvaluations, 0);
  t.ok(decided > 0 && decided < evaluations, `${c.name}: the module decided ${decided} of ${evaluations} first packets`);
  if (c.described) t.ok(regions.every((x) => x.described === batches.length), `${c.name}: every batch was described`);
  for (let sh = 0; sh < c.shards; sh++) compare(t, `${c.name} shard ${sh}`, W[sh]!, P[sh]!);
}

const labLoaded = await loadManifests(labFiles(), {});
const lab = buildCluster(labLoaded.objects, {}).cluster;
const labStep2 = buildCluster((await loadManifests(labFiles(2), {})).objects, {}).cluster;
const bench = buildCluster(benchCluster({ pods: 60, namespaces: 3, policies: 12 }), {}).cluster;
const base = { other: null, opts: {}, reevaluate: false, mutate: 0, maxBatch: 1024, shards: 1, outStart: 0 };

const cases: Case[] = [
  { ...base, name: 'lab, 64-byte frames', cluster: lab, traffic: { packets: 30_000, flows: 400, seed: 1, externalShare: 0.2 } },
  { ...base, name: 'lab, mutated frames', cluster: lab, traffic: { packets: 30_000, flows: 400, seed: 2, externalShare: 0.2 }, mutate: 0.05 },
  {
    ...base,
    name: 'lab, 1500-byte frames in batches of two chunks (header copies)',
    cluster: lab,
    traffic: { packets: 20_000, flows: 300, seed: 3, frameSize: 1500 },
    maxBatch: 2 * CHUNK + 100,
    outStart: 7,
  },
  {
    ...base,
    name: 'bench cluster, small tables that evict',
    cluster: bench,
    traffic: { packets: 40_000, flows: 3_000, seed: 4, externalShare: 0.1, concurrency: 2_000 },
    opts: { conntrack: { tcpMax: 512, anyMax: 256 }, verdictCacheMax: 64 },
    mutate: 0.01,
  },
  { ...base, name: 'lab → step 2, --on-policy-change=keep', cluster: lab, other: labStep2, traffic: { packets: 30_000, flows: 300, seed: 5 } },
  { ...base, name: 'lab → step 2, --on-policy-change=reevaluate', cluster: lab, other: labStep2, traffic: { packets: 30_000, flows: 300, seed: 6 }, reevaluate: true },
  { ...base, name: 'bench cluster, two shards', cluster: bench, traffic: { packets: 30_000, flows: 1_000, seed: 7, externalShare: 0.2 }, shards: 2, maxBatch: 5000 },
  {
    ...base,
    name: 'bench cluster, three shards computed by each classifier',
    cluster: bench,
    traffic: { packets: 30_000, flows: 1_000, seed: 12, externalShare: 0.2 },
    shards: 3,
    selfShard: true,
    maxBatch: 5000,
  },
  { ...base, name: 'lab (a ClusterIP), two shards computed by each classifier', cluster: lab, traffic: { packets: 20_000, flows: 300, seed: 13 }, shards: 2, selfShard: true },
  { ...base, name: 'lab, --ct-pickup=either', cluster: lab, traffic: { packets: 20_000, flows: 300, seed: 8, externalShare: 0.3 }, opts: { pickup: 'either' } },
  // short connections between few pods: most first packets repeat a decision (created from the decision memo)
  { ...base, name: 'lab, short connections', cluster: lab, traffic: { packets: 30_000, flows: 6_000, seed: 9, concurrency: 64 } },
  // batches read into the module's memory and classified there (a 1-worker replay), larger than a chunk
  { ...base, name: 'lab, in place, mutated frames', cluster: lab, traffic: { packets: 30_000, flows: 400, seed: 14, externalShare: 0.2 }, mutate: 0.05, inPlace: true, maxBatch: 2 * CHUNK + 100 },
  {
    ...base,
    name: 'bench cluster, in place, small tables that evict',
    cluster: bench,
    traffic: { packets: 40_000, flows: 3_000, seed: 15, externalShare: 0.1, concurrency: 2_000 },
    opts: { conntrack: { tcpMax: 512, anyMax: 256 }, verdictCacheMax: 64 },
    inPlace: true,
    maxBatch: 16384,
  },
  { ...base, name: 'lab → step 2, in place, --on-policy-change=reevaluate', cluster: lab, other: labStep2, traffic: { packets: 30_000, flows: 300, seed: 16 }, reevaluate: true, inPlace: true },
  // in place and described by another instance first (a 1-worker replay's main thread): mutated frames make every
  // kind of record `describe` leaves to the general path (options, fragments, bad lengths, invalid TCP flags…)
  {
    ...base,
    name: 'lab, in place, described, mutated frames',
    cluster: lab,
    traffic: { packets: 30_000, flows: 400, seed: 17, externalShare: 0.2 },
    mutate: 0.05,
    inPlace: true,
    described: true,
    maxBatch: 2 * CHUNK + 100,
  },
  {
    ...base,
    name: 'bench cluster, in place, described, small tables that evict',
    cluster: bench,
    traffic: { packets: 40_000, flows: 3_000, seed: 18, externalShare: 0.1, concurrency: 2_000 },
    opts: { conntrack: { tcpMax: 512, anyMax: 256 }, verdictCacheMax: 64 },
    mutate: 0.01,
    inPlace: true,
    described: true,
    maxBatch: 16384,
  },
];

t.test('the module is built and is the default fast path', async (t) => {
  t.ok(fastModule(), 'dist/wasm/fast4.wasm loads (npm run build builds it)');
  const c = new Classifier(snapshotOf(lab, false, 1));
  t.equal(c.fastPath, 'wasm');
  t.ok(c.ct.arena, 'conntrack tables are in the module memory');
  t.equal(new Classifier(snapshotOf(lab, false, 1), { conntrack: { wasm: false } }).fastPath, 'typescript', 'wasm: false');
  t.equal(
    new Classifier(snapshotOf(lab, false, 1), { decode: { ...defaultDecodeOptions, verifyChecksums: true } }).fastPath,
    'typescript',
    '--verify-checksums needs the general path (the fast path does not verify)',
  );
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', "import('./src/datapath/wasm-core.ts').then((m) => process.stdout.write(String(m.fastModule())))"],
    { env: { ...process.env, KPF_WASM: '0' }, encoding: 'utf8' },
  );
  t.equal(out, 'null', 'KPF_WASM=0 turns it off');
});

t.test('the arena holds the tables and the fast path scratch exactly', async (t) => {
  for (const [tcpMax, anyMax, ruleRefs] of [
    [1, 1, 0],
    [512, 256, 2],
    [4096, 100, 5],
  ] as const) {
    const ct = new Conntrack({ tcpMax, anyMax, ruleRefs });
    t.ok(ct.arena, `${tcpMax}/${anyMax}/${ruleRefs}: in an arena`);
    const need = CtTable.arenaBytes(tcpMax, ruleRefs) + CtTable.arenaBytes(anyMax, ruleRefs) + Arena.size(8 * ct.timeouts.length) + FAST_SCRATCH_BYTES;
    t.ok(ct.arena!.buffer.byteLength >= need + 1024, 'reserved');
    t.equal(ct.arena!.used, 1024 + need - FAST_SCRATCH_BYTES, 'the tables take what arenaBytes says');
    const c = new Classifier(snapshotOf(lab, false, 1), { conntrack: { tcpMax, anyMax, ruleRefs } });
    t.equal(c.fastPath, 'wasm');
    t.equal(c.ct.arena!.used, 1024 + need, 'and the fast path the scratch it reserved');
  }
  t.throws(() => new Arena(10).alloc(70_000), /arena/, 'an allocation past the memory is refused');
  // an arena knows its memory from another thread's view of it (another SharedArrayBuffer object), and only its own
  const a = new Arena(70_000);
  const b = new Arena(70_000);
  const received = structuredClone(a.buffer);
  t.not(received, a.buffer, 'a structured clone is another SharedArrayBuffer object');
  t.ok(a.owns(received), 'over the same memory: owned');
  t.notOk(a.owns(b.buffer), 'another arena of the same size: not owned');
  t.notOk(b.owns(received), 'nor the other way');
  t.notOk(a.owns(new SharedArrayBuffer(a.buffer.byteLength)), 'a zeroed memory of the same size: not owned');
  t.throws(() => new Conntrack({ tcpMax: 0 }), /bad capacity/);
});

for (const c of cases) t.test(c.name, (t) => check(t, c));

t.test('a classifier from parts prepared ahead of its snapshot (Classifier.prepare) is the classifier built whole', async (t) => {
  const snapshot = snapshotOf(bench, false, 1);
  const frames = (await captureBatches(bench, { packets: 3000, flows: 300, seed: 7 }, 4096))[0]!;
  const opts: ClassifierOptions = { conntrack: { tcpMax: 4096, anyMax: 1024 }, verdictCacheMax: 1024, fragMax: 64 };
  const parts = Classifier.prepare(opts);
  t.ok(parts.core, 'the fast path instance is built ahead');
  // as the replay's worker does: the warm-up runs the module's loop over records it skips, and leaves no trace
  parts.core!.warmUp();
  const used = parts.ct.arena!.used;
  const a = new Classifier(snapshot, opts, parts);
  t.equal(a.ct, parts.ct, 'its conntrack');
  t.equal(a.vc, parts.vc, 'its verdict cache');
  t.equal(a.frags, parts.frags, 'its fragment table');
  t.equal(a.ct.arena!.used, used, 'no second fast path instance in the arena');
  const b = new Classifier(snapshot, opts);
  const va = new VerdictBatch(frames.count);
  const vb = new VerdictBatch(frames.count);
  a.classifyBatch(frames.buf, frames.count, frames.offsets, frames.capLens, frames.wireLens, frames.linkTypes, frames.tsSec, frames.tsNsec, va);
  b.classifyBatch(frames.buf, frames.count, frames.offsets, frames.capLens, frames.wireLens, frames.linkTypes, frames.tsSec, frames.tsNsec, vb);
  for (const col of RECORD_COLS) t.same([...va[col]], [...vb[col]], col);
  t.same(a.counters, b.counters, 'the same counters (the warm-up counted nothing)');
  t.ok(a.fastPathPackets > 0 && a.fastPathPackets === b.fastPathPackets, `${a.fastPathPackets} packets on the fast path, as built whole`);
  t.same(a.ct.stats(), b.ct.stats(), 'the same conntrack tables');
  // checksums verified: no fast path, prepared or not
  const v = { ...opts, decode: { ...defaultDecodeOptions, verifyChecksums: true } };
  const pv = Classifier.prepare(v);
  t.equal(pv.core, null, 'verified checksums: no fast path instance');
  t.equal(new Classifier(snapshot, v, pv).fastPath, new Classifier(snapshot, v).fastPath, 'and the same path as built whole');
});

/** An Ethernet IPv4 TCP segment */
const seg = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
  ethernet(0x0800, ipv4({ src, dst, proto: 6 }, tcp({ sport, dport, flags })));

/**
 * `frames` in one batch through a WebAssembly classifier and a TypeScript one (`opts` for both), a second apart or
 * (`usApart`) a microsecond apart; checks that every record is the same, and returns both, with their records.
 */
function bothPaths(t: Test, snapshot: ReturnType<typeof snapshotOf>, frames: Uint8Array[], opts: ClassifierOptions = {}, usApart = false) {
  const args = frameBatch(frames, 1_800_000_000);
  if (usApart) {
    args[6].fill(1_800_000_000);
    args[7].forEach((_, i, a) => (a[i] = i * 1000));
  }
  const n = frames.length;
  const w = new Classifier(snapshot, opts);
  const p = new Classifier(snapshot, { ...opts, conntrack: { ...opts.conntrack, wasm: false } });
  const a = new VerdictBatch(n);
  const b = new VerdictBatch(n);
  w.classifyBatch(...args, a);
  p.classifyBatch(...args, b);
  for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], col);
  return { w, p, a, b, n };
}

t.test('SYN+ACK: taken in the reply direction and after a pickup, left to the general path when out of state', async (t) => {
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const frames = [
    seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x02), // SYN: a new connection (general path)
    seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x12), // SYN+ACK from the client: out of state (general path, INVALID)
    seg('10.0.0.2', '10.0.0.1', 80, 40000, 0x12), // SYN+ACK from the server (fast path)
    seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x10), // ACK: ESTABLISHED (fast path)
    seg('10.0.0.3', '10.0.0.4', 40001, 443, 0x10), // ACK of a connection seen mid-flow: picked up (general path)
    seg('10.0.0.3', '10.0.0.4', 40001, 443, 0x12), // SYN+ACK in the original direction of a picked-up entry (fast path)
  ];
  const { w, p } = bothPaths(t, open, frames);
  t.equal(w.fastPathPackets, 4, 'the SYN (decided and created), the server SYN+ACK, the ACK and the picked-up SYN+ACK took the fast path');
  t.equal(w.ct.stats().tcp.invalid, 1, 'the client SYN+ACK was out of state');
  compare(t, 'SYN+ACK', w, p);
  t.equal(w.ct.stateName(0), 'ESTABLISHED');
});

t.test('the words of an index slot are a whole tuple only for IPv4 TCP and UDP: an ICMP or IPv6 record with the same words is not found', async (t) => {
  // the module's lookup takes a slot flagged inline on its words alone (conntrack.ts CtTable.idx). An ICMP echo
  // (identifier << 16 | type in the ports word), or an IPv6 UDP flow whose addresses end in the same words, has the
  // slot words of an IPv4 UDP flow, in the same table, and is placed where that flow's lookup starts (the addresses
  // searched for below), so that the lookup compares its slot first: it must not take it for the flow's. Its slot as
  // the TypeScript create wrote it, and as the module wrote it again when 1100 flows in between grew the index from
  // 4096 to 8192 slots (fast4.ts rebuildIndex).
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const a4 = 0x0a000001;
  const ports = (4242 << 16) | 8;
  const v4 = (x: number): string => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
  const v6 = (w: number, x: number): string => `::${w.toString(16)}:${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}`;
  for (const [fillers, mask, other] of [
    [0, 4095, 'ICMP'],
    [0, 4095, 'IPv6'],
    [1100, 8191, 'ICMP'],
    [1100, 8191, 'IPv6'],
  ] as const) {
    const name = `${other}, ${fillers} fillers`;
    const home = (fp: number, s2: number, s3: number, d3: number): number => tupleHashI(fp, 0, 0, s2, s3, 0, 0, 0, d3, ports) & mask;
    let d4 = 0x0a000002;
    while (home((4 << 8) | 1, 0, a4, d4) !== home((4 << 8) | 17, 0, a4, d4)) d4++;
    let w2 = 1;
    while (home((6 << 8) | 17, w2, a4, d4) !== home((4 << 8) | 17, 0, a4, d4)) w2++;
    const before = [
      other === 'ICMP'
        ? ethernet(0x0800, ipv4({ src: v4(a4), dst: v4(d4), proto: 1 }, icmpEcho(8, 4242, 1)))
        : ethernet(0x86dd, ipv6({ src: v6(w2, a4), dst: v6(0, d4), nh: 17 }, udp(4242, 8))),
      ...Array.from({ length: fillers }, (_, i) => ethernet(0x0800, ipv4({ src: '10.1.0.1', dst: v4(0x0a020000 + i), proto: 17 }, udp(5000, 53)))),
    ];
    const flow = [ethernet(0x0800, ipv4({ src: v4(a4), dst: v4(d4), proto: 17 }, udp(4242, 8))), ethernet(0x0800, ipv4({ src: v4(d4), dst: v4(a4), proto: 17 }, udp(8, 4242)))];
    const w = new Classifier(open);
    const p = new Classifier(open, { conntrack: { wasm: false } });
    let fast = 0;
    for (const [k, frames] of [before, flow].entries()) {
      // a microsecond apart: nothing expires
      const args = frameBatch(frames, 1_800_000_000 + k);
      args[6].fill(1_800_000_000 + k);
      args[7].forEach((_, i, x) => (x[i] = i * 1000));
      const a = new VerdictBatch(frames.length);
      const b = new VerdictBatch(frames.length);
      fast = w.fastPathPackets;
      w.classifyBatch(...args, a);
      p.classifyBatch(...args, b);
      for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], `${name}, batch ${k}: ${col}`);
      if (k === 1) t.same([...a.flags].map((f) => f & 1), [0, 1], `${name}: the flow’s packet and its reply`);
    }
    t.equal(w.ct.other.indexSize, mask + 1, `${name}: ${mask + 1} index slots`);
    t.equal(w.ct.other.entries, 2 + fillers, `${name}: an entry each for the ${other} flow, the fillers and the IPv4 UDP flow`);
    t.equal(w.fastPathPackets - fast, 2, `${name}: the module created the IPv4 UDP flow’s entry and found it for the reply`);
    compare(t, `inline slots, ${name}`, w, p);
  }
});

t.test('decision memo, drops: by source, destination, port and class, replaced by a newer decision, forgotten with the snapshot', async (t) => {
  const step4 = buildCluster((await loadManifests(labFiles(4), {})).objects, {}).cluster;
  const s4 = snapshotOf(step4, false, 4);
  const s1 = snapshotOf(buildCluster([], {}).cluster, false, 5);
  const debug = step4.pods.find((p) => p.namespace === 'prod-nginx' && p.name === 'debug')!.ips[0]!;
  const nginx = step4.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  // nginx may not open connections to debug (its egress allows only DNS)
  const denied = (flags: number, sport = 43000) => seg(nginx, debug, sport, 80, flags);
  const batches: Uint8Array[][] = [
    [denied(0x10), denied(0x10), denied(0x18), denied(0x02), denied(0x02), denied(0x10), denied(0x10, 43001), denied(0x10)],
    [denied(0x10), denied(0x10)], // the second snapshot: no policies
  ];
  const w = new Classifier(s4);
  const p = new Classifier(s4, { conntrack: { wasm: false } });
  let sec = 1_800_000_000;
  const memoAfter: number[] = [];
  for (const [bi, frames] of batches.entries()) {
    if (bi === 1) {
      w.setSnapshot(s1);
      p.setSnapshot(s1);
    }
    const n = frames.length;
    const args = frameBatch(frames, sec);
    sec += n;
    const a = new VerdictBatch(n);
    const b = new VerdictBatch(n);
    // one record at a time as well as whole batches: the memo must not depend on batching
    w.classifyBatch(...args, a);
    p.classifyBatch(...args, b);
    for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], `batch ${bi}: ${col}`);
    memoAfter.push(w.dropMemoHits);
  }
  // batch 0: ACK (decided by the module, memoized as mid-flow), ACK and PSH+ACK (memo: the slot of the drop before,
  // reused without a lookup), SYN (decided: another class, another key), SYN (memo, the slot before), ACK (memo: the SYN
  // did not replace it), ACK from another source port (memo: the key has no source port), ACK (memo)
  t.equal(memoAfter[0], 6, 'memo hits in the first snapshot');
  t.equal(w.decidedInWasm, 2, 'and two decisions by the module');
  t.equal(memoAfter[1], 6, 'none after the snapshot changed: the first packet is decided again (and allowed)');
  t.equal(w.counters.forwarded, 2, 'without policies, what step 4 denied is allowed');
  compare(t, 'drop memo', w, p);
  t.same([w.vc.stats().hits, w.vc.stats().misses], [0, 0], 'the module consulted no verdict cache');
  t.ok(p.vc.stats().hits > 0, 'where the general path did');
});

/** An Ethernet IPv4 UDP datagram */
const dgram = (src: string, dst: string, sport: number, dport: number): Uint8Array => ethernet(0x0800, ipv4({ src, dst, proto: 17 }, udp(sport, dport)));

t.test('decision memo, new connections: created in the module unless the table is full', async (t) => {
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const [A, B] = ['10.0.0.1', '10.0.0.2'];
  const frames = [
    seg(A, B, 41000, 80, 0x02), // SYN: a new connection (decided by the module; its decision is memoized)
    seg(A, B, 41001, 80, 0x02), // SYN from another source port: created from the memo
    seg(B, A, 80, 41001, 0x12), // its SYN+ACK (established fast path)
    seg(A, B, 41001, 80, 0x10), // its ACK (established fast path)
    seg(B, A, 80, 41002, 0x02), // SYN the other way (another key: decided)
    seg(A, B, 41002, 80, 0x02), // SYN in that connection's reply direction (a simultaneous open): general path
    dgram(A, B, 5000, 53), // UDP: a new flow (decided)
    dgram(A, B, 5001, 53), // UDP from another source port: created from the memo
    dgram(B, A, 53, 5001), // its reply (established fast path)
    seg(A, B, 41005, 80, 0x10), // ACK without a connection: picked up mid-flow (general path; an allowed pickup is
    seg(A, B, 41006, 80, 0x10), // not memoized, so this one takes the general path too)
  ];
  const args = frameBatch(frames, 1_800_000_000);
  const n = frames.length;
  for (const [name, tcpMax, creates] of [
    ['roomy tables', 4096, 2],
    ['a one-entry TCP table (a create would evict)', 1, 1],
  ] as const) {
    const w = new Classifier(open, { conntrack: { tcpMax } });
    const p = new Classifier(open, { conntrack: { tcpMax, wasm: false } });
    const a = new VerdictBatch(n);
    const b = new VerdictBatch(n);
    w.classifyBatch(...args, a);
    p.classifyBatch(...args, b);
    for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], `${name}: ${col}`);
    t.equal(w.createMemoHits, creates, `${name}: connections created from the memo`);
    compare(t, name, w, p);
  }
  const w = new Classifier(open);
  w.classifyBatch(...args, new VerdictBatch(n));
  t.equal(w.fastPathPackets, 8, 'fast path: three decided and created by the module, two created from the memo, three established');
  t.equal(w.decidedInWasm, 3, 'the first SYN each way and the first datagram were decided by the module');
  t.equal(w.ct.stateName(1), 'ESTABLISHED', 'the created connection went on to ESTABLISHED');
  t.equal(w.ct.stateName(2), 'SYN_RECV', 'the simultaneous open was left to the general path');
});

t.test('the packets of a connection one after the other, both ways, through a ClusterIP: the lookup of the packet before is reused', async (t) => {
  const s = snapshotOf(lab, false, 1);
  const [C, VIP] = ['10.244.140.35', '10.97.34.60'];
  const frames = [
    seg(C, VIP, 40000, 80, 0x02), // SYN to the ClusterIP: the general path creates the NAT entry
    seg(VIP, C, 80, 40000, 0x12), // SYN+ACK from the ClusterIP (the client's side of the NAT): the un-NATed reply
    seg(C, VIP, 40000, 80, 0x10), // ACK: the reverse of the packet before (original)
    seg(C, VIP, 40000, 80, 0x18), // data: the same tuple as the packet before
    seg(VIP, C, 80, 40000, 0x18), // data back: the reverse again (un-NATed reply)
    seg(VIP, C, 80, 40000, 0x10),
    seg(C, VIP, 40000, 80, 0x11), // FIN
    seg(VIP, C, 80, 40000, 0x11), // FIN back
    seg(C, VIP, 40000, 80, 0x10), // last ACK
    seg(C, VIP, 40001, 80, 0x10), // another source port: not the connection of the packet before
  ];
  const { w, p, a, n } = bothPaths(t, s, frames, {}, true);
  compare(t, 'ClusterIP connection', w, p);
  t.ok(w.fastPathPackets >= 8, `the fast path took ${w.fastPathPackets} of ${n} packets`);
  t.same([...a.verdict].slice(0, 9), Array(9).fill(1), 'the connection forwarded');
  t.same([...a.flags].slice(0, 9).map((f) => f & 1), [0, 1, 0, 0, 1, 1, 0, 1, 0], 'reply flags: the un-NATed replies and nothing else');
  t.equal(w.ct.stateName(0), 'TIME_WAIT', 'the connection (the first entry) went through its close to TIME_WAIT');
});

t.test('the conntrack index grows past the module: it declines the create that needs room, the general path grows it', async (t) => {
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const frames: Uint8Array[] = [];
  // 3000 new connections (a SYN each from its own source port) and a SYN+ACK for each: 6000 index records
  for (let i = 0; i < 3000; i++) frames.push(seg('10.0.0.1', '10.0.0.2', 20000 + i, 80, 0x02));
  for (let i = 0; i < 3000; i++) frames.push(seg('10.0.0.2', '10.0.0.1', 80, 20000 + i, 0x12));
  // a microsecond apart: a second apart, the SYNs would expire before their SYN+ACKs
  const { w, p } = bothPaths(t, open, frames, {}, true);
  compare(t, 'growth', w, p);
  t.equal(w.ct.tcp.indexSize, 16384, 'the index doubled twice (6000 records: 4096 → 8192 → 16384 slots)');
  t.equal(p.ct.tcp.indexSize, 16384, 'as the TypeScript tables did');
  t.equal(w.ct.tcp.indexGrowths, 2);
  const inModule = w.createMemoHits + w.decidedInWasm;
  t.equal(inModule, 2998, `the module created ${inModule} of 3000: the two that needed room went to the general path`);
  t.equal(w.counters.replies, 3000, 'every SYN+ACK found its connection after the growth');
});

t.test('a snapshot too large for the module memory: first packets go to the memo and the general path', async (t) => {
  const s = snapshotOf(lab, false, 1);
  const pad = new Uint32Array(SNAP_BYTES / 4 + 1);
  pad.set(s.ipIdentity);
  const big = { ...s, ipIdentity: pad };
  const w = new Classifier(big);
  const p = new Classifier(big, { conntrack: { wasm: false } });
  const batches = await captureBatches(lab, { packets: 5_000, flows: 200, seed: 11 });
  const run = (c: Classifier, r: (typeof batches)[number], out: VerdictBatch): void => {
    c.classifyRecords(r.buf, r.count, r.offsets, r.capLens, r.wireLens, r.linkTypes, r.tsSec, r.tsNsec, out, 0, null, 0);
  };
  let diffs = 0;
  for (const r of batches) {
    const a = new VerdictBatch(r.count);
    const b = new VerdictBatch(r.count);
    run(w, r, a);
    run(p, r, b);
    for (let i = 0; i < r.count; i++) for (const col of RECORD_COLS) if (a[col][i] !== b[col][i]) diffs++;
  }
  t.equal(diffs, 0, 'the same records');
  t.equal(w.decidedInWasm, 0, 'nothing decided by the module');
  t.ok(w.fastPathPackets > 0 && w.createMemoHits + w.dropMemoHits > 0, 'the established path and the memo still run');
  compare(t, 'too large', w, p);
  w.setSnapshot(s);
  run(w, batches[0]!, new VerdictBatch(batches[0]!.count));
  t.ok(w.decidedInWasm > 0, 'a snapshot that fits is decided by the module again');
});

t.test('decided by the module: port ranges, loopback, and traffic from a node with and without node-ingress policy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpf-wasm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const node = (name: string, ip: string) =>
    `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}}\nstatus: {addresses: [{type: InternalIP, address: ${ip}}]}\n`;
  const pod = (name: string, app: string, nodeName: string, ip: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: default, labels: {app: ${app}}}\nspec: {nodeName: ${nodeName}, containers: [{name: c, image: i}]}\nstatus: {podIP: ${ip}, podIPs: [{ip: ${ip}}]}\n`;
  const file = join(dir, 'cluster.yaml');
  writeFileSync(
    file,
    [
      node('node-a', '192.168.0.10'),
      node('node-b', '192.168.0.11'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n',
      pod('client', 'client', 'node-a', '10.0.1.5'),
      pod('kafka', 'kafka', 'node-a', '10.0.1.6'),
      pod('server', 'server', 'node-b', '10.0.2.5'),
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: kafka, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: kafka}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{protocol: TCP, port: 9092, endPort: 9094}]\n`,
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: server, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: server}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}]\n`,
    ].join('---\n'),
  );
  const cluster = buildCluster((await loadManifests([file], {})).objects, {}).cluster;
  const [client, kafka, server, nodeA] = ['10.0.1.5', '10.0.1.6', '10.0.2.5', '192.168.0.10'];
  const frames: Uint8Array[] = [];
  for (const port of [9091, 9092, 9093, 9094, 9095, 9096]) frames.push(seg(client, kafka, 40000 + port, port, 0x02));
  frames.push(
    seg(client, server, 41000, 80, 0x02), // allowed
    seg(client, server, 41001, 81, 0x02), // no such port: denied
    dgram(client, server, 5000, 53), // allowed
    seg(kafka, server, 41002, 80, 0x02), // not from the client: denied
    seg(client, client, 41003, 8080, 0x02), // loopback: bypass
    seg(nodeA, kafka, 41004, 9092, 0x02), // from kafka's own node
    seg(nodeA, server, 41005, 80, 0x02), // from another node than server's
    seg(kafka, client, 41006, 22, 0x10), // mid-flow, allowed (client is not isolated): the general path picks it up
    seg(client, kafka, 41007, 22, 0x10), // mid-flow, denied: decided
  );
  const args = frameBatch(frames, 1_800_000_000);
  const n = frames.length;
  const base = snapshotOf(cluster, false, 1);
  for (const [name, snap] of [
    ['node ingress allowed', base],
    ['node ingress under policy', { ...base, flags: base.flags | SemanticsBits.NODE_INGRESS_POLICY }],
  ] as const) {
    const w = new Classifier(snap);
    const p = new Classifier(snap, { conntrack: { wasm: false } });
    const a = new VerdictBatch(n);
    const b = new VerdictBatch(n);
    w.classifyBatch(...args, a);
    p.classifyBatch(...args, b);
    for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], `${name}: ${col}`);
    t.equal(w.decidedInWasm, n - 1, `${name}: every first packet but the allowed pickup was decided by the module`);
    t.same(
      [...a.verdict.subarray(0, 6)],
      [2, 1, 1, 1, 2, 2].map((v) => v),
      `${name}: the port range 9092-9094 (endPort) allows exactly its ports`,
    );
    t.equal(a.reason[10], ForwardReason.LOOPBACK, `${name}: loopback`);
    const fromNode = name === 'node ingress allowed' ? ForwardReason.NODE_INGRESS : 133;
    t.equal(a.reason[11], fromNode, `${name}: from the pod's own node`);
    compare(t, name, w, p);
  }
  // --ct-pickup=either: a mid-flow packet denied in its own direction may be a reply of an allowed connection, which
  // the general path decides (the module decides mid-flow packets only with --ct-pickup=on)
  const reply = seg(client, kafka, 9092, 45000, 0x10);
  const either = frameBatch([reply, reply], 1_800_000_000);
  const w = new Classifier(base, { pickup: 'either' });
  const p = new Classifier(base, { pickup: 'either', conntrack: { wasm: false } });
  const a = new VerdictBatch(2);
  const b = new VerdictBatch(2);
  w.classifyBatch(...either, a);
  p.classifyBatch(...either, b);
  for (const col of RECORD_COLS) t.same([...a[col]], [...b[col]], `--ct-pickup=either: ${col}`);
  t.same([...a.verdict], [1, 1], '--ct-pickup=either: allowed as the reply of client → kafka:9092');
  t.equal(w.decidedInWasm, 0, '--ct-pickup=either: decided by the general path');
});

t.test('in place: a frame that runs past the batch buffer is read no further than the buffer, as in the staged copy', async (t) => {
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const frames = [seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x02), seg('10.0.0.3', '10.0.0.4', 40001, 80, 0x02)];
  const [buf, n, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec] = frameBatch(frames, 1_800_000_000);
  // the buffer ends 30 bytes into the second frame, which claims its whole length
  const cut = offsets[1]! + 30;
  const layout = slotLayout(n, buf.length);
  const w = new Classifier(open, {}, Classifier.prepare({}, new Conntrack({}, layout.bytes)));
  const region = new Region(w.ct.arena!, n, buf.length);
  // the whole second frame lies in the module memory beyond the buffer's end: a read past the end would find it
  region.load({ buf, count: n, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec });
  const cols = region.cols;
  w.classifyInPlace(region.buf.subarray(0, cut), n, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, cols.tsSec, cols.tsNsec, region.out);
  const p = new Classifier(open, { conntrack: { wasm: false } });
  const b = new VerdictBatch(n);
  p.classifyBatch(buf.subarray(0, cut), n, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec, b);
  for (const col of RECORD_COLS) t.same([...region.out[col].subarray(0, n)], [...b[col]], col);
  t.equal(b.verdict[0], 1, 'the first frame is forwarded');
  t.not(b.verdict[1], 1, 'the cut one is not');
  t.equal(w.fastPathPackets, 1, 'the module took the first frame, and left the cut one to the general path');
});

t.test('descriptors (Describer): the fields run parses, and zeros for every record it would decline', async (t) => {
  const eth = (l3: Uint8Array): Uint8Array => ethernet(0x0800, l3);
  const v4 = (o: { src?: string; dst?: string; proto: number; options?: Uint8Array; df?: boolean; mf?: boolean; fragOff?: number; totalLength?: number }, l4: Uint8Array): Uint8Array => eth(ipv4(o, l4));
  const frames: Array<[string, Uint8Array, number[] | null]> = [
    ['TCP ACK', v4({ src: '10.1.2.3', dst: '10.4.5.6', proto: 6 }, tcp({ sport: 40000, dport: 8080, flags: 0x10 })), [0x0a010203, 0x0a040506, ((40000 << 16) | 8080) >>> 0, 6 | (0x10 << 8) | (40 << 16)]],
    ['TCP SYN+ACK with a payload', v4({ proto: 6 }, tcp({ sport: 443, dport: 51000, flags: 0x12 }, new Uint8Array(30))), [0x0a000001, 0x0a000002, (443 << 16) | 51000, 6 | (0x12 << 8) | (70 << 16)]],
    ['UDP', v4({ src: '192.168.0.1', dst: '10.96.0.10', proto: 17 }, udp(5353, 53, new Uint8Array(12))), [0xc0a80001, 0x0a60000a, (5353 << 16) | 53, 17 | (40 << 16)]],
    ['IPv4 options', v4({ proto: 6, options: new Uint8Array(4) }, tcp({ flags: 0x10 })), null],
    ['a first fragment', v4({ proto: 17, mf: true }, udp(1, 2)), null],
    ['a later fragment', v4({ proto: 17, fragOff: 8 }, udp(1, 2)), null],
    ['ICMP', v4({ proto: 1 }, new Uint8Array(8)), null],
    ['TCP SYN+FIN (invalid)', v4({ proto: 6 }, tcp({ flags: 0x03 })), null],
    ['TCP without flags (invalid)', v4({ proto: 6 }, tcp({ flags: 0 })), null],
    ['a total length past the frame', v4({ proto: 6, totalLength: 200 }, tcp({ flags: 0x10 })), null],
    ['a TCP header cut short', v4({ proto: 6, totalLength: 30 }, tcp({ flags: 0x10 })), null],
    ['a UDP length past the datagram', v4({ proto: 17 }, udp(1, 2, new Uint8Array(4), 40)), null],
    ['ARP', ethernet(0x0806, new Uint8Array(28)), null],
    ['IPv6', ethernet(0x86dd, new Uint8Array(60)), null],
  ];
  const [buf, n, offsets, capLens, wireLens, linkTypes] = frameBatch(
    frames.map((f) => f[1]),
    1_800_000_000,
  );
  // a raw-IP record (link type 101) and one that claims more bytes than the buffer holds
  // (a region of a record more, whose descriptor must stay as it was)
  const arena = new Arena(slotLayout(n + 3, buf.length + 200).bytes + 4096);
  const region = new Region(arena, n + 3, buf.length + 200);
  const raw = ipv4({ src: '10.9.9.9', dst: '10.8.8.8', proto: 17 }, udp(7, 9));
  region.buf.set(buf);
  region.buf.set(raw, buf.length);
  const cols = region.cols;
  cols.offsets.set(offsets);
  cols.capLens.set(capLens);
  cols.wireLens.set(wireLens);
  cols.linkTypes.set(linkTypes);
  cols.offsets[n] = buf.length;
  cols.capLens[n] = cols.wireLens[n] = raw.length;
  cols.linkTypes[n] = 101;
  cols.offsets[n + 1] = offsets[0]!;
  cols.capLens[n + 1] = cols.wireLens[n + 1] = buf.length + raw.length + 1;
  cols.linkTypes[n + 1] = 1;
  const d = Describer.over(arena.memory)!;
  region.desc.fill(0xffffffff);
  d.describe(region.buf.subarray(0, buf.length + raw.length), cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, n + 2, region.desc);
  const words = (i: number): number[] => [...region.desc.subarray(DESC_WORDS * i, DESC_WORDS * i + DESC_WORDS)];
  frames.forEach(([name, , want], i) => t.same(words(i), want ?? [0, 0, 0, 0], name));
  t.same(words(n), [0x0a090909, 0x0a080808, (7 << 16) | 9, 17 | (28 << 16)], 'raw IPv4 (link type 101)');
  t.same(words(n + 1), [0, 0, 0, 0], 'a record that runs past the buffer');
  t.same(words(n + 2), [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], 'nothing written past the records');
  t.throws(() => d.describe(region.buf, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, n + 3, region.desc.subarray(0, DESC_WORDS * (n + 2))), /3 records|shorter/, 'descriptors too short');
  t.throws(() => d.describe(new Uint8Array(16), cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, 1, region.desc), /outside the module memory/, 'a view in other memory');
});

t.test('in place: prefill writes no verdict, so a batch whose thread fails in its middle keeps its unclassified records at 0', async (t) => {
  const open = snapshotOf(buildCluster([], {}).cluster, false, 1);
  const frames = [seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x02), seg('10.0.0.2', '10.0.0.1', 80, 40000, 0x12), seg('10.0.0.1', '10.0.0.2', 40000, 80, 0x10)];
  const [buf, n, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec] = frameBatch(frames, 1_800_000_000);
  const layout = slotLayout(n, buf.length);
  const parts = Classifier.prepare({}, new Conntrack({}, layout.bytes));
  const region = new Region(parts.ct.arena!, n, buf.length);
  region.load({ buf, count: n, offsets, capLens, wireLens, linkTypes, tsSec, tsNsec });
  const cols = region.cols;
  // what a worker has done to the batch when it fails right after prefill: the engine (replay/engine.ts complete)
  // tells the records it left without a verdict by their 0
  const core = parts.core!;
  core.useBatch(region.buf, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, cols.tsSec, cols.tsNsec, region.out);
  core.prefill(n);
  core.useChunk();
  t.same([...region.out.verdict.subarray(0, n)], [0, 0, 0], 'no verdict before the records are classified');
  t.same([...region.out.backend.subarray(0, n)], [-1, -1, -1], 'the shared columns are prefilled');
  // classified, the established packets' verdicts are the module's own writes (the third packet here)
  const w = new Classifier(open, {}, parts);
  w.classifyInPlace(region.buf, n, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, cols.tsSec, cols.tsNsec, region.out);
  t.same([...region.out.verdict.subarray(0, n)], [1, 1, 1], 'each record forwarded once classified');
  t.equal(w.counters.established, 1, 'the last one as an established packet, by the module');
});
