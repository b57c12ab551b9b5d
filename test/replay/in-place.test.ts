/**
 * A 1-worker replay reads its batches into the worker's module memory (the regions the worker's `prepare` reserved,
 * replay/slot-layout.ts), and the worker classifies them there (datapath/classify.ts classifyInPlace). The verdicts
 * are the same as through the engine's own memory (`inPlace: false`, the staged copy); a worker that replaces a
 * failed one has a memory of its own and classifies the batches read into the old one's like any others. The main
 * thread lays the regions out itself, in a memory it hands the worker (slot-layout.ts planRegions).
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildCluster } from '../../src/cluster/build.js';
import { VerdictBatch } from '../../src/datapath/classify.js';
import { labFiles } from '../../src/lab/lab.js';
import { loadManifests } from '../../src/manifests/index.js';
import { compile } from '../../src/policy/compile.js';
import { buildSnapshot } from '../../src/policy/snapshot.js';
import { Conntrack } from '../../src/datapath/conntrack.js';
import { Arena } from '../../src/datapath/wasm-core.js';
import { WORKER_FAILED, replay, type ReplayOptions } from '../../src/replay/engine.js';
import { startPool } from '../../src/replay/pool-start.js';
import { REGION_RECORDS, REGIONS, SLOT_BYTES, planRegions, slotLayout } from '../../src/replay/slot-layout.js';
import { VerdictTally } from '../../src/replay/tally.js';
import { RECORD_COLS } from '../datapath/traffic.js';
import { kpf } from '../helpers/cli.js';
import { cat, ethernet, ipv4, ngBlock, ngEpb, ngIdb, ngShb, udp } from '../fixtures/captures/builders.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'kpf-in-place-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const capture = path.join(tmp, 'traffic.pcap');
const g = await kpf(['gen', 'traffic', '--lab', '-o', capture, '--packets', '20000', '--flows', '2000', '--seed', '21', '--mix', 'tcp=70,udp=20,icmp=10']);
if (g.code !== 0) throw new Error(g.stderr);
const cluster = buildCluster((await loadManifests(labFiles(), {})).objects, {}).cluster;
const snapshot = buildSnapshot(compile(cluster), { shared: true });

/** Replays a capture with 1 worker; every record's verdict columns, in capture order, and the summary. */
async function run(opts: Partial<ReplayOptions>, file = capture) {
  const out = new VerdictBatch(20000);
  let n = 0;
  const summary = await replay(file, snapshot, { workers: 1, batchSize: 1024, ...opts }, {
    batch({ records, verdicts }) {
      if (records.firstIndex !== n) throw new Error(`batch at ${records.firstIndex}, expected ${n}`);
      out.copyRecords(verdicts, 0, verdicts.count, n);
      n += verdicts.count;
    },
  });
  return { out, n, summary };
}

