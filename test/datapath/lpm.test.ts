import t from 'tap';
import fc from 'fast-check';
import { LpmTable, type LpmEntry } from '../../src/datapath/lpm.js';
import { words } from './helpers.js';

function maskWord(w: number, len: number, i: number): number {
  const b = len - 32 * i;
  if (b <= 0) return 0;
  if (b >= 32) return w >>> 0;
  return (w & ((0xffffffff << (32 - b)) >>> 0)) >>> 0;
}

/** Brute force: longest prefix containing the address; among equal prefixes the last entry wins. */
function brute(entries: readonly LpmEntry[], def: number, fam: 4 | 6, a: readonly number[]): number {
  let best = -1;
  let val = def;
  for (const e of entries) {
    if (e.family !== fam || e.prefixLen < best) continue;
    const ew = [e.w0, e.w1, e.w2, e.w3];
    let ok = true;
    if (fam === 4) ok = maskWord(a[3]!, e.prefixLen, 0) === maskWord(e.w3, e.prefixLen, 0);
    else for (let i = 0; i < 4 && ok; i++) ok = maskWord(a[i]!, e.prefixLen, i) === maskWord(ew[i]!, e.prefixLen, i);
    if (ok) {
      best = e.prefixLen;
      val = e.value >>> 0;
    }
  }
  return val;
}

t.test('examples', async (t) => {
  const lpm = LpmTable.fromCidrs(
    [
      ['0.0.0.0/0', 2],
      ['10.0.0.0/8', 3],
      ['10.244.0.0/16', 4],
      ['10.244.1.7/32', 23456],
      ['10.244.1.0/24', 5],
      ['::/0', 2],
      ['fd00::/8', 6],
      ['fd00:10:244::/48', 7],
      ['fd00:10:244::7/128', 8],
    ],
    { defaultValue: 99 },
  );
  const look = (ip: string) => {
    const w = words(ip);
    return lpm.lookup(ip.includes(':') ? 6 : 4, w[0], w[1], w[2], w[3]);
  };
  t.equal(look('10.244.1.7'), 23456);
  t.equal(lpm.lastPrefixLen, 32);
  t.equal(look('10.244.1.8'), 5);
  t.equal(look('10.244.2.8'), 4);
  t.equal(look('10.1.2.3'), 3);
  t.equal(look('8.8.8.8'), 2);
  t.equal(lpm.lastPrefixLen, 0);
  t.equal(look('fd00:10:244::7'), 8);
  t.equal(look('fd00:10:244::8'), 7);
  t.equal(look('fd00:11::1'), 6);
  t.equal(look('2001:db8::1'), 2);
  t.equal(lpm.lookup(0, 0, 0, 0, 0), 99, 'unknown family: default');
  t.equal(lpm.lastPrefixLen, -1);
  t.same(lpm.prefixLengths(4), [32, 24, 16, 8, 0]);
  const none = LpmTable.fromCidrs([['10.0.0.0/8', 1]], { defaultValue: 42 });
  t.equal(none.lookup(4, 0, 0, 0, 0x0b000000), 42, 'no match: default');
  t.equal(none.lookup(6, 0, 0, 0, 0x0a000000), 42, 'no cross-family match');
  t.throws(() => LpmTable.fromCidrs([['10.0.0.0/33', 1]]));
  t.throws(() => LpmTable.build([{ family: 4, w0: 0, w1: 0, w2: 0, w3: 0, prefixLen: 40, value: 1 }]));
});

