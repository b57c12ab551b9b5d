import t from 'tap';
import { Conntrack, CtResult, CtInvalid, CtDir, CtNat, CtFlag, CtTable, SctpState, UdpState, IcmpState } from '../../src/datapath/conntrack.js';
import { ctTimeoutsWith } from '../../src/datapath/ct-timeouts.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { FastCore } from '../../src/datapath/wasm-core.js';
import { F, ICMP, ICMPV6, S, SCTP, UDP, key, tcp, words } from './helpers.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const R = '192.168.1.254';
const T0 = 1000 * S;
const small = () => new Conntrack({ tcpMax: 64, anyMax: 64 });
const udp = (src: string, sport: number, dst: string, dport: number) => key({ proto: UDP, src, dst, sport, dport });
const icmp = (src: string, dst: string, type: number, id: number) =>
  key({ proto: src.includes(':') ? ICMPV6 : ICMP, src, dst, icmpType: type, sport: id });

t.test('UDP: unreplied 30 s, assured stream 120 s', async (t) => {
  const ct = small();
  const k = udp(A, 5000, B, 53);
  t.equal(ct.lookup(k, T0), CtResult.MISS);
  const slot = ct.create(k, T0, 1, 1);
  t.equal(ct.stateOf(slot), UdpState.UNREPLIED);
  t.notOk(ct.isAssured(slot));
  t.equal(ct.lookup(k, T0 + 30 * S - 1), CtResult.ORIGINAL, 'alive just below 30 s');
  t.equal(ct.lookup(k, T0 + 30 * S), CtResult.MISS, 'expired at 30 s');
  const s2 = ct.create(k, T0 + 30 * S, 1, 1);
  t.equal(ct.track(udp(B, 53, A, 5000), T0 + 31 * S, 100), CtResult.REPLY);
  t.equal(ct.stateOf(s2), UdpState.STREAM);
  t.ok(ct.isAssured(s2), 'assured once both directions were seen');
  t.equal(ct.lookup(k, T0 + 151 * S - 1), CtResult.ORIGINAL, 'alive just below 120 s after the last packet');
  t.equal(ct.lookup(k, T0 + 151 * S), CtResult.MISS, 'expired at 120 s');
  t.equal(ct.lookup(udp(A, 5001, B, 53), T0), CtResult.MISS, 'clock stays: other tuple misses');
});

t.test('ICMP echo: only a reply from dst back to src matches', async (t) => {
  for (const [fam, a, b, req, rep, proto] of [
    [4, A, B, 8, 0, ICMP],
    [6, 'fd00::1', 'fd00::2', 128, 129, ICMPV6],
  ] as const) {
    const ct = small();
    const k = icmp(a, b, req, 77);
    t.equal(ct.lookup(k, T0), CtResult.MISS);
    const slot = ct.create(k, T0, 1, 1);
    t.equal(ct.lookup(icmp(b, a, rep, 77), T0), CtResult.REPLY, `IPv${fam} echo reply is a reply`);
    t.equal(ct.lookup(icmp(b, a, req, 77), T0), CtResult.MISS, `IPv${fam} echo REQUEST B→A does not match A→B's entry (GHSA-c66w-hq56-4q97)`);
    t.equal(ct.lookup(icmp(b, a, rep, 78), T0), CtResult.MISS, 'other id misses');
    t.equal(ct.lookup(icmp(a, b, rep, 77), T0), CtResult.MISS, 'a reply in the request direction misses');
    t.equal(ct.lookup(k, T0), CtResult.ORIGINAL, 'next request of the same id is ORIGINAL');
    // B→A request gets its own entry without disturbing A→B's
    const s2 = ct.create(icmp(b, a, req, 77), T0, 2, 1);
    t.not(s2, slot);
    t.equal(ct.lookup(icmp(b, a, rep, 77), T0), CtResult.REPLY);
    t.equal(ct.slot, slot);
    t.equal(ct.lookup(icmp(a, b, rep, 77), T0), CtResult.REPLY);
    t.equal(ct.slot, s2);
    t.equal(ct.track(icmp(b, a, rep, 77), T0, 84), CtResult.REPLY);
    t.equal(ct.stateOf(slot), IcmpState.REPLIED);
    t.equal(ct.lookup(k, T0 + 30 * S - 1), CtResult.ORIGINAL, 'alive below 30 s');
    t.equal(ct.lookup(k, T0 + 30 * S), CtResult.MISS, 'expired at 30 s');
    void proto;
  }
  const ct = small();
  ct.create(icmp(B, A, 0, 9), T0, 1, 1);
  t.equal(ct.lookup(icmp(A, B, 8, 9), T0), CtResult.MISS, 'an entry for an unsolicited reply has no reply tuple');
  ct.create(icmp(B, A, 0, 10), T0, 1, 1, 0, 0, null, true);
  t.equal(ct.lookup(icmp(A, B, 8, 10), T0), CtResult.ORIGINAL, 'reversed pickup of a reply records the request');
});

