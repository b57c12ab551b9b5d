/**
 * replay/tally.ts, workers/gather.ts and replay/sharder.ts: what the workers count equals what the main thread counts;
 * gathering by index; the main thread's shards equal workers/shard.ts shardBatch.
 */
import t from 'tap';
import { VerdictBatch, PacketVerdict, PacketFlag } from '../../src/datapath/classify.js';
import { Prng } from '../../src/gen/traffic.js';
import { VerdictTally } from '../../src/replay/tally.js';
import { FlowCounter } from '../../src/replay/flow-counter.js';
import { GatheredColumns } from '../../src/workers/gather.js';
import { BatchSharder } from '../../src/replay/sharder.js';
import { shardBatch } from '../../src/workers/shard.js';
import { defaultDecodeOptions } from '../../src/packet/options.js';

async function labTraffic(packets: number, maxBatch: number) {
  const { loadManifests } = await import('../../src/manifests/index.js');
  const { buildCluster } = await import('../../src/cluster/build.js');
  const { labFiles } = await import('../../src/lab/lab.js');
  const { captureBatches, snapshotOf } = await import('../datapath/traffic.js');
  const cluster = buildCluster((await loadManifests(labFiles(), {})).objects, {}).cluster;
  const batches = await captureBatches(cluster, { packets, flows: Math.ceil(packets / 10), seed: 5, externalShare: 0.2, mix: { tcp: 60, udp: 25, icmp: 15 } }, maxBatch);
  return { batches, snapshot: snapshotOf(cluster, false, 1) };
}

/** A batch's verdicts at random: forwarded or dropped, reasons, flags. */
function randomVerdicts(n: number, rng: Prng): VerdictBatch {
  const v = new VerdictBatch(n);
  for (let i = 0; i < n; i++) {
    const fwd = rng.below(3) !== 0;
    v.verdict[i] = fwd ? PacketVerdict.FORWARDED : PacketVerdict.DROPPED;
    v.reason[i] = fwd ? rng.below(4) : [133, 134, 1001, 2047][rng.below(4)]!;
    v.flags[i] = [0, PacketFlag.NEW, PacketFlag.REPLY, PacketFlag.PICKUP, PacketFlag.TRUNCATED, PacketFlag.NEW | PacketFlag.PICKUP][rng.below(6)]!;
  }
  v.count = n;
  return v;
}

const snapshotOfTally = (x: VerdictTally) => {
  const c = x.take();
  const flows = new Map<string, number>();
  if (c.flows) for (let k = 0; k < c.flows.counts.length; k++) flows.set(Array.from(c.flows.keys.subarray(10 * k, 10 * k + 10)).join(','), c.flows.counts[k]!);
  const pairs = (a: Float64Array) => Array.from({ length: a.length / 2 }, (_, k) => `${a[2 * k]}:${a[2 * k + 1]}`).join(' ');
  return { ...c, forwardReasons: pairs(c.forwardReasons), dropReasons: pairs(c.dropReasons), flows: [...flows].sort(), overflow: c.flows?.overflow };
};

t.test('counts taken in parts by workers and merged equal the counts of the whole, flows included', async (t) => {
  const { batches } = await labTraffic(12_000, 2048);
  const rng = new Prng(3);
  const whole = new VerdictTally(true);
  const merged = new VerdictTally(true);
  const worker = new VerdictTally(true);
  const gathered = new GatheredColumns();
  for (const b of batches) {
    const v = randomVerdicts(b.count, rng);
    whole.add(b.buf, b.offsets, b.capLens, b.wireLens, b.linkTypes, v, 0, b.count);
    // split the batch as the engine does: records listed by "shard", each part gathered and counted, verdicts at the
    // part's positions
    const shard = Uint8Array.from({ length: b.count }, () => rng.below(3));
    const index = new Uint32Array(b.count);
    const gv = new VerdictBatch(b.count);
    let at = 0;
    for (let w = 0; w < 3; w++) {
      const start = at;
      for (let i = 0; i < b.count; i++) if (shard[i] === w) {
        index[at] = i;
        gv.copyRecord(v, i, at++);
      }
      const cols = gathered.gather(b, index.subarray(start), at - start);
      for (let j = 0; j < at - start; j++) {
        const i = index[start + j]!;
        if (cols.offsets[j] !== b.offsets[i] || cols.wireLens[j] !== b.wireLens[i] || cols.tsSec[j] !== b.tsSec[i] || cols.tsNsec[j] !== b.tsNsec[i] || cols.linkTypes[j] !== b.linkTypes[i] || cols.capLens[j] !== b.capLens[i]) {
          t.fail(`gathered record ${j} is not record ${i}`);
          return;
        }
      }
      worker.add(b.buf, cols.offsets, cols.capLens, cols.wireLens, cols.linkTypes, gv, start, at - start);
      // a structured clone, as the counts cross threads
      merged.merge(structuredClone(worker.take()));
    }
  }
  t.equal(whole.records, 12_000);
  t.ok(whole.dropped > 1000 && whole.forwarded > 1000, `${whole.forwarded} forwarded, ${whole.dropped} dropped`);
  const a = snapshotOfTally(whole);
  const m = snapshotOfTally(merged);
  t.ok(a.flows.length > 100, `${a.flows.length} dropped flows`);
  t.same(m, a, 'the same counts, reasons and flows');
  t.same(snapshotOfTally(worker).records, 0, 'take() leaves the tally empty');
});