t.test('1 worker: the batches are classified in the worker’s memory, with the verdicts of the staged copy', async (t) => {
  const a = await run({});
  const b = await run({ inPlace: false });
  t.equal(a.n, 20000);
  t.equal(b.n, 20000);
  for (const col of RECORD_COLS) t.same([...a.out[col]], [...b.out[col]], col);
  const batches = Math.ceil(20000 / 1024);
  t.equal(a.summary.workers[0]?.inPlaceBatches, batches, `all ${batches} batches classified in place`);
  t.equal(b.summary.workers[0]?.inPlaceBatches, 0, 'none with inPlace: false');
  t.equal(a.summary.workers[0]?.fastPath.packets, b.summary.workers[0]?.fastPath.packets, 'the same packets on the fast path');
  t.ok((a.summary.workers[0]?.fastPath.packets ?? 0) > 10000, 'most of them');
  t.equal(a.summary.workers[0]?.describedBatches, batches, 'every batch described by the main thread first');
  t.equal(a.summary.workers[0]?.ringBatches, batches, 'every batch taken from the ring (replay/ring.ts)');
  // a task a batch instead of the ring: the same verdicts and counters
  const r = await run({ ring: false });
  for (const col of RECORD_COLS) t.same([...r.out[col]], [...a.out[col]], `ring: false: ${col}`);
  t.equal(r.summary.workers[0]?.inPlaceBatches, batches, 'ring: false: in place');
  t.equal(r.summary.workers[0]?.ringBatches, 0, 'ring: false: none from the ring');
  t.same(r.summary.workers[0]?.counters, a.summary.workers[0]?.counters, 'ring: false: the same counters');
  t.equal(a.summary.destroyed, undefined, 'the pool destroyed before the summary came back');
  // deferDestroy (the CLI): the summary comes back with the pool's destruction under way
  const d = await run({ deferDestroy: true });
  t.ok(d.summary.destroyed instanceof Promise, 'deferDestroy: the summary carries the destruction');
  await d.summary.destroyed;
  for (const col of RECORD_COLS) t.same([...d.out[col]], [...a.out[col]], `deferDestroy: ${col}`);
  // the worker's module parsing the frames itself: the same verdicts and counters
  const c = await run({ describe: false });
  for (const col of RECORD_COLS) t.same([...c.out[col]], [...a.out[col]], `describe: false: ${col}`);
  t.equal(c.summary.workers[0]?.inPlaceBatches, batches, 'describe: false: in place');
  t.equal(c.summary.workers[0]?.describedBatches, 0, 'describe: false: none described');
  t.same(c.summary.workers[0]?.counters, a.summary.workers[0]?.counters, 'describe: false: the same counters');
});

t.test('the main thread lays out the regions in a memory it makes; the worker puts its tables in the rest', async (t) => {
  const bytes = slotLayout(REGION_RECORDS, SLOT_BYTES).bytes;
  const options = { conntrack: { tcpMax: 4096, anyMax: 2048 } };
  const plan = planRegions(options);
  if (plan === null) throw new Error('no plan with the WebAssembly fast path built');
  t.same(plan.starts, Array.from({ length: REGIONS }, (_, k) => 1024 + k * bytes), 'the regions first, one after another (the module keeps its first 1024 bytes)');
  t.equal(plan.top, 1024 + REGIONS * bytes, 'top: the bytes they take');
  t.ok(plan.memory.buffer.byteLength >= plan.top + Conntrack.arenaBytes(options.conntrack)!, 'room for the tables after them');
  t.equal(planRegions({ ...options, decode: { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 } }), null, 'checksums verified: none (nothing classifies in place)');
  t.equal(planRegions({ conntrack: { ...options.conntrack, wasm: false } }), null, 'tables outside the module: none');
  t.equal(planRegions({ conntrack: { tcpMax: 0 } }), null, 'options the worker refuses: none (its own error comes from the first batch)');
  // the tables in the rest of that memory, its identity kept; a memory without room for them is refused
  const ct = new Conntrack(options.conntrack, 0, { memory: plan.memory, top: plan.top });
  t.equal(ct.arena?.memory, plan.memory, 'the conntrack tables live in the planned memory');
  t.ok(ct.arena !== null && ct.arena.used > plan.top && ct.arena.used <= plan.memory.buffer.byteLength, 'after the regions');
  t.ok(Arena.sameIdentity(ct.arena!.buffer, plan.memory.buffer as unknown as SharedArrayBuffer), 'the identity words of the memory as made');
  t.throws(() => new Conntrack({ tcpMax: 262144 }, 0, { memory: plan.memory, top: plan.top }), RangeError, 'larger tables than the memory has room for: refused');
  t.throws(() => new Conntrack(options.conntrack, 0, { memory: plan.memory, top: plan.top + 8 }), RangeError, 'a top off the 64-byte grid: refused');
  // a pool of one: the regions are known before the worker answers, and its answer is the same layout in that memory
  const pool = startPool({ workers: 1, classifier: options });
  try {
    const planned = pool.plannedRegions(0);
    t.ok(planned !== null, 'planned at once');
    const answered = await pool.regions(0);
    t.same(answered?.starts, planned?.starts, 'the worker took the planned regions');
    t.ok(answered !== null && planned !== null && Arena.sameIdentity(answered.memory.buffer as unknown as SharedArrayBuffer, planned.memory.buffer as unknown as SharedArrayBuffer), 'in the memory the main thread made');
  } finally {
    await pool.destroy();
  }
  const two = startPool({ workers: 2, classifier: options });
  try {
    t.equal(two.plannedRegions(0), null, 'two workers: no regions');
    t.equal(await two.regions(0), null, 'and none from the workers');
  } finally {
    await two.destroy();
  }
});