t.test('ICMP errors: RELATED, direction-aware', async (t) => {
  const ct = small();
  const flow = tcp(A, 40000, B, 80, F.SYN);
  const slot = ct.create(flow, T0, 1, 3);
  ct.track(tcp(B, 80, A, 40000, F.SYN | F.ACK), T0, 60);
  const outer = new FlowKey();
  const inner = new FlowKey();
  // frag-needed from a router to A, quoting A → B
  key({ proto: ICMP, src: R, dst: A, icmpType: 3, icmpCode: 4 }, outer);
  tcp(A, 40000, B, 80, F.ACK, inner);
  t.equal(ct.lookup(outer, T0), CtResult.INVALID, 'lookup() refuses an ICMP error');
  t.equal(ct.invalidReason, CtInvalid.ICMP_ERROR);
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.RELATED);
  t.equal(ct.slot, slot);
  t.equal(ct.dir, CtDir.REPLY, 'error about the original direction travels in the reply direction');
  // error to B quoting B → A (a reply packet)
  key({ proto: ICMP, src: R, dst: B, icmpType: 11 }, outer);
  tcp(B, 80, A, 40000, F.ACK, inner);
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.RELATED);
  t.equal(ct.dir, CtDir.ORIGINAL, 'error about the reply direction travels in the original direction');
  // error addressed to someone else than the quoted sender
  key({ proto: ICMP, src: R, dst: '10.0.0.99', icmpType: 3 }, outer);
  tcp(A, 40000, B, 80, F.ACK, inner);
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.INVALID);
  t.equal(ct.invalidReason, CtInvalid.RELATED_WRONG_DEST);
  t.equal(ct.slot, -1);
  // unknown flow
  key({ proto: ICMP, src: R, dst: A, icmpType: 3 }, outer);
  tcp(A, 40001, B, 80, F.ACK, inner);
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.INVALID);
  t.equal(ct.invalidReason, CtInvalid.RELATED_NO_ENTRY);
  // truncated inner header
  tcp(A, 40000, B, 80, F.ACK, inner);
  inner.truncated = 1;
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.INVALID);
  t.equal(ct.invalidReason, CtInvalid.RELATED_TRUNCATED);
  // RELATED does not refresh the entry
  const last = ct.lastSeenNs(slot);
  tcp(A, 40000, B, 80, F.ACK, inner);
  ct.relatedLookup(outer, inner, T0 + S);
  t.equal(ct.lastSeenNs(slot), last);
  // expired entry ⇒ INVALID
  t.equal(ct.relatedLookup(outer, inner, T0 + 61 * S), CtResult.INVALID, 'SYN_RECV timed out');
  // ICMPv6 packet-too-big quoting an echo request
  const ct6 = small();
  const s6 = ct6.create(icmp('fd00::1', 'fd00::2', 128, 5), T0, 1, 1);
  key({ proto: ICMPV6, src: 'fd00::fe', dst: 'fd00::1', icmpType: 2 }, outer);
  icmp('fd00::1', 'fd00::2', 128, 5);
  key({ proto: ICMPV6, src: 'fd00::1', dst: 'fd00::2', icmpType: 128, sport: 5 }, inner);
  t.equal(ct6.relatedLookup(outer, inner, T0), CtResult.RELATED);
  t.equal(ct6.slot, s6);
  t.equal(ct6.dir, CtDir.REPLY);
});