t.test('FlowCounter.take and addAll: the same counts, the bound kept, overflow carried', async (t) => {
  const a = new FlowCounter(1000, 4);
  const rng = new Prng(8);
  for (let i = 0; i < 5000; i++) a.add(0x406, rng.below(50), 0, 0, -rng.below(9), 0, 0, 0, 7, rng.below(3));
  const ref = new Map<string, number>();
  a.forEach((k, n) => ref.set(k.join(','), n));
  const taken = a.take();
  t.equal(a.size, 0);
  t.equal(taken.counts.length, ref.size);
  const b = new FlowCounter(1000, 4);
  b.addAll(taken.keys, taken.counts);
  b.addAll(taken.keys, taken.counts);
  const got = new Map<string, number>();
  b.forEach((k, n) => got.set(k.join(','), n));
  t.same(got, new Map([...ref].map(([k, n]) => [k, 2 * n])), 'twice the counts');
  const small = new FlowCounter(3, 2);
  small.addAll(taken.keys, taken.counts);
  t.equal(small.size, 3);
  t.equal(small.overflow, [...taken.counts].slice(3).reduce((s, c) => s + c, 0), 'the packets of keys past the bound');
});

t.test('the main thread\'s shards (WebAssembly and TypeScript) equal workers/shard.ts shardBatch', async (t) => {
  const { batches, snapshot } = await labTraffic(20_000, 4096);
  t.ok(snapshot.services.vipMask >= 0, 'the lab has ClusterIPs');
  for (const W of [2, 3, 5]) {
    const wasm = new BatchSharder(snapshot, W);
    const ts = new BatchSharder(snapshot, W, { ...defaultDecodeOptions, verifyChecksums: true });
    t.ok(wasm.wasm, 'the module shards');
    t.notOk(ts.wasm, 'no module when checksums are verified');
    const per = new Array<number>(W).fill(0);
    for (const b of batches) {
      const want = new Uint8Array(b.count);
      shardBatch(snapshot, defaultDecodeOptions, b.buf, b.offsets, b.capLens, b.wireLens, b.linkTypes, b.count, W, want);
      const got = new Uint8Array(b.count);
      wasm.shard(b.buf, b.count, b.offsets, b.capLens, b.wireLens, b.linkTypes, got);
      const got2 = new Uint8Array(b.count);
      ts.shard(b.buf, b.count, b.offsets, b.capLens, b.wireLens, b.linkTypes, got2);
      if (!want.every((s, i) => s === got[i] && s === got2[i])) {
        t.fail(`${W} workers: a shard differs`);
        return;
      }
      for (const s of got) per[s]!++;
    }
    t.ok(per.every((n) => n > 20_000 / W / 3), `${W} workers: every shard has records (${per.join(', ')})`);
  }
});

