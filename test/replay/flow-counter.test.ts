/** replay/flow-counter.ts: counts per ten-word key, against a Map of string keys; growth; the bound. */
import t from 'tap';
import { FlowCounter } from '../../src/replay/flow-counter.js';
import { Prng } from '../../src/gen/traffic.js';

function contents(c: FlowCounter): Map<string, number> {
  const m = new Map<string, number>();
  c.forEach((k, n) => m.set(k.join(','), n));
  return m;
}

t.test('counts like a Map of string keys, across many doublings', async (t) => {
  const c = new FlowCounter(1_000_000, 4);
  const ref = new Map<string, number>();
  const rng = new Prng(9);
  for (let i = 0; i < 60_000; i++) {
    // few distinct values per word, so keys repeat and differ in any one word; negative int32 words too
    const k = Array.from({ length: 10 }, (_, j) => (j === 0 ? 0x406 : (rng.below(7) - 3) * 0x3fffffff) | 0);
    // every other key in the shape of an IPv4 one (words 1-3 and 5-7 zero), which the hash takes a shorter way
    if (i % 2 === 0) for (const j of [1, 2, 3, 5, 6, 7]) k[j] = 0;
    c.add(k[0]!, k[1]!, k[2]!, k[3]!, k[4]!, k[5]!, k[6]!, k[7]!, k[8]!, k[9]!);
    const s = k.join(',');
    ref.set(s, (ref.get(s) ?? 0) + 1);
  }
  t.equal(c.size, ref.size, `${ref.size} distinct keys`);
  t.same(contents(c), ref, 'same counts');
  t.equal(c.overflow, 0);
});

t.test('bounded: new keys past the bound are counted as overflow, known keys still count', async (t) => {
  const c = new FlowCounter(3, 2);
  for (let i = 1; i <= 5; i++) c.add(i, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  c.add(1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  t.equal(c.size, 3);
  t.equal(c.overflow, 2);
  t.same(contents(c), new Map([['1,0,0,0,0,0,0,0,0,0', 2], ['2,0,0,0,0,0,0,0,0,0', 1], ['3,0,0,0,0,0,0,0,0,0', 1]]));
});

t.test('top(n): the keys of the n largest counts, ties at the cut included', async (t) => {
  const c = new FlowCounter(1000, 4);
  const counts = [5, 9, 9, 1, 7, 7, 7, 3];
  counts.forEach((n, k) => {
    for (let i = 0; i < n; i++) c.add(0x406, k, 0, 0, 0, 0, 0, 0, 0, 0);
  });
  const keysOf = (m: number) => c.top(m).map(([w, n]) => `${w[1]}:${n}`).sort();
  t.same(keysOf(1), ['1:9', '2:9'], 'both 9s');
  t.same(keysOf(2), ['1:9', '2:9']);
  t.same(keysOf(3), ['1:9', '2:9', '4:7', '5:7', '6:7'], 'the 7s tie at the cut');
  t.same(keysOf(100), counts.map((n, k) => `${k}:${n}`).sort(), 'all when fewer than n');
  t.same(c.top(0), []);
  t.same(new FlowCounter(10).top(3), []);
});

t.test('top(n) against a sort of every held key, also after take() and growth; largest counts first', async (t) => {
  const rng = new Prng(17);
  for (let round = 0; round < 40; round++) {
    const c = new FlowCounter(100_000, 4);
    const keys = 1 + rng.below(3000);
    // counts with many ties (a few values) or spread out
    const spread = 1 + rng.below(round % 2 === 0 ? 5 : 400);
    if (round % 5 === 4) {
      // a counter that handed its keys over (a worker's, each batch) counts again from empty
      for (let k = 0; k < 50; k++) c.add(0x411, k, 0, 0, 7, 0, 0, 0, 8, 53);
      t.equal(c.take().counts.length, 50);
      t.same(c.top(5), [], 'nothing after take()');
    }
    for (let k = 0; k < keys; k++) c.addCount(0x406, k, 0, 0, k * 3, 0, 0, 0, 11, 80, 1 + rng.below(spread));
    const held: Array<[number, number]> = [];
    c.forEach((w, n) => held.push([w[1]!, n]));
    const n = 1 + rng.below(20);
    const sortedCounts = held.map(([, x]) => x).sort((a, b) => b - a);
    const cut = sortedCounts[Math.min(n, sortedCounts.length) - 1]!;
    const want = held.filter(([, x]) => x >= cut).map(([k, x]) => `${k}:${x}`).sort();
    const got = c.top(n);
    t.same(got.map(([w, x]) => `${w[1]}:${x}`).sort(), want, `round ${round}: ${keys} keys, top ${n}`);
    t.ok(got.every((e, i) => i === 0 || got[i - 1]![1] >= e[1]), `round ${round}: largest counts first`);
  }
});