t.test('1 worker killed mid-replay: its replacement classifies the batches read into the old memory', async (t) => {
  for (const ring of [true, false]) {
    const a = await run({ crashBatch: 3, ring });
    t.equal(a.n, 20000, `ring ${ring}: every record has a verdict`);
    t.ok(a.summary.defaultVerdicts > 0 && a.summary.defaultVerdicts < 20000, `ring ${ring}: ${a.summary.defaultVerdicts} default verdicts`);
    t.ok(a.summary.workerFailures > 0 && a.summary.defaultVerdicts <= a.summary.workerFailures * 1024, `ring ${ring}: ${a.summary.workerFailures} batches failed, with those records`);
    let unset = 0;
    for (let i = 0; i < 20000; i++) if (a.out.verdict[i] === 0) unset++;
    t.equal(unset, 0);
    const w = a.summary.workers[0];
    t.ok(w !== null && w !== undefined && w.counters.packets > 0, `ring ${ring}: the replacement classified ${w?.counters.packets} packets`);
    t.equal(w?.inPlaceBatches, 0, `ring ${ring}: none of them in place: the regions are in the failed thread’s memory`);
    t.equal(w?.ringBatches, 0, `ring ${ring}: the replacement takes tasks`);
    // batches 0-2 were classified by the thread that failed on batch 3
    t.equal((w?.counters.packets ?? 0) + a.summary.defaultVerdicts, 20000 - 3 * 1024, `ring ${ring}: the replacement: every record after the failed ones`);
  }
});

t.test('a batch whose classification throws: its records get the default verdict, and the same thread goes on', async (t) => {
  const batches = Math.ceil(20000 / 1024);
  for (const ring of [true, false]) {
    const a = await run({ failBatch: 3, ring });
    t.equal(a.n, 20000, `ring ${ring}: every record has a verdict`);
    t.equal(a.summary.workerFailures, 1, `ring ${ring}: one failed batch`);
    t.equal(a.summary.defaultVerdicts, 1024, `ring ${ring}: its records got the default verdict`);
    for (let i = 3 * 1024; i < 4 * 1024; i++) {
      if (a.out.reason[i] !== WORKER_FAILED) {
        t.fail(`ring ${ring}: record ${i} of the failed batch has reason ${a.out.reason[i]}`);
        break;
      }
    }
    const w = a.summary.workers[0]!;
    t.equal(w.counters.packets, 20000 - 1024, `ring ${ring}: the same thread classified every other record`);
    t.equal(w.inPlaceBatches, batches - 1, `ring ${ring}: in place, in its memory`);
    t.equal(w.ringBatches, ring ? batches - 1 : 0, `ring ${ring}: ${ring ? 'from the ring' : 'as tasks'}`);
  }
});

