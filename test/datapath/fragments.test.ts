import t from 'tap';
import { FragmentTable, FragResult } from '../../src/datapath/fragments.js';
import { S, UDP, key } from './helpers.js';

const T0 = 500 * S;
const f4 = (id: number, frag: number, proto = UDP, src = '10.0.0.1') => key({ proto, src, dst: '10.0.0.2', sport: 5000, dport: 53, frag, fragId: id });
const f6 = (id: number, frag: number, proto = UDP) => key({ proto, src: 'fd00::1', dst: 'fd00::2', sport: 5000, dport: 53, frag, fragId: id });

t.test('first fragment decides, later fragments reuse', async (t) => {
  const ft = new FragmentTable({ capacity: 16 });
  t.equal(ft.lookup(f4(1, 2), T0), FragResult.MISS, 'non-first fragment without entry: MISS (caller drops, FRAG_NOT_FOUND)');
  ft.insertFirst(f4(1, 1), T0, 2, 123, 45);
  const later = f4(1, 2);
  later.sport = later.dport = 0; // later fragments carry no L4 header
  t.equal(ft.lookup(later, T0 + S), FragResult.HIT);
  t.equal(ft.verdict, 2);
  t.equal(ft.ctSlot, 123);
  t.equal(ft.ruleRef, 45);
  t.equal(ft.sport, 5000, 'ports of the first fragment');
  t.equal(ft.dport, 53);
  t.equal(ft.firstFragmentNs, T0);
  t.equal(ft.lookup(f4(2, 2), T0), FragResult.MISS, 'other id');
  t.equal(ft.lookup(f4(1, 2, 6), T0), FragResult.MISS, 'IPv4: protocol is part of the key');
  t.equal(ft.lookup(f4(1, 2, UDP, '10.0.0.9'), T0), FragResult.MISS, 'source is part of the key');
  ft.insertFirst(f6(0x12345678, 1), T0, 1, 7, 8);
  t.equal(ft.lookup(f6(0x12345678, 2, 0), T0), FragResult.HIT, 'IPv6: next header is not part of the key');
  t.equal(ft.lookup(f6(0x12345679, 2), T0), FragResult.MISS);
  t.ok(ft.delete(f4(1, 2)));
  t.equal(ft.lookup(f4(1, 2), T0), FragResult.MISS, 'deleted');
  t.notOk(ft.delete(f4(1, 2)));
});

t.test('timeouts: IPv4 30 s, IPv6 60 s', async (t) => {
  const ft = new FragmentTable();
  ft.insertFirst(f4(1, 1), T0, 1, 0, 0);
  ft.insertFirst(f6(1, 1), T0, 1, 0, 0);
  t.equal(ft.lookup(f4(1, 2), T0 + 30 * S - 1), FragResult.HIT, 'IPv4 just below 30 s');
  t.equal(ft.lookup(f4(1, 2), T0 + 30 * S), FragResult.MISS, 'IPv4 at 30 s');
  t.equal(ft.lookup(f6(1, 2), T0 + 60 * S - 1), FragResult.HIT, 'IPv6 just below 60 s');
  t.equal(ft.lookup(f6(1, 2), T0 + 60 * S), FragResult.MISS, 'IPv6 at 60 s');
  t.equal(ft.expired, 2);
  t.equal(ft.entries, 0);
  // sweep from the oldest end
  for (let i = 0; i < 10; i++) ft.insertFirst(f4(100 + i, 1), T0 + i * S, 1, 0, 0);
  t.equal(ft.sweep(T0 + 35 * S, 100), 6, 'ids inserted at 0..5 s expired by 35 s');
  t.equal(ft.entries, 4);
});

t.test('full table evicts the oldest datagram', async (t) => {
  const ft = new FragmentTable({ capacity: 4 });
  for (let i = 0; i < 4; i++) ft.insertFirst(f4(i, 1), T0 + i, 1, i, 0);
  ft.insertFirst(f4(0, 1), T0 + 10, 1, 0, 0); // a repeated first fragment refreshes 0 (now newest)
  ft.insertFirst(f4(9, 1), T0 + 11, 1, 9, 0);
  t.equal(ft.evictions, 1);
  t.equal(ft.entries, 4);
  t.equal(ft.lookup(f4(1, 2), T0 + 12), FragResult.MISS, 'oldest (1) evicted ⇒ its later fragments drop');
  for (const id of [0, 2, 3, 9]) t.equal(ft.lookup(f4(id, 2), T0 + 12), FragResult.HIT, `${id} kept`);
  // flood
  for (let i = 0; i < 100_000; i++) ft.insertFirst(f4(1000 + i, 1), T0 + 100 + i, 1, 0, 0);
  t.equal(ft.entries, 4);
  t.equal(ft.lookup(f4(1000 + 99_999, 2), T0 + 200_000), FragResult.HIT, 'newest kept');
  t.same(ft.stats().capacity, 4);
  t.throws(() => new FragmentTable({ capacity: 0 }));
});