t.test('Service NAT: ORIGINAL, TRANSLATED, REPLY (both capture points)', async (t) => {
  const ct = small();
  const C = '10.244.1.5';
  const VIP = '10.96.0.10';
  const BE = '10.244.2.9';
  const nat = new CtNat();
  const [b0, b1, b2, b3] = words(BE);
  nat.setDnat(b0, b1, b2, b3, 8080);
  const slot = ct.create(tcp(C, 5000, VIP, 80, F.SYN), T0, 1, 1, 0, 0, nat);
  t.ok(ct.flagsOf(slot) & CtFlag.NAT);
  t.equal(ct.lookup(tcp(C, 5000, VIP, 80, F.ACK), T0), CtResult.ORIGINAL, 'client → VIP:80');
  t.equal(ct.dir, CtDir.ORIGINAL);
  t.equal(ct.lookup(tcp(C, 5000, BE, 8080, F.ACK), T0), CtResult.TRANSLATED, 'client → backend:8080 (after DNAT)');
  t.equal(ct.dir, CtDir.ORIGINAL);
  t.equal(ct.lookup(tcp(BE, 8080, C, 5000, F.SYN | F.ACK), T0), CtResult.REPLY, 'backend → client');
  t.equal(ct.dir, CtDir.REPLY);
  t.equal(ct.lookup(tcp(VIP, 80, C, 5000, F.SYN | F.ACK), T0), CtResult.REPLY, 'VIP → client (reverse-NATed, client side)');
  t.equal(ct.slot, slot);
  t.equal(ct.lookup(tcp(BE, 80, C, 5000, F.ACK), T0), CtResult.MISS_MIDFLOW, 'backend with the service port is not the flow');
  t.equal(ct.lookup(tcp(C, 5000, BE, 80, F.ACK), T0), CtResult.MISS_MIDFLOW);
  t.match(ct.toString(slot), /TCP 10\.244\.1\.5:5000 -> 10\.96\.0\.10:80 \| reply TCP 10\.244\.2\.9:8080 -> 10\.244\.1\.5:5000/);
  // full handshake across capture points drives the same entry
  ct.track(tcp(BE, 8080, C, 5000, F.SYN | F.ACK), T0, 60);
  ct.track(tcp(C, 5000, BE, 8080, F.ACK), T0, 60);
  t.equal(ct.stateName(slot), 'ESTABLISHED');
  // ICMP error quoting the translated packet, sent to the client
  const outer = key({ proto: ICMP, src: R, dst: C, icmpType: 3 });
  const inner = tcp(C, 5000, BE, 8080, F.ACK);
  t.equal(ct.relatedLookup(outer, inner, T0), CtResult.RELATED);
  t.equal(ct.dir, CtDir.REPLY);
  // deleting removes all four index records
  ct.delete(slot);
  for (const k of [tcp(C, 5000, VIP, 80, F.ACK), tcp(C, 5000, BE, 8080, F.ACK), tcp(BE, 8080, C, 5000, F.ACK), tcp(VIP, 80, C, 5000, F.ACK)])
    t.equal(ct.lookup(k, T0), CtResult.MISS_MIDFLOW);
  // a new connection reusing a tuple of a NAT entry replaces it
  ct.create(tcp(C, 5000, VIP, 80, F.SYN), T0, 1, 1, 0, 0, nat);
  ct.create(tcp(C, 5000, BE, 8080, F.SYN), T0, 1, 1);
  t.equal(ct.tcp.clashes, 1);
  t.equal(ct.size, 1);
  t.equal(ct.lookup(tcp(C, 5000, VIP, 80, F.ACK), T0), CtResult.MISS_MIDFLOW);
});

