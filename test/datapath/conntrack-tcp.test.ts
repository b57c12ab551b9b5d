import t from 'tap';
import { Conntrack, CtResult, CtInvalid, CtFlag, TcpState, ctResultName } from '../../src/datapath/conntrack.js';
import { CtTimeout, ctTimeoutSeconds, type CtProfile } from '../../src/datapath/ct-timeouts.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { F, S, tcp } from './helpers.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const T0 = 1000 * S;

type Pkt = readonly ['o' | 'r', number];
const o = (f: number): Pkt => ['o', f];
const r = (f: number): Pkt => ['r', f];

/** Plays packets of A:40000 ↔ B:80 through lookup+create/update; returns the slot. */
function play(ct: Conntrack, pkts: readonly Pkt[], now = T0): number {
  const k = new FlowKey();
  let slot = -1;
  for (const [d, f] of pkts) {
    if (d === 'o') tcp(A, 40000, B, 80, f, k);
    else tcp(B, 80, A, 40000, f, k);
    const res = ct.lookup(k, now);
    if (res === CtResult.MISS && d === 'o') slot = ct.create(k, now, 1, 7, 11, 22);
    else if (res === CtResult.ORIGINAL || res === CtResult.REPLY) ct.update(ct.slot, k, ct.dir, now, 60);
    else throw new Error(`unexpected ${ctResultName(res)} for ${d} flags=${f}`);
  }
  return slot;
}

const SYNACK = F.SYN | F.ACK;
const FINACK = F.FIN | F.ACK;
const PATHS: ReadonlyArray<readonly [string, number, readonly Pkt[], number]> = [
  ['SYN_SENT___', TcpState.SYN_SENT, [o(F.SYN)], CtTimeout.TCP_SYN_SENT],
  ['SYN_RECV___', TcpState.SYN_RECV, [o(F.SYN), r(SYNACK)], CtTimeout.TCP_SYN_RECV],
  ['ESTABLISHED', TcpState.ESTABLISHED, [o(F.SYN), r(SYNACK), o(F.ACK)], CtTimeout.TCP_ESTABLISHED],
  ['FIN_WAIT___', TcpState.FIN_WAIT, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK)], CtTimeout.TCP_FIN_WAIT],
  ['CLOSE_WAIT_', TcpState.CLOSE_WAIT, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK), r(F.ACK)], CtTimeout.TCP_CLOSE_WAIT],
  ['LAST_ACK___', TcpState.LAST_ACK, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK), r(F.ACK), r(FINACK)], CtTimeout.TCP_LAST_ACK],
  ['LAST_ACK_2_', TcpState.LAST_ACK, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK), r(FINACK)], CtTimeout.TCP_LAST_ACK],
  ['TIME_WAIT__', TcpState.TIME_WAIT, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK), r(FINACK), o(F.ACK)], CtTimeout.TCP_TIME_WAIT],
  ['TIME_WAIT_r', TcpState.TIME_WAIT, [o(F.SYN), r(SYNACK), o(F.ACK), r(FINACK), o(FINACK), r(F.ACK)], CtTimeout.TCP_TIME_WAIT],
  ['CLOSE_rst__', TcpState.CLOSE, [o(F.SYN), r(F.RST | F.ACK)], CtTimeout.TCP_CLOSE],
  ['CLOSE_estab', TcpState.CLOSE, [o(F.SYN), r(SYNACK), o(F.ACK), o(F.RST)], CtTimeout.TCP_CLOSE],
  ['CLOSE_finw_', TcpState.CLOSE, [o(F.SYN), r(SYNACK), o(F.ACK), o(FINACK), r(F.RST)], CtTimeout.TCP_CLOSE],
];

