// Hot-path contract: lookups, and the classifier per packet, allocate (almost) nothing. Measured over 3M operations after warm-up (so the JIT has
// optimised the code): any per-op allocation of even 16 bytes would be 48 MB, several scavenges of the young
// generation; one stray GC (the runtime's own timers, JIT, the test runner under load) is tolerated, and the heap must
// not grow.
import t from 'tap';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Conntrack, CtResult } from '../../src/datapath/conntrack.js';
import { VerdictCache } from '../../src/datapath/verdict-cache.js';
import { FragmentTable } from '../../src/datapath/fragments.js';
import { LpmTable } from '../../src/datapath/lpm.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { F, S, UDP, key, tcp } from './helpers.js';

const N = 3_000_000;

// a full collection before each measurement, so that a collection of earlier garbage (the set-up, the previous
// measurement, a marking cycle the runner started) does not fall inside it; per-operation allocation still shows
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

async function measureOnce(fn: (n: number) => number): Promise<{ gcs: number; grown: number; sink: number }> {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  fullGc();
  await new Promise((r) => setTimeout(r, 10));
  gcs = 0;
  const before = process.memoryUsage().heapUsed;
  const sink = fn(N);
  const after = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 10));
  obs.disconnect();
  return { gcs, grown: after - before, sink };
}

/**
 * Up to three measurements, the first clean one wins. The contract is about the optimised code: V8 optimises on
 * background threads, and under a loaded test run the optimised code can arrive after the warm-up, so that a whole
 * measurement runs in the interpreter (which boxes doubles). Code that allocates per operation fails every attempt.
 */
async function measure(fn: (n: number) => number): Promise<{ gcs: number; grown: number; sink: number }> {
  fn(200_000); // warm-up / optimisation
  let r = await measureOnce(fn);
  for (let attempt = 1; attempt < 3 && !(r.gcs <= 1 && r.grown < 1024 * 1024); attempt++) r = await measureOnce(fn);
  return r;
}

function check(t: { ok(c: boolean, m: string): unknown }, name: string, r: { gcs: number; grown: number }) {
  // 3M allocations of even 16 B would be 48 MB: several scavenges. JIT code and feedback can add a few hundred KB.
  t.ok(r.gcs <= 1 && r.grown < 1024 * 1024, `${name}: ${N / 1e6}M ops, GCs=${r.gcs}, heap growth=${r.grown} B`);
}

t.test('conntrack lookup/track hit and miss allocate nothing', async (t) => {
  const ct = new Conntrack({ tcpMax: 4096, anyMax: 4096 });
  const keys: FlowKey[] = [];
  for (let i = 0; i < 1024; i++) {
    const k = tcp('10.0.0.1', 1000 + i, '10.0.0.2', 80, F.SYN);
    ct.create(k, S, 1, 1);
    keys.push(tcp('10.0.0.1', 1000 + i, '10.0.0.2', 80, F.ACK));
  }
  const miss = tcp('10.0.0.9', 1, '10.0.0.2', 80, F.SYN);
  t.equal(ct.lookup(keys[0]!, S), CtResult.ORIGINAL);
  check(
    t,
    'ct hit',
    await measure((n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        ct.timeNs = S + i; // a field store: the time is not passed as a (boxable) double argument
        s += ct.track(keys[i & 1023]!, undefined, 60);
      }
      return s;
    }),
  );
  check(
    t,
    'ct miss',
    await measure((n) => {
      let s = 0;
      // the time is computed once: a double computed per call and passed to a call that is not inlined is boxed by
      // the caller (the test's allocation, not the table's) unless the JIT has folded it to a constant yet
      const now = 100 * S;
      for (let i = 0; i < n; i++) s += ct.lookup(miss, now);
      return s;
    }),
  );
  // create + evict churn
  const u = key({ proto: UDP, src: '10.1.0.0', dst: '10.0.0.2', sport: 1, dport: 53 });
  check(
    t,
    'ct create/evict',
    await measure((n) => {
      const now = 3e6 * S; // computed once (see 'ct miss')
      for (let i = 0; i < n; i++) {
        u.src3 = (0x0a010000 + i) >>> 0;
        ct.create(u, now, 1, 1);
      }
      return ct.size;
    }),
  );
});