t.test('SCTP states and timeouts', async (t) => {
  const ct = small();
  const o = (chunk: number) => key({ proto: SCTP, src: A, dst: B, sport: 3868, dport: 3868, chunk });
  const r = (chunk: number) => key({ proto: SCTP, src: B, dst: A, sport: 3868, dport: 3868, chunk });
  t.equal(ct.lookup(o(0), T0), CtResult.MISS_MIDFLOW, 'DATA without association');
  t.equal(ct.lookup(o(1), T0), CtResult.MISS, 'INIT');
  const slot = ct.create(o(1), T0, 1, 1);
  t.equal(ct.stateOf(slot), SctpState.COOKIE_WAIT);
  t.equal(ct.lookup(o(1), T0), CtResult.ORIGINAL, 'INIT retransmission in COOKIE_WAIT');
  {
    const c2 = small();
    c2.create(o(1), T0, 1, 1);
    t.equal(c2.lookup(o(0), T0 + 3 * S - 1), CtResult.ORIGINAL, 'COOKIE_WAIT alive below 3 s');
    t.equal(c2.lookup(o(0), T0 + 3 * S), CtResult.MISS_MIDFLOW, 'COOKIE_WAIT expired at 3 s');
  }
  t.equal(ct.lookup(r(1), T0), CtResult.INVALID, 'INIT from the peer on a pending association');
  t.equal(ct.track(r(2), T0, 100), CtResult.REPLY);
  t.equal(ct.stateOf(slot), SctpState.COOKIE_WAIT, 'INIT-ACK');
  ct.track(o(10), T0, 100);
  t.equal(ct.stateOf(slot), SctpState.COOKIE_ECHOED, 'COOKIE-ECHO');
  t.notOk(ct.isAssured(slot));
  ct.track(r(11), T0, 100);
  t.equal(ct.stateOf(slot), SctpState.ESTABLISHED, 'COOKIE-ACK');
  t.ok(ct.isAssured(slot));
  ct.track(o(0), T0, 100);
  t.equal(ct.lookup(o(0), T0 + 210 * S - 1), CtResult.ORIGINAL, 'established alive below 210 s');
  t.equal(ct.lookup(o(0), T0 + 210 * S), CtResult.MISS_MIDFLOW, 'expired at 210 s');
  // shutdown sequence (fresh table: the clock of `ct` has moved on)
  {
  const ct = small();
  const s2 = ct.create(o(1), T0, 1, 1);
  for (const [p, st] of [
    [r(2), SctpState.COOKIE_WAIT],
    [o(10), SctpState.COOKIE_ECHOED],
    [r(11), SctpState.ESTABLISHED],
    [o(7), SctpState.SHUTDOWN_SENT],
    [r(8), SctpState.SHUTDOWN_ACK_SENT],
    [o(14), SctpState.CLOSED],
  ] as const) {
    ct.track(p, T0, 100);
    t.equal(ct.stateOf(s2), st, `→ ${ct.stateName(s2)}`);
  }
  t.equal(ct.lookup(o(0), T0 + 1), CtResult.ORIGINAL, 'closed association still tracked');
  t.equal(ct.lookup(o(1), T0 + 1), CtResult.MISS, 'INIT on a closed association re-opens (entry deleted)');
  t.equal(ct.size, 0);
  const s3 = ct.create(o(1), T0, 1, 1);
  ct.track(r(2), T0, 1);
  ct.track(o(10), T0, 1);
  ct.track(r(11), T0, 1);
  ct.track(r(7), T0, 1);
  t.equal(ct.stateOf(s3), SctpState.SHUTDOWN_RECD, 'SHUTDOWN from the peer');
  // the clock is at T0 + 1 (lookup above), so that is the entry's last-seen time
  t.equal(ct.lookup(o(0), T0 + 1 + 3 * S - 1), CtResult.ORIGINAL);
  t.equal(ct.lookup(o(0), T0 + 1 + 3 * S), CtResult.MISS_MIDFLOW, 'shutdown states expire after 3 s');
  const s4 = ct.create(o(1), T0 + 3 * S, 1, 1);
  ct.track(r(6), T0, 1);
  t.equal(ct.stateOf(s4), SctpState.CLOSED, 'ABORT');
  }
});