t.test('TCP state transitions', async (t) => {
  for (const [name, state, pkts] of PATHS) {
    const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
    const slot = play(ct, pkts);
    t.equal(ct.stateName(slot), ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE'][state], name);
  }
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const slot = play(ct, [o(F.SYN), r(SYNACK)]);
  t.notOk(ct.isAssured(slot), 'not assured during the handshake');
  play(ct, [o(F.ACK)]);
  t.ok(ct.isAssured(slot), 'assured after the handshake');
  t.equal(ct.packets(slot, 0), 2);
  t.equal(ct.packets(slot, 1), 1);
  t.equal(ct.bytes(slot, 0), 120);
  t.equal(ct.revisionOf(slot), 7);
  t.equal(ct.ruleRef(slot, 0), 11);
  t.equal(ct.ruleRef(slot, 1), 22);
  t.match(ct.toString(slot), /^TCP 10\.0\.0\.1:40000 -> 10\.0\.0\.2:80 \| reply TCP 10\.0\.0\.2:80 -> 10\.0\.0\.1:40000 ESTABLISHED \[ASSURED,SEEN_REPLY\] verdict=1 rev=7 rules=11,22/);
});

t.test('retransmissions and simultaneous open', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const slot = play(ct, [o(F.SYN), o(F.SYN)]);
  t.equal(ct.stateOf(slot), TcpState.SYN_SENT, 'SYN retransmission stays SYN_SENT');
  play(ct, [r(SYNACK), r(SYNACK), o(F.SYN)]);
  t.equal(ct.stateOf(slot), TcpState.SYN_RECV, 'SYN-ACK retransmission and late SYN keep SYN_RECV');
  const ct2 = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const s2 = play(ct2, [o(F.SYN), r(F.SYN)]);
  t.equal(ct2.stateOf(s2), TcpState.SYN_RECV, 'simultaneous open');
});

t.test('invalid flag combinations are INVALID, with or without an entry', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const slot = play(ct, [o(F.SYN), r(SYNACK), o(F.ACK)]);
  const bad = [0, F.FIN, F.SYN | F.FIN, F.SYN | F.RST, F.FIN | F.RST | F.ACK, F.FIN | F.SYN | F.RST | F.PSH | F.URG, F.PSH, F.URG | F.PSH | F.FIN];
  for (const f of bad) {
    t.equal(ct.lookup(tcp(A, 40000, B, 80, f), T0), CtResult.INVALID, `flags ${f} on an entry`);
    t.equal(ct.invalidReason, CtInvalid.TCP_FLAGS);
    t.equal(ct.lookup(tcp(A, 1, B, 2, f), T0), CtResult.INVALID, `flags ${f} without entry`);
  }
  t.equal(ct.lookup(tcp(A, 7, B, 8, F.SYN | F.ECE | F.CWR), T0), CtResult.MISS, 'ECN SYN is a bare SYN');
  for (const f of [F.ACK | F.PSH, F.ACK | F.ECE | F.CWR, FINACK | F.PSH, F.RST | F.ACK | F.PSH])
    t.not(ct.lookup(tcp(A, 40000, B, 80, f), T0), CtResult.INVALID, `flags ${f} valid (PSH/ECE/CWR ignored)`);
  t.equal(ct.stateOf(slot), TcpState.ESTABLISHED, 'invalid packets do not change state');
});

t.test('out-of-state SYNs cannot ride an entry', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  play(ct, [o(F.SYN), r(SYNACK), o(F.ACK)]);
  t.equal(ct.lookup(tcp(B, 80, A, 40000, F.SYN), T0), CtResult.INVALID, 'bare SYN from the reply side of an established flow');
  t.equal(ct.invalidReason, CtInvalid.OUT_OF_STATE);
  t.equal(ct.lookup(tcp(A, 40000, B, 80, F.SYN), T0), CtResult.INVALID, 'bare SYN from the original side of an established flow');
  t.equal(ct.lookup(tcp(A, 40000, B, 80, SYNACK), T0), CtResult.INVALID, 'SYN-ACK in the original direction');
  t.equal(ct.lookup(tcp(B, 80, A, 40000, SYNACK), T0), CtResult.REPLY, 'retransmitted SYN-ACK from the server is a reply');
});

t.test('new SYN on a closing/closed tuple deletes the entry and reports MISS', async (t) => {
  for (const [name, state, pkts] of PATHS) {
    if (state < TcpState.FIN_WAIT) continue;
    for (const side of ['o', 'r'] as const) {
      const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
      play(ct, pkts);
      const k = side === 'o' ? tcp(A, 40000, B, 80, F.SYN) : tcp(B, 80, A, 40000, F.SYN);
      t.equal(ct.lookup(k, T0 + 1), CtResult.MISS, `${name} + SYN from ${side}`);
      t.equal(ct.size, 0, 'entry deleted');
      t.equal(ct.tcp.reopened, 1);
    }
  }
});