t.test('dropped flows counted in runs give the counts and the bound of one put a packet', async (t) => {
  const { ethernet, ipv4, tcp, udp } = await import('../fixtures/captures/builders.js');
  const { frameBatch } = await import('../datapath/traffic.js');
  const { decode } = await import('../../src/packet/decode.js');
  const { FlowKey } = await import('../../src/core/flow-key.js');
  const rng = new Prng(9);
  // few flows, so that drops of one flow follow each other; ARP-like non-IP frames between them (keyed by the decoder)
  // (addresses above 2^31 too: a key's words are int32 whichever way the key was found)
  const flowsOf = Array.from({ length: 12 }, (_, k) => [k % 2 ? `10.0.${k % 3}.${k + 1}` : `192.168.${k % 3}.${k + 1}`, `${k % 4 ? 10 : 172}.1.0.${k % 5}`, 1000 + k, 80 + (k % 4), k % 3 === 0 ? 17 : 6] as const);
  const { Arena, Describer, DESC_WORDS } = await import('../../src/datapath/wasm-core.js');
  const arena = new Arena(1 << 20);
  const describer = Describer.over(arena.memory)!;
  for (const maxFlows of [1000, 7]) {
    const tally = new VerdictTally(true, maxFlows);
    // the same drops keyed from the records' descriptors (a described in-place batch's listed records)
    const byDesc = new VerdictTally(true, maxFlows);
    const ref = new FlowCounter(maxFlows);
    const key = new FlowKey();
    for (let b = 0; b < 6; b++) {
      const frames: Uint8Array[] = [];
      let flow = rng.below(12);
      for (let i = 0; i < 500; i++) {
        if (rng.below(4) === 0) flow = rng.below(12);
        const [src, dst, sport, dport, proto] = flowsOf[flow]!;
        if (rng.below(40) === 0) frames.push(ethernet(0x0800, ipv4({ src, dst, proto: 1 }, new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]))));
        else frames.push(ethernet(0x0800, ipv4({ src, dst, proto }, proto === 6 ? tcp({ sport, dport, flags: 0x02 }) : udp(sport, dport))));
      }
      const [buf, n, offsets, capLens, wireLens, linkTypes] = frameBatch(frames, 1_800_000_000);
      const v = new VerdictBatch(n);
      for (let i = 0; i < n; i++) {
        const drop = rng.below(5) !== 0;
        v.verdict[i] = drop ? PacketVerdict.DROPPED : PacketVerdict.FORWARDED;
        v.reason[i] = drop ? 133 : 0;
        if (!drop) continue;
        // the reference: every dropped packet put on its own, in order
        decode(linkTypes[i]!, buf, offsets[i]!, capLens[i]!, wireLens[i]!, key);
        const ports = key.proto === 6 || key.proto === 17 || key.proto === 132;
        ref.add((key.family << 8) | key.proto, key.src0 | 0, key.src1 | 0, key.src2 | 0, key.src3 | 0, key.dst0 | 0, key.dst1 | 0, key.dst2 | 0, key.dst3 | 0, ports ? key.dport : -1);
      }
      v.count = n;
      // in two calls, so that a run may cross them
      tally.add(buf, offsets, capLens, wireLens, linkTypes, v, 0, 200);
      tally.add(buf, offsets.subarray(200), capLens.subarray(200), wireLens.subarray(200), linkTypes.subarray(200), v, 200, n - 200);
      // the batch in module memory, described, and counted through a list of every record
      const m = arena.buffer;
      const at = 4096;
      const mb = new Uint8Array(m, at, buf.length);
      mb.set(buf);
      const cols = [offsets, capLens, wireLens].map((a, j) => new Uint32Array(m, at + buf.length + 64 - (buf.length % 64) + j * 4 * n, n));
      cols.forEach((c, j) => c.set([offsets, capLens, wireLens][j]!));
      const lts = new Uint16Array(m, at + buf.length + 64 - (buf.length % 64) + 12 * n, n);
      lts.set(linkTypes);
      const desc = new Uint32Array(m, at + buf.length + 64 - (buf.length % 64) + 16 * n, DESC_WORDS * n);
      describer.describe(mb, cols[0]!, cols[1]!, cols[2]!, lts, n, desc);
      const all = Uint32Array.from({ length: n }, (_, i) => i);
      byDesc.add(buf, offsets, capLens, wireLens, linkTypes, v, 0, 200, all.subarray(0, 200), desc);
      byDesc.add(buf, offsets, capLens, wireLens, linkTypes, v, 0, n - 200, all.subarray(200), desc);
    }
    const got = tally.take().flows!;
    const gotDesc = byDesc.take().flows!;
    const want = ref.take();
    const asMap = (f: { keys: Int32Array; counts: Float64Array }) =>
      new Map(Array.from(f.counts, (c, k) => [Array.from(f.keys.subarray(10 * k, 10 * k + 10)).join(','), c] as const).sort());
    t.same([...asMap(got)], [...asMap(want)], `bound ${maxFlows}: the same flows and counts`);
    t.equal(got.overflow, want.overflow, `bound ${maxFlows}: the same overflow`);
    t.same([...asMap(gotDesc)], [...asMap(want)], `bound ${maxFlows}, keyed from descriptors: the same flows and counts`);
    t.equal(gotDesc.overflow, want.overflow, `bound ${maxFlows}, keyed from descriptors: the same overflow`);
    if (maxFlows === 7) t.ok(want.overflow > 0, 'the bound was reached');
  }
});