t.test('generic L4: 600 s, assured with both directions', async (t) => {
  const ct = small();
  const k = key({ proto: 47, src: A, dst: B, sport: 123, dport: 456 }); // GRE: ports are not part of the key
  const slot = ct.create(k, T0, 1, 1);
  t.equal(ct.lookup(key({ proto: 47, src: A, dst: B }), T0), CtResult.ORIGINAL);
  t.equal(ct.track(key({ proto: 47, src: B, dst: A }), T0, 10), CtResult.REPLY);
  t.ok(ct.isAssured(slot));
  t.equal(ct.lookup(k, T0 + 600 * S - 1), CtResult.ORIGINAL);
  t.equal(ct.lookup(k, T0 + 600 * S), CtResult.MISS);
});

t.test('clock: monotonic, regressions counted', async (t) => {
  const ct = small();
  const k = udp(A, 1, B, 2);
  ct.lookup(k, 10 * S);
  ct.create(k, 10 * S, 1, 1);
  t.equal(ct.lookup(k, 5 * S), CtResult.ORIGINAL);
  t.equal(ct.timeRegressions, 1);
  t.equal(ct.clockNs, 10 * S);
  ct.track(k, 3 * S, 1);
  t.equal(ct.lastSeenNs(ct.slot), 10 * S, 'a regressed packet uses the clock');
  t.equal(ct.lookup(k, 39 * S), CtResult.ORIGINAL);
  t.equal(ct.lookup(k, 20 * S), CtResult.ORIGINAL, 'regressed lookups never expire early or late');
  t.equal(ct.lookup(k, 40 * S), CtResult.MISS);
});

t.test('incremental sweep: bounded slots per call', async (t) => {
  const ct = new Conntrack({ tcpMax: 16, anyMax: 1000 });
  for (let i = 0; i < 1000; i++) ct.create(udp(A, 1000 + i, B, 53), T0, 1, 1);
  t.equal(ct.size, 1000);
  t.equal(ct.sweep(T0 + 29 * S, 100), 0, 'nothing expired yet');
  let calls = 0;
  let removed = 0;
  while (ct.size > 0) {
    const n = ct.sweep(T0 + 31 * S, 100);
    t.ok(n <= 100, 'at most maxSlots removals');
    removed += n;
    calls++;
  }
  t.equal(removed, 1000);
  t.equal(calls, 10);
  t.equal(ct.other.expired, 1000);
});

t.test('full table: expired ▸ non-assured ▸ LRU; insertion never fails', async (t) => {
  const ct = new Conntrack({ tcpMax: 16, anyMax: 8, evictionSample: 8 });
  for (let i = 0; i < 8; i++) {
    ct.create(udp(A, 1000 + i, B, 53), T0 + i * S, 1, 1);
    ct.track(udp(B, 53, A, 1000 + i), T0 + i * S, 1);
  }
  // all assured; the one seen longest ago goes first (LRU)
  ct.track(udp(A, 1000, B, 53), T0 + 10 * S, 1);
  ct.create(udp(A, 2000, B, 53), T0 + 11 * S, 1, 1);
  t.equal(ct.other.evictions[2], 1, 'one LRU eviction');
  t.equal(ct.lookup(udp(A, 1001, B, 53), T0 + 11 * S), CtResult.MISS, 'least recently seen (1001) evicted');
  t.equal(ct.lookup(udp(A, 1000, B, 53), T0 + 11 * S), CtResult.ORIGINAL, 'refreshed 1000 kept');
  // a non-assured entry (2000) is preferred over older assured ones
  ct.create(udp(A, 2001, B, 53), T0 + 12 * S, 1, 1);
  t.equal(ct.other.evictions[1], 1, 'one non-assured eviction');
  t.equal(ct.lookup(udp(A, 2000, B, 53), T0 + 12 * S), CtResult.MISS, 'unreplied 2000 evicted first');
  // expired ones go before anything else
  ct.create(udp(A, 3000, B, 53), T0 + 135 * S, 1, 1);
  t.equal(ct.other.evictions[0], 1, 'one expired eviction');
  t.equal(ct.other.entries, 8);
});