t.test('a pcapng block larger than a region after batches in the ring: the ring stops after them, and tasks take the rest', async (t) => {
  // 3,000 packets, a 1.5 MB custom block (the reader's chunk doubles past a region's 1 MB), 3,000 more
  const le = true;
  const frames = Array.from({ length: 6000 }, (_, i) => ethernet(0x0800, ipv4({ src: `10.244.1.${1 + (i % 40)}`, dst: `10.244.2.${1 + (i % 9)}`, proto: 17 }, udp(1000 + (i % 300), 53))));
  const epb = (f: Uint8Array, i: number): Uint8Array => ngEpb(le, 0, BigInt(1_800_000_000_000_000 + i * 1000), f);
  const file = path.join(tmp, 'big-block.pcapng');
  writeFileSync(file, cat(ngShb(le), ngIdb(le, 1), ...frames.slice(0, 3000).map(epb), ngBlock(le, 0x00000bad, cat(new Uint8Array([0x00, 0x00, 0x7e, 0xc8]), new Uint8Array(1_500_000))), ...frames.slice(3000).map((f, i) => epb(f, 3000 + i))));
  const a = await run({}, file);
  const b = await run({ inPlace: false }, file);
  t.equal(a.n, 6000, 'every record');
  for (const col of RECORD_COLS) t.same([...a.out[col].subarray(0, 6000)], [...b.out[col].subarray(0, 6000)], col);
  const w = a.summary.workers[0]!;
  t.equal(a.summary.workerFailures, 0, 'no failure');
  t.ok(w.ringBatches > 0 && w.ringBatches < Math.ceil(6000 / 1024), `${w.ringBatches} batches from the ring, then tasks`);
  t.same(w.counters, b.summary.workers[0]?.counters, 'the same counters as the staged copy');
});

