import t from 'tap';
import fc from 'fast-check';
import { pairHash, tupleHash, flowPairHash, flowTupleHash, hashToIndex } from '../../src/datapath/flow-hash.js';
import { tcp, words } from './helpers.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

t.test('pairHash is symmetric and 32-bit', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(4, 6), fc.array(u32, { minLength: 8, maxLength: 8 }), (fam, w) => {
      const a = pairHash(fam, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!, w[7]!);
      const b = pairHash(fam, w[4]!, w[5]!, w[6]!, w[7]!, w[0]!, w[1]!, w[2]!, w[3]!);
      return a === b && a >>> 0 === a;
    }),
  );
  const k1 = tcp('10.0.0.1', 1000, '10.0.0.2', 80, 2);
  const k2 = tcp('10.0.0.2', 80, '10.0.0.1', 1000, 18);
  t.equal(flowPairHash(k1), flowPairHash(k2), 'both directions of a flow shard together');
  t.not(pairHash(4, 0, 0, 0, 1, 0, 0, 0, 1), 0, 'a == b does not collapse to 0');
});

t.test('tupleHash is direction-sensitive and deterministic', async (t) => {
  const k1 = tcp('10.0.0.1', 1000, '10.0.0.2', 80, 2);
  const k2 = tcp('10.0.0.2', 80, '10.0.0.1', 1000, 18);
  t.not(flowTupleHash(k1), flowTupleHash(k2));
  t.equal(flowTupleHash(k1), flowTupleHash(tcp('10.0.0.1', 1000, '10.0.0.2', 80, 16)), 'flags are not part of the tuple');
  // pinned value: the hash must not change between runs/platforms (shard assignment, replay determinism)
  const [a0, a1, a2, a3] = words('10.0.0.1');
  const [b0, b1, b2, b3] = words('10.0.0.2');
  t.equal(tupleHash(4, 6, a0, a1, a2, a3, b0, b1, b2, b3, (1000 << 16) | 80), flowTupleHash(k1));
  t.equal(flowTupleHash(k1), 722950873, 'pinned tuple hash');
  t.equal(pairHash(4, a0, a1, a2, a3, b0, b1, b2, b3), 288017056, 'pinned pair hash');
});

t.test('hashes spread over worker/slot indexes', async (t) => {
  const buckets = new Uint32Array(8);
  for (let i = 0; i < 80000; i++) buckets[hashToIndex(pairHash(4, 0, 0, 0, 0x0a000000 + i, 0, 0, 0, 0x0a010000 + (i % 7)), 8)]!++;
  for (const b of buckets) t.ok(b > 9000 && b < 11000, `bucket ${b} near 10000`);
  const slots = new Uint32Array(1024);
  for (let i = 0; i < 102400; i++) slots[tupleHash(4, 6, 0, 0, 0, 0x0a000001, 0, 0, 0, 0x0a000002, ((1024 + i) << 16) | 80) & 1023]!++;
  let max = 0;
  for (const s of slots) max = Math.max(max, s);
  t.ok(max < 170, `max slot load ${max} (mean 100) for sequential source ports`);
  // shards are `hash % workers`: pod-to-pod pairs in one /16 spread evenly over 2 and 3 workers
  for (const w of [2, 3]) {
    const shards = new Uint32Array(w);
    for (let i = 0; i < 60000; i++) shards[pairHash(4, 0, 0, 0, 0x0af40000 + (i % 251) * 256 + (i % 7), 0, 0, 0, 0x0af40000 + ((i * 13) % 509))! % w]!++;
    for (const s of shards) t.ok(Math.abs(s - 60000 / w) < 60000 / w / 10, `shard load ${s} of ${60000 / w} (${w} workers)`);
  }
});

t.test('IPv6 addresses differing in any word, or with words swapped, hash apart', async (t) => {
  fc.assert(
    fc.property(fc.array(u32, { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 0xffffffff }), (w, i, x) => {
      const v = [...w];
      v[i] = (v[i]! ^ x) >>> 0;
      const d = [0x20010db8, 0, 0, 1];
      return tupleHash(6, 6, w[0]!, w[1]!, w[2]!, w[3]!, d[0]!, d[1]!, d[2]!, d[3]!, 80) !== tupleHash(6, 6, v[0]!, v[1]!, v[2]!, v[3]!, d[0]!, d[1]!, d[2]!, d[3]!, 80);
    }),
  );
  t.not(tupleHash(6, 17, 1, 2, 0, 0, 3, 0, 0, 0, 53), tupleHash(6, 17, 2, 1, 0, 0, 3, 0, 0, 0, 53), 'swapped words');
});