t.test('flood of 1M new flows: bounded, counted, the established flow survives', async (t) => {
  const cap = 4096;
  const ct = new Conntrack({ tcpMax: cap, anyMax: 64 });
  const k = new FlowKey();
  const est = tcp(A, 40000, B, 443, F.SYN);
  const estSlot = ct.create(est, T0, 1, 1);
  ct.track(tcp(B, 443, A, 40000, F.SYN | F.ACK), T0, 60);
  ct.track(tcp(A, 40000, B, 443, F.ACK), T0, 60);
  t.ok(ct.isAssured(estSlot));
  let maxEntries = 0;
  let lost = 0;
  let now = T0;
  for (let i = 0; i < 1_000_000; i++) {
    now += 1000; // 1 µs apart: nothing times out during the flood
    tcp('10.1.0.0', 1024 + (i & 0xffff), B, 80, F.SYN, k);
    k.src3 = (k.src3 + (i >>> 16)) >>> 0;
    if (ct.lookup(k, now) === CtResult.MISS) ct.create(k, now, 1, 1);
    if (ct.tcp.entries > maxEntries) maxEntries = ct.tcp.entries;
    if (i % 10000 === 0 && ct.track(tcp(A, 40000, B, 443, F.ACK | F.PSH, k), now, 100) !== CtResult.ORIGINAL) lost++;
  }
  t.equal(lost, 0, 'the established flow was found on every refresh');
  t.ok(maxEntries <= cap, `entries stayed within the cap (${maxEntries} <= ${cap})`);
  t.equal(ct.tcp.entries, cap);
  const ev = ct.tcp.evictions;
  t.equal(ev[0]! + ev[1]! + ev[2]!, 1_000_000 + 1 - cap, 'one eviction per insert beyond the cap');
  t.equal(ev[2], 0, 'no LRU eviction needed: non-assured SYN entries went first');
  t.equal(ct.lookup(tcp(A, 40000, B, 443, F.ACK), now), CtResult.ORIGINAL, 'established flow survived');
  t.equal(ct.slot, estSlot);
  t.equal(ct.tcp.createdCount, 1_000_001);
});

