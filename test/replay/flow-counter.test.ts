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