t.test('verdict cache, fragments and LPM lookups allocate nothing', async (t) => {
  const vc = new VerdictCache(4096);
  for (let i = 0; i < 1024; i++) vc.insert(1, 0, i, 6, 80, 1, 1, i);
  check(
    t,
    'verdict cache hit/miss',
    await measure((n) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += vc.lookup(1, 0, i & 2047, 6, 80, 1);
      return s;
    }),
  );
  const ft = new FragmentTable();
  ft.insertFirst(key({ proto: UDP, src: '10.0.0.1', dst: '10.0.0.2', frag: 1, fragId: 7 }), S, 1, 0, 0);
  const fk = key({ proto: UDP, src: '10.0.0.1', dst: '10.0.0.2', frag: 2, fragId: 7 });
  check(
    t,
    'fragments lookup',
    await measure((n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        ft.timeNs = S + i;
        s += ft.lookup(fk);
      }
      return s;
    }),
  );
  const k6 = key({ proto: UDP, src: 'fd00::1', dst: 'fd00::7' });
  const k4 = key({ proto: UDP, src: '10.0.0.1', dst: '192.168.0.1' });
  const lpm = LpmTable.fromCidrs([['192.168.0.0/16', 9], ['10.0.0.0/8', 3], ['10.244.0.0/16', 4], ['10.244.1.7/32', 5], ['fd00::/8', 6], ['fd00::7/128', 7]], { defaultValue: 2 });
  check(
    t,
    'lpm lookup',
    await measure((n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        k6.dst3 = i & 15;
        k4.dst3 = 0xc0a80000 + (i & 0xffff); // >= 2^31: read from the key, never passed as an argument
        s += lpm.lookup(4, 0, 0, 0, 0x0af40000 + (i & 0xffff)) + lpm.lookupDst(k6) + lpm.lookupDst(k4);
      }
      return s;
    }),
  );
});

t.test('the classifier allocates nothing per packet (WebAssembly fast path, general path, shards computed by it)', async (t) => {
  const { buildCluster } = await import('../../src/cluster/build.js');
  const { Classifier, VerdictBatch } = await import('../../src/datapath/classify.js');
  const { loadManifests } = await import('../../src/manifests/index.js');
  const { labFiles } = await import('../../src/lab/lab.js');
  const { captureBatches, snapshotOf } = await import('./traffic.js');
  const lab = buildCluster((await loadManifests(labFiles(), {})).objects, {}).cluster;
  const batches = await captureBatches(lab, { packets: 40_000, flows: 2_000, seed: 21, externalShare: 0.2 }, 4096);
  const snap = snapshotOf(lab, false, 1);
  for (const [name, wasm, workers] of [
    ['WebAssembly, one shard', true, 1],
    ['WebAssembly, shard 0 of 2 computed by the classifier', true, 2],
    ['TypeScript, one shard', false, 1],
  ] as const) {
    const c = new Classifier(snap, { conntrack: { wasm } });
    const out = new VerdictBatch(4096);
    let sec = 0;
    const r = await measure((n) => {
        let s = 0;
        for (let done = 0; done < n; ) {
          for (const b of batches) {
            // later replays of the capture come later in time (a clock that only steps back would count regressions)
            if (sec !== 0) for (let i = 0; i < b.count; i++) b.tsSec[i]! += 1000;
            s += c.classifyRecords(b.buf, b.count, b.offsets, b.capLens, b.wireLens, b.linkTypes, b.tsSec, b.tsNsec, out, 0, null, 0, workers);
            done += b.count;
          }
          sec++;
        }
        return s;
      });
    // per chunk of 4,096 records the copies into and out of the module take a few typed-array views (~2 KB); per
    // packet nothing: an allocation of even 16 bytes a packet would be 48 MB here
    t.ok(r.gcs <= 1 && r.grown < N, `${name}: ${N / 1e6}M packets, GCs=${r.gcs}, heap growth=${r.grown} B (< 1 B a packet)`);
  }
});