t.test('the index grows with its records: every tuple still found, load <= 0.5, never past the reserved size', async (t) => {
  for (const wasm of [true, false]) {
    const cap = 40_000;
    const ct = new Conntrack({ tcpMax: cap, anyMax: 64, wasm });
    const tab = ct.tcp;
    const reserved = CtTable.indexSlots(cap);
    t.equal(tab.indexSize, 4096, `wasm ${wasm}: a new index uses 4096 slots`);
    const C = '10.244.1.5';
    const VIP = '10.96.0.10';
    const nat = new CtNat();
    const [b0, b1, b2, b3] = words('10.244.2.9');
    nat.setDnat(b0, b1, b2, b3, 8080);
    const k = new FlowKey();
    const slots: number[] = [];
    let records = 0;
    let worst = 0;
    for (let i = 0; i < 30_000; i++) {
      // every tenth connection through a ClusterIP: 4 index records instead of 2
      const viaVip = i % 10 === 0;
      tcp(C, 1024 + (i % 60_000), viaVip ? VIP : B, 80 + Math.floor(i / 60_000), F.SYN, k);
      k.src3 = (k.src3 + i) >>> 0;
      slots.push(ct.create(k, T0, 1, 1, 0, 0, viaVip ? nat : undefined));
      records += viaVip ? 4 : 2;
      worst = Math.max(worst, records / tab.indexSize);
    }
    t.ok(worst <= 0.5, `wasm ${wasm}: load stayed <= 0.5 while growing (${worst.toFixed(3)})`);
    let size = 4096;
    while (size < 2 * records) size *= 2;
    t.equal(tab.indexSize, size, `wasm ${wasm}: ${records} records in ${size} slots (the reserved size is ${reserved})`);
    t.equal(tab.indexGrowths, Math.log2(size / 4096), `wasm ${wasm}: one doubling at a time`);
    let missing = 0;
    for (let i = 0; i < 30_000; i++) {
      const viaVip = i % 10 === 0;
      tcp(C, 1024 + (i % 60_000), viaVip ? VIP : B, 80, F.ACK, k);
      k.src3 = (k.src3 + i) >>> 0;
      if (ct.lookup(k, T0) !== CtResult.ORIGINAL || ct.slot !== slots[i]) missing++;
      // and the reply, from the backend for a ClusterIP connection
      const client = k.src3;
      tcp(viaVip ? '10.244.2.9' : B, viaVip ? 8080 : 80, C, 1024 + (i % 60_000), F.ACK, k);
      k.dst3 = client;
      if (ct.lookup(k, T0) !== CtResult.REPLY || ct.slot !== slots[i]) missing++;
    }
    t.equal(missing, 0, `wasm ${wasm}: every original and reply tuple found after the growths`);
    // deleting frees records; the index keeps its size and its other records
    for (let i = 0; i < 30_000; i += 2) ct.delete(slots[i]!);
    t.equal(tab.indexSize, size, `wasm ${wasm}: deletes do not shrink the index`);
    tcp(C, 1024 + 1, B, 80, F.ACK, k);
    k.src3 = (k.src3 + 1) >>> 0;
    t.equal(ct.lookup(k, T0), CtResult.ORIGINAL, `wasm ${wasm}: a kept connection is still found after deletes`);
  }
  // a full table of NAT entries (4 records each) fits the reserved index at load 0.5
  const ct = new Conntrack({ tcpMax: 3000, anyMax: 64 });
  const nat = new CtNat();
  nat.setDnat(0, 0, 0, 0x0af40209, 8080);
  const k = new FlowKey();
  for (let i = 0; i < 3000; i++) {
    tcp(A, 1024 + i, '10.96.0.10', 80, F.SYN, k);
    ct.create(k, T0, 1, 1, 0, 0, nat);
  }
  t.equal(ct.tcp.entries, 3000);
  t.ok(4 * 3000 <= ct.tcp.indexSize / 2 && ct.tcp.indexSize <= CtTable.indexSlots(3000), `3000 NAT entries: ${ct.tcp.indexSize} slots`);
});

