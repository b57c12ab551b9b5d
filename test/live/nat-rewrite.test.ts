/**
 * Live-mode packet rewriting without namespaces: Service DNAT / reverse NAT byte for byte against packets built
 * with the new addresses (so every checksum is compared with a full recompute), checksums verified with
 * packet/checksum.ts, the translation read from a real conntrack entry, and --reject answers.
 */
import t from 'tap';
import { FlowKey } from '../../src/core/flow-key.js';
import { DecodeStatus } from '../../src/core/enums.js';
import { decode } from '../../src/packet/decode.js';
import { verifyChecksums } from '../../src/packet/checksum.js';
import { Classifier, PacketFlag, PacketVerdict, VerdictBatch } from '../../src/datapath/classify.js';
import { PolicyRevisions } from '../../src/policy/revisions.js';
import { NatAction, NatTarget, csumUpdate16, natOfEntry, rewriteDestination, rewriteSource } from '../../src/live/nat-rewrite.js';
import { buildReject } from '../../src/live/reject.js';
import { ipKey } from '../../src/live/dataplane.js';
import { ip4, ip6, ipv4, ipv6, sctp, tcp, udp, icmpEcho } from '../fixtures/captures/builders.js';
import { fileURLToPath } from 'node:url';

const RAW = 101;
const FIXTURE = fileURLToPath(new URL('./fixtures/two-pods.yaml', import.meta.url));

function key(b: Uint8Array): FlowKey {
  const k = new FlowKey();
  const st = decode(RAW, b, 0, b.length, b.length, k);
  if (st !== DecodeStatus.OK) throw new Error(`decode status ${st}`);
  return k;
}

function target4(ipText: string, port: number): NatTarget {
  const n = new NatTarget();
  n.family = 4;
  n.w3 = ip4(ipText) >>> 0;
  n.port = port;
  return n;
}

function target6(ipText: string, port: number): NatTarget {
  const n = new NatTarget();
  n.family = 6;
  const w = ipKey(ipText).v6!.split(':').map(Number);
  [n.w0, n.w1, n.w2, n.w3] = w as [number, number, number, number];
  n.port = port;
  return n;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

t.test('csumUpdate16 matches a full recompute (RFC 1624 corner: 0xffff/0x0000)', async (t) => {
  // header words [0x1234, 0xffff]: sum 0x11233 → 0x1234, checksum ~0x1234
  const before = ~((0x1234 + 0xffff) % 0xffff) & 0xffff;
  const after = ~((0x1234 + 0x0000) % 0xffff || 0xffff) & 0xffff;
  t.equal(csumUpdate16(before, 0xffff, 0x0000), after);
});

t.test('IPv4 TCP: DNAT and reverse NAT give the packet built with the new addresses', async (t) => {
  const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
  const req = ipv4({ src: '10.244.7.10', dst: '10.96.77.80', proto: 6 }, tcp({ sport: 40001, dport: 80, flags: 0x18, seq: 7, ack: 9 }, payload));
  const want = ipv4({ src: '10.244.7.10', dst: '10.244.7.20', proto: 6 }, tcp({ sport: 40001, dport: 8080, flags: 0x18, seq: 7, ack: 9 }, payload));
  const k = key(req);
  t.ok(rewriteDestination(req, 0, k, target4('10.244.7.20', 8080)));
  t.equal(hex(req), hex(want));
  t.equal(verifyChecksums(req, 0, key(req)), DecodeStatus.OK);
  t.equal(k.dport, 8080, 'the key follows the rewrite');

  const rep = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 6 }, tcp({ sport: 8080, dport: 40001, flags: 0x12 }));
  const wantRep = ipv4({ src: '10.96.77.80', dst: '10.244.7.10', proto: 6 }, tcp({ sport: 80, dport: 40001, flags: 0x12 }));
  t.ok(rewriteSource(rep, 0, key(rep), target4('10.96.77.80', 80)));
  t.equal(hex(rep), hex(wantRep));
  t.equal(verifyChecksums(rep, 0, key(rep)), DecodeStatus.OK);
});