t.test('shared buffer: attach without copying', async (t) => {
  const lpm = LpmTable.fromCidrs([['10.0.0.0/8', 3], ['10.1.0.0/16', 4]], { defaultValue: 1 });
  t.ok(lpm.buffer instanceof SharedArrayBuffer);
  const view = LpmTable.fromBuffers(lpm.buffer);
  t.equal(view.lookup(4, 0, 0, 0, 0x0a010203), 4);
  t.equal(view.defaultValue, 1);
  t.equal(view.size, 2);
  t.throws(() => LpmTable.fromBuffers(new ArrayBuffer(64)), /not an LPM/);
  const plain = LpmTable.fromCidrs([['10.0.0.0/8', 3]], { shared: false });
  t.notOk(plain.buffer instanceof SharedArrayBuffer);
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** [short-prefix hits, long-prefix hits]: the generator must exercise both */
const matched = [0, 0];

function prop(fam: 4 | 6) {
  const maxLen = fam === 4 ? 32 : 128;
  // few distinct "network" seeds so prefixes nest and overlap
  const entry = fc.record({
    seed: fc.integer({ min: 0, max: 3 }),
    w: fc.array(u32, { minLength: 4, maxLength: 4 }),
    prefixLen: fc.integer({ min: 0, max: maxLen }),
    value: u32,
  });
  return fc.property(
    fc.array(entry, { maxLength: 60 }),
    fc.array(fc.record({ seed: fc.integer({ min: 0, max: 4 }), w: fc.array(u32, { minLength: 4, maxLength: 4 }), keep: fc.integer({ min: 0, max: maxLen }), pick: fc.integer({ min: 0, max: 40 }), extra: fc.integer({ min: 0, max: 8 }) }), {
      minLength: 1,
      maxLength: 40,
    }),
    u32,
    fc.array(fc.array(u32, { minLength: 4, maxLength: 4 }), { minLength: 5, maxLength: 5 }),
    (raw, addrs, def, seeds) => {
      // entries: seed network with random low bits (shared high bits ⇒ nesting)
      const mix = (s: readonly number[], w: readonly number[], keep: number) => [0, 1, 2, 3].map((i) => (maskWord(s[i]!, keep + (fam === 4 ? 96 : 0), i) | (w[i]! & ~maskWord(0xffffffff, keep + (fam === 4 ? 96 : 0), i))) >>> 0);
      const entries: LpmEntry[] = raw.map((r) => {
        const w = mix(seeds[r.seed]!, r.w, Math.max(0, r.prefixLen - 4));
        return { family: fam, w0: fam === 4 ? 0 : w[0]!, w1: fam === 4 ? 0 : w[1]!, w2: fam === 4 ? 0 : w[2]!, w3: w[3]!, prefixLen: r.prefixLen, value: r.value };
      });
      const lpm = LpmTable.build(entries, { defaultValue: def });
      for (const a of addrs) {
        // half of the addresses fall inside a chosen entry (random bits below its prefix), the rest anywhere
        const e = entries[a.pick];
        const w = e ? mix([e.w0, e.w1, e.w2, e.w3], a.w, Math.min(maxLen, e.prefixLen + a.extra)) : mix(seeds[a.seed]!, a.w, a.keep);
        const addr = fam === 4 ? [0, 0, 0, w[3]!] : w;
        const got = lpm.lookup(fam, addr[0]!, addr[1]!, addr[2]!, addr[3]!);
        if (got !== brute(entries, def >>> 0, fam, addr)) return false;
        if (lpm.lastPrefixLen > 0) matched[lpm.lastPrefixLen > maxLen / 2 ? 1 : 0]!++;
      }
      return true;
    },
  );
}

t.test('IPv4 LPM ≡ brute force (property)', async (t) => {
  matched[0] = matched[1] = 0;
  fc.assert(prop(4), { numRuns: 300 });
  t.ok(matched[0]! > 30 && matched[1]! > 30, `non-trivial matches: ${matched.join('/')}`);
});

t.test('IPv6 LPM ≡ brute force (property)', async (t) => {
  matched[0] = matched[1] = 0;
  fc.assert(prop(6), { numRuns: 300 });
  t.ok(matched[0]! > 30 && matched[1]! > 30, `non-trivial matches: ${matched.join('/')}`);
});
