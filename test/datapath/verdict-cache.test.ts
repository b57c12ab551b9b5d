import t from 'tap';
import fc from 'fast-check';
import { VerdictCache, VC_MISS, VC_STALE, VcDir, vcKeyToString, vcKeyWord } from '../../src/datapath/verdict-cache.js';

t.test('hit, miss, stale by revision', async (t) => {
  const vc = new VerdictCache(16);
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 80, 1), VC_MISS);
  vc.insert(1, VcDir.INGRESS, 23456, 6, 80, 1, 2, 77);
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 80, 1), 2);
  t.equal(vc.ruleRef, 77);
  t.equal(vc.lookup(1, VcDir.EGRESS, 23456, 6, 80, 1), VC_MISS, 'direction is part of the key');
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 17, 80, 1), VC_MISS, 'protocol is part of the key');
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 81, 1), VC_MISS, 'port is part of the key');
  t.equal(vc.lookup(2, VcDir.INGRESS, 23456, 6, 80, 1), VC_MISS, 'endpoint is part of the key');
  t.equal(vc.lookup(1, VcDir.INGRESS, 23457, 6, 80, 1), VC_MISS, 'identity is part of the key');
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 80, 2), VC_STALE, 'entry of revision 1 is never used under revision 2');
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 80, 0), VC_STALE, 'nor under an older one');
  vc.insert(1, VcDir.INGRESS, 23456, 6, 80, 2, 1, 5);
  t.equal(vc.lookup(1, VcDir.INGRESS, 23456, 6, 80, 2), 1, 'recomputed entry replaces the stale one in place');
  t.equal(vc.entries, 1);
  t.same(vc.stats(), { capacity: 16, entries: 1, hits: 2, misses: 6, stale: 2, inserts: 2, evictions: 0 });
  vc.insert(0xffffffff, VcDir.EGRESS, 0xfffffffe, 255, 65535, 0xffffffff, 255, 0xffffffff);
  t.equal(vc.lookup(0xffffffff, VcDir.EGRESS, 0xfffffffe, 255, 65535, 0xffffffff), 255, 'full u32/u16/u8 ranges');
  t.equal(vc.ruleRef, 0xffffffff);
  t.equal(vcKeyToString(12, VcDir.INGRESS, 23456, 6, 80), 'Endpoint=12,Direction=Ingress,Identity=23456,Nexthdr=6,DestPort=80');
  t.equal(vcKeyWord(1, 6, 80), (1 << 24) + (6 << 16) + 80);
});

t.test('CLOCK eviction: second chance, stale first', async (t) => {
  const vc = new VerdictCache(4);
  for (let i = 0; i < 4; i++) vc.insert(1, 0, 100 + i, 6, 80, 1, 1, i);
  vc.lookup(1, 0, 100, 6, 80, 1);
  vc.lookup(1, 0, 101, 6, 80, 1);
  vc.insert(1, 0, 200, 6, 80, 1, 1, 9);
  t.equal(vc.evictions, 1);
  t.equal(vc.entries, 4, 'bounded');
  t.equal(vc.lookup(1, 0, 102, 6, 80, 1), VC_MISS, 'first unreferenced entry evicted');
  t.equal(vc.lookup(1, 0, 100, 6, 80, 1), 1, 'referenced entries got a second chance');
  t.equal(vc.lookup(1, 0, 101, 6, 80, 1), 1);
  t.equal(vc.lookup(1, 0, 200, 6, 80, 1), 1);
  // under a new revision, stale entries are evicted before referenced current ones
  vc.insert(1, 0, 300, 6, 80, 2, 1, 9); // evicts 103 (unreferenced)
  vc.insert(1, 0, 101, 6, 80, 2, 1, 9); // refresh 101 under rev 2
  vc.lookup(1, 0, 101, 6, 80, 2);
  vc.lookup(1, 0, 300, 6, 80, 2);
  vc.insert(1, 0, 400, 6, 80, 2, 1, 9);
  t.equal(vc.lookup(1, 0, 101, 6, 80, 2), 1, 'referenced current entry kept');
  t.equal(vc.lookup(1, 0, 300, 6, 80, 2), 1);
  t.equal(vc.lookup(1, 0, 400, 6, 80, 2), 1);
  t.equal(vc.evictions, 3);
});

t.test('behaves like a Map when it does not evict (property)', async (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom('get', 'put'),
          ep: fc.integer({ min: 0, max: 3 }),
          dir: fc.integer({ min: 0, max: 1 }),
          id: fc.integer({ min: 0, max: 5 }),
          port: fc.constantFrom(53, 80, 443),
          rev: fc.integer({ min: 1, max: 3 }),
          v: fc.integer({ min: 0, max: 3 }),
        }),
        { maxLength: 300 },
      ),
      (ops) => {
        const vc = new VerdictCache(1024);
        const ref = new Map<string, { v: number; rev: number; rule: number }>();
        for (const o of ops) {
          const k = `${o.ep}/${o.dir}/${o.id}/${o.port}`;
          if (o.op === 'put') {
            vc.insert(o.ep, o.dir, o.id, 6, o.port, o.rev, o.v, o.v * 10);
            ref.set(k, { v: o.v, rev: o.rev, rule: o.v * 10 });
          } else {
            const got = vc.lookup(o.ep, o.dir, o.id, 6, o.port, o.rev);
            const want = ref.get(k);
            const exp = want === undefined ? VC_MISS : want.rev !== o.rev ? VC_STALE : want.v;
            if (got !== exp) return false;
            if (got >= 0 && vc.ruleRef !== want!.rule) return false;
          }
        }
        return true;
      },
    ),
  );
  t.pass('matches the reference model');
});

t.test('bounded under churn', async (t) => {
  const vc = new VerdictCache(1000);
  let wrong = 0;
  for (let i = 0; i < 200_000; i++) {
    const id = (i * 7919) % 50_000;
    if (vc.lookup(1, 0, id, 6, 80, 1) < 0) vc.insert(1, 0, id, 6, 80, 1, 1, id);
    else if (vc.ruleRef !== id) wrong++;
  }
  t.equal(wrong, 0, 'hits return their own rule');
  t.equal(vc.entries, 1000);
  t.equal(vc.evictions, vc.inserts - 1000);
  t.throws(() => new VerdictCache(0));
});