t.test('IPv4 UDP: checksum updated; checksum 0 (none) stays 0', async (t) => {
  const p = ipv4({ src: '10.0.0.1', dst: '10.96.0.10', proto: 17 }, udp(5353, 53, new Uint8Array([9, 8, 7])));
  const want = ipv4({ src: '10.0.0.1', dst: '10.244.0.3', proto: 17 }, udp(5353, 1053, new Uint8Array([9, 8, 7])));
  rewriteDestination(p, 0, key(p), target4('10.244.0.3', 1053));
  t.equal(hex(p), hex(want));
  t.equal(verifyChecksums(p, 0, key(p)), DecodeStatus.OK);

  const none = ipv4({ src: '10.0.0.1', dst: '10.96.0.10', proto: 17, l4sum: false }, udp(5353, 53, new Uint8Array([1])));
  rewriteDestination(none, 0, key(none), target4('10.244.0.3', 53));
  t.equal((none[26]! << 8) | none[27]!, 0, 'UDP checksum stays "none"');
  t.equal(verifyChecksums(none, 0, key(none)), DecodeStatus.OK);
});

t.test('IPv6 TCP and UDP', async (t) => {
  const p = ipv6({ src: 'fd00::a', dst: 'fd00:96::50', nh: 6 }, tcp({ sport: 40000, dport: 80, flags: 0x02 }));
  const want = ipv6({ src: 'fd00::a', dst: 'fd00:244::14', nh: 6 }, tcp({ sport: 40000, dport: 8080, flags: 0x02 }));
  rewriteDestination(p, 0, key(p), target6('fd00:244::14', 8080));
  t.equal(hex(p), hex(want));
  t.equal(verifyChecksums(p, 0, key(p)), DecodeStatus.OK);

  const u = ipv6({ src: 'fd00:244::14', dst: 'fd00::a', nh: 17 }, udp(53, 5000, new Uint8Array([1, 2, 3])));
  const wantU = ipv6({ src: 'fd00:96::a', dst: 'fd00::a', nh: 17 }, udp(5353, 5000, new Uint8Array([1, 2, 3])));
  rewriteSource(u, 0, key(u), target6('fd00:96::a', 5353));
  t.equal(hex(u), hex(wantU));
  t.equal(verifyChecksums(u, 0, key(u)), DecodeStatus.OK);
});

t.test('SCTP: CRC32c recomputed after the port change', async (t) => {
  const p = ipv4({ src: '10.0.0.1', dst: '10.96.0.9', proto: 132 }, sctp(5000, 80, 0, 1, new Uint8Array(16)));
  const want = ipv4({ src: '10.0.0.1', dst: '10.244.0.9', proto: 132 }, sctp(5000, 8080, 0, 1, new Uint8Array(16)));
  rewriteDestination(p, 0, key(p), target4('10.244.0.9', 8080));
  t.equal(hex(p), hex(want));
  t.equal(verifyChecksums(p, 0, key(p)), DecodeStatus.OK);
});

t.test('family mismatch leaves the packet alone', async (t) => {
  const p = ipv4({ src: '10.0.0.1', dst: '10.96.0.9', proto: 6 }, tcp({}));
  const before = hex(p);
  t.notOk(rewriteDestination(p, 0, key(p), target6('fd00::1', 80)));
  t.equal(hex(p), before);
});