t.test('mid-flow: no entry and not a bare SYN ⇒ MISS_MIDFLOW; pickup entry', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  for (const f of [F.ACK, SYNACK, FINACK, F.RST, F.ACK | F.PSH]) t.equal(ct.lookup(tcp(A, 1, B, 2, f), T0), CtResult.MISS_MIDFLOW, `flags ${f}`);
  t.equal(ct.lookup(tcp(A, 1, B, 2, F.SYN), T0), CtResult.MISS, 'bare SYN is a plain MISS');
  // caller picks it up (--ct-pickup=observed)
  const k = tcp(A, 1, B, 2, F.ACK | F.PSH);
  const slot = ct.create(k, T0, 1, 1);
  t.equal(ct.stateOf(slot), TcpState.ESTABLISHED);
  t.ok(ct.flagsOf(slot) & CtFlag.PICKUP);
  t.notOk(ct.isAssured(slot), 'not assured before a reply');
  t.equal(ct.track(tcp(B, 2, A, 1, F.ACK), T0 + 1, 40), CtResult.REPLY);
  t.ok(ct.isAssured(slot), 'assured once both directions were seen');
  // --ct-pickup=either: record the reversed orientation
  const ct2 = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const k2 = tcp(B, 80, A, 5555, F.ACK);
  const s2 = ct2.create(k2, T0, 1, 1, 0, 0, null, true);
  t.equal(ct2.lookup(tcp(A, 5555, B, 80, F.ACK), T0), CtResult.ORIGINAL, 'client → server is the original direction');
  t.equal(ct2.lookup(k2, T0), CtResult.REPLY);
  t.equal(ct2.packets(s2, 1), 1, 'the observed packet is counted as a reply');
});

t.test('TCP timeouts per state (just below / at the timeout)', async (t) => {
  for (const profile of ['linux', 'cilium', 'calico'] as CtProfile[]) {
    for (const [name, , pkts, cls] of PATHS) {
      const ct = new Conntrack({ tcpMax: 64, anyMax: 64, profile });
      play(ct, pkts);
      const to = ctTimeoutSeconds(profile, cls as never) * S;
      const probe = tcp(A, 40000, B, 80, F.ACK);
      t.not(ct.lookup(probe, T0 + to - 1), CtResult.MISS_MIDFLOW, `${profile} ${name} alive at ${to / S}s - 1ns`);
      t.equal(ct.lookup(probe, T0 + to), CtResult.MISS_MIDFLOW, `${profile} ${name} expired at ${to / S}s`);
      t.equal(ct.size, 0);
    }
  }
  t.equal(ctTimeoutSeconds('linux', CtTimeout.TCP_ESTABLISHED), 432000);
  t.equal(ctTimeoutSeconds('cilium', CtTimeout.TCP_ESTABLISHED), 8000);
  t.equal(ctTimeoutSeconds('calico', CtTimeout.TCP_ESTABLISHED), 3600);
});

t.test('every packet refreshes the deadline', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  play(ct, [o(F.SYN)]);
  const k = tcp(A, 40000, B, 80, F.SYN);
  t.equal(ct.track(k, T0 + 100 * S, 60), CtResult.ORIGINAL, 'retransmission at 100 s');
  t.equal(ct.lookup(tcp(B, 80, A, 40000, SYNACK), T0 + 219 * S), CtResult.REPLY, 'alive at 219 s (100 + 120 - 1)');
  t.equal(ct.lookup(tcp(B, 80, A, 40000, SYNACK), T0 + 220 * S), CtResult.MISS_MIDFLOW, 'expired at 220 s');
});

t.test('epoch-scale capture timestamps', async (t) => {
  const ct = new Conntrack({ tcpMax: 64, anyMax: 64 });
  const t0 = 1.7e18; // 2023 in ns since the epoch
  play(ct, [o(F.SYN), r(SYNACK), o(F.ACK)], t0);
  const k = tcp(A, 40000, B, 80, F.ACK);
  t.equal(ct.lookup(k, t0 + 432000 * S - 1e3), CtResult.ORIGINAL, 'alive 1 µs before the 5-day timeout');
  t.equal(ct.lookup(k, t0 + 432000 * S + 1e3), CtResult.MISS_MIDFLOW, 'expired 1 µs after');
});