t.test('the index grown by the module holds exactly the records of the live entries, as the TypeScript rehash does', async (t) => {
  // the same creates and deletes on three tables: plain arrays, in a WebAssembly memory, and in one with the fast path
  // over it (its index grows in the module: src/wasm/fast4.ts rebuildIndex)
  const mk = (wasm: boolean) => new Conntrack({ tcpMax: 40_000, anyMax: 64, wasm });
  const plain = mk(false);
  const arena = mk(true);
  const module = mk(true);
  new FastCore(module.arena!, module.tcp, module.other, module.timeouts, 1, 2);
  t.type(module.tcp.indexRebuilder, 'function', 'the fast path grows the index of the table under it');
  t.equal(arena.tcp.indexRebuilder, null, 'a table with no fast path over it rehashes itself');
  const nat = new CtNat();
  const [b0, b1, b2, b3] = words('10.244.2.9');
  nat.setDnat(b0, b1, b2, b3, 8080);
  const k = new FlowKey();
  const key4 = (i: number, flags: number): FlowKey => {
    tcp('10.244.1.5', 1024 + (i % 60_000), i % 7 === 0 ? '10.96.0.10' : B, 80, flags, k);
    k.src3 = (k.src3 + i) >>> 0;
    return k;
  };
  const slots: number[][] = [[], [], []];
  const tables = [plain, arena, module];
  let live = 0;
  for (let i = 0; i < 20_000; i++) {
    for (const [j, ct] of tables.entries()) slots[j]!.push(ct.create(key4(i, F.SYN), T0, 1, 1, 0, 0, i % 7 === 0 ? nat : undefined));
    live++;
    // every third connection closes a little later: its entry goes back to the free list and is reused
    if (i % 3 === 2) {
      for (const [j, ct] of tables.entries()) ct.delete(slots[j]![i - 1]!);
      live--;
    }
  }
  t.same(slots[2], slots[0], 'the same entries as the plain table');
  t.same(slots[1], slots[0], 'and as the table in a WebAssembly memory');
  t.equal(module.tcp.entries, live);
  t.equal(module.tcp.indexGrowths, plain.tcp.indexGrowths, `the same growths (${plain.tcp.indexGrowths})`);
  t.equal(module.tcp.indexSize, plain.tcp.indexSize, `to the same size (${plain.tcp.indexSize} slots)`);
  // the index's records: their slots' four words (reference + 1 and flag, source, destination, ports), in any order,
  // exactly those of the plain table
  const records = (tab: CtTable): string[] => {
    const idx = tab.wasmLayout.idx;
    const out: string[] = [];
    for (let i = 0; i < tab.indexSize; i++) if (idx[4 * i] !== 0) out.push(idx.subarray(4 * i, 4 * i + 4).join(':'));
    return out.sort();
  };
  const want = records(plain.tcp);
  let expected = 0;
  for (let i = 0; i < 20_000; i++) if (!(i % 3 === 1 && i < 19_999)) expected += i % 7 === 0 ? 4 : 2;
  t.equal(want.length, expected, `${expected} records: 2 a live entry, 4 with NAT`);
  t.same(records(module.tcp), want, 'the module’s index holds exactly the plain table’s records');
  let found = 0;
  for (let i = 0; i < 20_000; i++) {
    const r = [0, 1, 2].map((j) => [tables[j]!.lookup(key4(i, F.ACK), T0), tables[j]!.slot]);
    if (JSON.stringify(r[2]) === JSON.stringify(r[0])) found++;
  }
  t.equal(found, 20_000, 'every tuple, live or deleted, looks up alike');
});

t.test('options and validation', async (t) => {
  t.throws(() => new Conntrack({ tcpMax: 0 }));
  t.throws(() => new Conntrack({ ruleRefs: 99 }));
  t.throws(() => ctTimeoutsWith('linux', { NOPE: 1 } as never));
  const ct = new Conntrack({ tcpMax: 8, anyMax: 8, ruleRefs: 4, timeouts: ctTimeoutsWith('linux', { UDP_UNREPLIED: 5 }) });
  const s = ct.create(udp(A, 1, B, 2), T0, 1, 9, 1, 2);
  ct.setRuleRef(s, 3, 44);
  t.equal(ct.ruleRef(s, 3), 44);
  t.equal(ct.lookup(udp(A, 1, B, 2), T0 + 5 * S), CtResult.MISS, 'overridden timeout');
  const s2 = ct.create(udp(A, 1, B, 2), T0 + 5 * S, 1, 9);
  ct.setVerdict(s2, 2, 10, 5, 6);
  t.equal(ct.verdictOf(s2), 2);
  t.equal(ct.revisionOf(s2), 10, 'revision exposed for --on-policy-change=reevaluate');
  t.same(ct.stats().any.created, 2);
  t.ok(s2 >= 8, 'non-TCP slots follow the TCP slots');
  t.ok(ct.isLive(s2));
  ct.delete(s2);
  t.notOk(ct.isLive(s2));
  t.match(ct.toString(s2), /free/);
});