t.test('natOfEntry: the translation of a Service connection from its conntrack entry', async (t) => {
  const rev = new PolicyRevisions({ shared: false, load: { defaultDns: false } });
  const r = await rev.applyManifests([FIXTURE]);
  if (!r.ok) throw r.error;
  const c = new Classifier(r.published.snapshot);
  const out = new VerdictBatch(4);
  const nat = new NatTarget();
  const syn = ipv4({ src: '10.244.7.10', dst: '10.96.77.80', proto: 6 }, tcp({ sport: 41000, dport: 80, flags: 0x02 }));
  c.ct.timeNs = 1e9;
  c.classify(RAW, syn, 0, syn.length, syn.length, out, 0);
  t.equal(out.verdict[0], PacketVerdict.FORWARDED);
  t.ok(out.flags[0]! & PacketFlag.NAT, 'the classifier chose a backend');
  t.equal(natOfEntry(c.ct, c.ct.slot, c.key, nat), NatAction.DNAT);
  t.equal(nat.w3 >>> 0, ip4('10.244.7.20') >>> 0);
  t.equal(nat.port, 8080);
  rewriteDestination(syn, 0, c.key, nat);
  t.equal(verifyChecksums(syn, 0, key(syn)), DecodeStatus.OK);

  // the backend's answer comes back from the backend: reverse NAT to the ClusterIP
  const synack = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 6 }, tcp({ sport: 8080, dport: 41000, flags: 0x12 }));
  c.ct.timeNs = 2e9;
  c.classify(RAW, synack, 0, synack.length, synack.length, out, 1);
  t.equal(out.verdict[1], PacketVerdict.FORWARDED);
  t.ok(out.flags[1]! & PacketFlag.REPLY);
  t.equal(natOfEntry(c.ct, c.ct.slot, c.key, nat), NatAction.UNDNAT);
  t.equal(nat.w3 >>> 0, ip4('10.96.77.80') >>> 0);
  t.equal(nat.port, 80);

  // an established request to the ClusterIP is translated again
  const ack = ipv4({ src: '10.244.7.10', dst: '10.96.77.80', proto: 6 }, tcp({ sport: 41000, dport: 80, flags: 0x10 }));
  c.ct.timeNs = 3e9;
  c.classify(RAW, ack, 0, ack.length, ack.length, out, 2);
  t.equal(natOfEntry(c.ct, c.ct.slot, c.key, nat), NatAction.DNAT);

  // pod-to-pod traffic has no NAT
  const direct = ipv4({ src: '10.244.7.10', dst: '10.244.7.20', proto: 6 }, tcp({ sport: 41001, dport: 8080, flags: 0x02 }));
  c.classify(RAW, direct, 0, direct.length, direct.length, out, 3);
  t.equal(out.verdict[3], PacketVerdict.FORWARDED);
  t.equal(natOfEntry(c.ct, c.ct.slot, c.key, nat), NatAction.NONE);
});

t.test('--reject answers', async (t) => {
  const buf = new Uint8Array(2048);
  const syn = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 6 }, tcp({ sport: 45000, dport: 9090, flags: 0x02, seq: 1000 }));
  let n = buildReject(syn, 0, key(syn), buf);
  let k = key(buf.subarray(0, n));
  t.equal(k.proto, 6);
  t.equal(k.sport, 9090);
  t.equal(k.dport, 45000);
  t.equal(k.tcpFlags, 0x14, 'RST+ACK to a SYN');
  t.equal(Buffer.from(buf.subarray(28, 32)).readUInt32BE(0), 1001, 'ack = seq + 1');
  t.equal(verifyChecksums(buf, 0, k), DecodeStatus.OK);

  const mid = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 6 }, tcp({ sport: 45000, dport: 9090, flags: 0x10, seq: 5, ack: 777 }));
  n = buildReject(mid, 0, key(mid), buf);
  k = key(buf.subarray(0, n));
  t.equal(k.tcpFlags, 0x04, 'RST to an ACK');
  t.equal(Buffer.from(buf.subarray(24, 28)).readUInt32BE(0), 777, 'seq = their ack');

  const rst = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 6 }, tcp({ flags: 0x04 }));
  t.equal(buildReject(rst, 0, key(rst), buf), 0, 'never answers a RST');

  const ping = ipv4({ src: '10.244.7.20', dst: '10.244.7.10', proto: 1 }, icmpEcho(8, 7, 1, new Uint8Array(32)));
  n = buildReject(ping, 0, key(ping), buf);
  k = key(buf.subarray(0, n));
  t.equal(k.proto, 1);
  t.equal(k.icmpType, 3);
  t.equal(k.icmpCode, 13);
  t.equal(verifyChecksums(buf.subarray(0, n), 0, k), DecodeStatus.OK);
  t.equal(n, 20 + 8 + ping.length, 'quotes the whole (short) packet');

  const err = buf.slice(0, n);
  t.equal(buildReject(err, 0, key(err), new Uint8Array(2048)), 0, 'never answers an ICMP error');

  const u6 = ipv6({ src: 'fd00::1', dst: 'fd00::2', nh: 17 }, udp(5000, 53, new Uint8Array(10)));
  n = buildReject(u6, 0, key(u6), buf);
  k = key(buf.subarray(0, n));
  t.equal(k.proto, 58);
  t.equal(k.icmpType, 1);
  t.equal(k.icmpCode, 1);
  t.equal(verifyChecksums(buf.subarray(0, n), 0, k), DecodeStatus.OK);
  t.equal(hex(buf.subarray(8, 24)), hex(ip6('fd00::2')), 'from the address that was denied');
});