t.test('the ring starts before the first batch: a capture without records, and one whose first block is past a region', async (t) => {
  const empty = path.join(tmp, 'empty.pcap');
  const hdr = new Uint8Array(24);
  const dv = new DataView(hdr.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  writeFileSync(empty, hdr);
  const e = await run({}, empty);
  t.equal(e.n, 0, 'no records');
  t.equal(e.summary.workerFailures, 0, 'the ring stopped at its first entry, no failure');
  t.equal(e.summary.workers[0]?.ringBatches ?? 0, 0, 'no batch from the ring');
  // the first block is larger than a region: the ring stops at once, and tasks take every batch
  const le = true;
  const frames = Array.from({ length: 2000 }, (_, i) => ethernet(0x0800, ipv4({ src: `10.244.1.${1 + (i % 40)}`, dst: `10.244.2.${1 + (i % 9)}`, proto: 17 }, udp(1000 + (i % 300), 53))));
  const file = path.join(tmp, 'big-first.pcapng');
  writeFileSync(file, cat(ngShb(le), ngIdb(le, 1), ngBlock(le, 0x00000bad, cat(new Uint8Array([0x00, 0x00, 0x7e, 0xc8]), new Uint8Array(1_500_000))), ...frames.map((f, i) => ngEpb(le, 0, BigInt(1_800_000_000_000_000 + i * 1000), f))));
  const a = await run({}, file);
  const b = await run({ inPlace: false }, file);
  t.equal(a.n, 2000, 'every record');
  for (const col of RECORD_COLS) t.same([...a.out[col].subarray(0, 2000)], [...b.out[col].subarray(0, 2000)], col);
  t.equal(a.summary.workerFailures, 0, 'no failure');
  t.equal(a.summary.workers[0]?.ringBatches, 0, 'none from the ring');
});

t.test('pcapng with several sections and a big-endian nanosecond pcap: the same verdicts in place', async (t) => {
  const here = path.dirname(new URL(import.meta.url).pathname);
  for (const f of ['multi-section.pcapng', 'eth-be-nsec.pcap', 'lab.pcap']) {
    const file = path.resolve(here, '../../captures', f);
    const a = await run({}, file);
    const b = await run({ inPlace: false }, file);
    t.ok(a.n > 0 && a.n === b.n, `${f}: ${a.n} records`);
    for (const col of RECORD_COLS) t.same([...a.out[col].subarray(0, a.n)], [...b.out[col].subarray(0, b.n)], `${f}: ${col}`);
    t.ok((a.summary.workers[0]?.inPlaceBatches ?? 0) > 0, `${f}: classified in place`);
    t.equal(a.summary.workers[0]?.describedBatches, a.summary.workers[0]?.inPlaceBatches, `${f}: described`);
  }
});

/**
 * The counts of every record of `file` counted on the main thread, and split (sink.listed: the established packets
 * counted in the worker's module, the listed records on the main thread); batches and records of each kind.
 */
async function counted(file: string) {
  const full = new VerdictTally(true);
  let fullBatches = 0;
  await replay(file, snapshot, { workers: 1, batchSize: 1024 }, {
    batch({ records, verdicts }) {
      fullBatches++;
      full.add(records.buf, records.offsets, records.capLens, records.wireLens, records.linkTypes, verdicts, 0, verdicts.count);
    },
  });
  const split = new VerdictTally(true);
  let listedBatches = 0;
  let batchBatches = 0;
  let listedRecords = 0;
  let inModule = 0;
  let described = 0;
  const summary = await replay(file, snapshot, { workers: 1, batchSize: 1024 }, {
    batch({ records, verdicts }) {
      batchBatches++;
      split.add(records.buf, records.offsets, records.capLens, records.wireLens, records.linkTypes, verdicts, 0, verdicts.count);
    },
    listed({ records, verdicts, counts, list, desc }) {
      listedBatches++;
      listedRecords += list.length;
      inModule += counts.records;
      if (desc !== undefined) described++;
      for (let j = 1; j < list.length; j++) if (list[j]! <= list[j - 1]!) throw new Error('the list is not in batch order');
      split.merge(counts);
      // the dropped frames' flow keys from the descriptors (as replay-run's sink does)
      split.add(records.buf, records.offsets, records.capLens, records.wireLens, records.linkTypes, verdicts, 0, list.length, list, desc);
    },
  });
  return { full: full.take(), split: split.take(), fullBatches, listedBatches, batchBatches, listedRecords, inModule, described, summary };
}

t.test('1 worker, a sink that needs counts only: the module counts the established packets, the sink the listed rest', async (t) => {
  const batches = Math.ceil(20000 / 1024);
  const c = await counted(capture);
  t.equal(c.fullBatches, batches, 'a sink without `listed`: every batch through `batch`');
  t.equal(c.listedBatches, batches, `every batch in place through \`listed\` (${c.listedRecords} records listed, ${c.inModule} counted in the module)`);
  t.equal(c.batchBatches, 0, 'none through `batch`');
  t.ok(c.inModule > 10000 && c.listedRecords > 0 && c.inModule + c.listedRecords === 20000, 'most of the records counted in the module, the rest listed');
  t.same(c.split, c.full, 'the same counts: verdicts, reasons, bytes, flags and dropped flows');
  t.equal(c.described, batches, 'every listed batch with its descriptors (the dropped flows keyed from them)');
  t.ok(c.full.flows !== null && c.full.flows.counts.length > 10, `${c.full.flows?.counts.length} dropped flows`);
  t.equal(c.summary.forwarded + c.summary.dropped, 20000);
  t.equal(c.summary.forwarded, c.full.forwarded, 'the engine’s forwarded count, from the module’s counts and the listed verdicts');
  // inPlace: false (the engine's own memory): no list, every record through `batch`
  let staged = 0;
  await replay(capture, snapshot, { workers: 1, batchSize: 1024, inPlace: false }, {
    batch() {
      staged++;
    },
    listed() {
      throw new Error('a staged batch reached `listed`');
    },
  });
  t.equal(staged, batches, 'a batch not in the worker\'s memory goes through `batch`');
});

t.test('the split count of pcapng with several sections, a big-endian nanosecond pcap and the lab capture', async (t) => {
  const here = path.dirname(new URL(import.meta.url).pathname);
  for (const f of ['multi-section.pcapng', 'eth-be-nsec.pcap', 'lab.pcap']) {
    const c = await counted(path.resolve(here, '../../captures', f));
    t.ok(c.listedBatches > 0 && c.listedBatches + c.batchBatches === c.fullBatches, `${f}: ${c.listedBatches} of ${c.fullBatches} batches split`);
    t.ok(c.full.records > 0, `${f}: ${c.full.records} records`);
    t.same(c.split, c.full, `${f}: the same counts`);
  }
});
