import t from 'tap';
import { FlowKey } from '../../src/core/flow-key.js';
import { DecodeStatus as S, dropReasonOf, decodeStatusToString } from '../../src/core/enums.js';
import { decode, type DecodeOptions } from '../../src/packet/decode.js';
import { tcpFlagsInvalid } from '../../src/packet/tcp.js';
import * as B from '../fixtures/captures/builders.js';

const k = new FlowKey();
const dec = (lt: number, f: Uint8Array, wire = f.length, cap = f.length, opts?: DecodeOptions) => decode(lt, f, 0, cap, wire, k, opts);
const eth = (p: Uint8Array, type = 0x0800) => B.ethernet(type, p);
const syn = B.ipv4({ proto: 6, src: '10.244.1.7', dst: '10.244.2.9' }, B.tcp({ sport: 43512, dport: 5432, flags: 2, seq: 7, ack: 9, win: 1000 }));

t.test('ethernet + IPv4 + TCP fields', async (t) => {
  t.equal(dec(1, eth(syn)), S.OK);
  t.match(k, { family: 4, proto: 6, src3: B.ip4('10.244.1.7'), dst3: B.ip4('10.244.2.9'), sport: 43512, dport: 5432, tcpFlags: 2, tcpSeq: 7, tcpAck: 9, tcpWindow: 1000, etherType: 0x0800, l3Off: 14, l4Off: 34, payloadOff: 54, ipLen: 40, truncated: 0, linkType: 1 });
});
t.test('UDP, SCTP, ICMP, ICMPv6 fields', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 17 }, B.udp(1000, 53, new Uint8Array(4)))), S.OK);
  t.match(k, { proto: 17, sport: 1000, dport: 53 });
  t.equal(dec(101, B.ipv4({ proto: 132 }, B.sctp(5000, 6000, 0, 1, new Uint8Array(16)))), S.OK);
  t.match(k, { proto: 132, sport: 5000, dport: 6000, sctpChunk: 1, sctpVtag: 0 });
  t.equal(dec(101, B.ipv4({ proto: 1 }, B.icmpEcho(8, 77, 1))), S.OK);
  t.match(k, { proto: 1, icmpType: 8, icmpCode: 0, sport: 77, dport: 0 });
  t.equal(dec(229, B.ipv6({ nh: 58 }, B.icmpEcho(129, 78, 1))), S.OK);
  t.match(k, { family: 6, proto: 58, icmpType: 129, sport: 78, src0: 0xfd000000, src3: 1, dst3: 2 });
});
t.test('ICMP error exposes the quoted header', async (t) => {
  const quoted = syn.subarray(0, 28);
  t.equal(dec(101, B.ipv4({ proto: 1 }, B.icmp(3, 3, new Uint8Array(4), quoted))), S.OK);
  t.match(k, { icmpType: 3, icmpCode: 3, innerFamily: 4, innerProto: 6, innerL3Off: 28, innerL4Off: 48 });
  t.equal(dec(101, B.ipv4({ proto: 1 }, B.icmp(11, 0, new Uint8Array(4), syn.subarray(0, 24)))), S.ICMP_INNER_TRUNCATED, 'K13');
  t.equal(dropReasonOf(S.ICMP_INNER_TRUNCATED), 135);
  const q6 = B.ipv6({ nh: 17 }, B.udp(1, 2)).subarray(0, 48);
  t.equal(dec(229, B.ipv6({ nh: 58 }, B.icmp(1, 4, new Uint8Array(4), q6))), S.OK);
  t.match(k, { innerFamily: 6, innerProto: 17, innerL3Off: 48, innerL4Off: 88 });
  t.equal(dec(229, B.ipv6({ nh: 58 }, B.icmp(2, 0, new Uint8Array(4), q6.subarray(0, 40)))), S.ICMP_INNER_TRUNCATED, 'K13 v6');
});
t.test('link types', async (t) => {
  t.equal(dec(0, B.cat(B.nullHdr(2, true), syn)), S.OK);
  t.equal(dec(0, B.cat(B.nullHdr(2, false), syn)), S.OK, 'NULL, swapped family');
  t.equal(dec(0, B.cat(B.nullHdr(30), B.ipv6({ nh: 6 }, B.tcp()))), S.OK);
  t.equal(k.family, 6);
  t.equal(dec(0, B.cat(B.nullHdr(7), syn)), S.NON_IP);
  t.equal(dec(113, B.cat(B.sll(0x0800), syn)), S.OK);
  t.equal(k.l3Off, 16);
  t.equal(dec(113, B.cat(B.sll(0x0806), B.arp())), S.NON_IP);
  t.equal(dec(113, B.cat(B.sll(0x0800, 0, 778), syn)), S.NON_IP, 'IPGRE ARPHRD');
  t.equal(dec(113, B.cat(B.sll(0x0004), syn)), S.NON_IP, 'LLC');
  t.equal(dec(276, B.cat(B.sll2(0x0800), syn)), S.OK);
  t.equal(k.l3Off, 20);
  t.equal(dec(276, B.cat(B.sll2(0x8100), B.vlanTci(5, 0x0800), syn)), S.OK, 'VLAN after SLL2');
  t.equal(k.vlanId, 5);
  t.equal(dec(276, B.cat(B.sll2(0x0800, 1, 0, 824), syn)), S.NON_IP, 'NETLINK');
  t.equal(dec(228, syn), S.OK);
  t.equal(dec(228, B.ipv6({ nh: 6 }, B.tcp())), S.IP_BAD_VERSION, 'IPV4 link type with v6');
  t.equal(dec(229, B.ipv6({ nh: 6 }, B.tcp())), S.OK);
  t.equal(dec(229, syn), S.IP_BAD_VERSION);
  t.equal(dec(101, B.cat(new Uint8Array([0x50]), syn)), S.IP_BAD_VERSION, 'RAW version 5');
  t.equal(dec(127, syn), S.UNSUPPORTED_LINKTYPE);
  t.equal(dropReasonOf(S.UNSUPPORTED_LINKTYPE), 166);
});

// K-table, one test per row
t.test('K1 Ethernet < 14 B', async (t) => {
  t.equal(dec(1, new Uint8Array(13)), S.L2_MALFORMED);
  t.equal(dropReasonOf(k.status), 134);
  t.equal(dec(1, eth(syn), 54, 10), S.TRUNCATED, 'capture short, wire long');
});
t.test('K2 non-IP', async (t) => {
  t.equal(dec(1, eth(B.arp(), 0x0806)), S.NON_IP);
  t.equal(k.etherType, 0x0806);
  t.equal(dec(1, eth(new Uint8Array(30), 0x88cc)), S.NON_IP);
  t.equal(dec(1, eth(new Uint8Array(30), 46)), S.NON_IP, '802.3 length');
  t.equal(k.etherType, 46);
  t.equal(dropReasonOf(S.NON_IP), 0, 'bypass, not a drop');
});
t.test('K3 VLAN bound and cut tags', async (t) => {
  t.equal(dec(1, B.ethernet(0x88a8, B.cat(B.vlanTci(200, 0x8100), B.vlanTci(100, 0x0800), syn))), S.OK);
  t.match(k, { vlanCount: 2, vlanId: 200, vlanId2: 100, l3Off: 22 });
  for (const tp of [0x9100, 0x9200, 0x9300]) t.equal(dec(1, B.ethernet(tp, B.cat(B.vlanTci(1, 0x0800), syn))), S.OK);
  t.equal(dec(1, B.ethernet(0x8100, B.cat(B.vlanTci(1, 0x8100), B.vlanTci(2, 0x8100), B.vlanTci(3, 0x0800), syn))), S.VLAN_TOO_MANY);
  t.equal(dec(1, B.ethernet(0x8100, new Uint8Array(2))), S.VLAN_TRUNCATED);
  t.equal(dropReasonOf(S.VLAN_TRUNCATED), 134);
  const three: DecodeOptions = { verifyChecksums: false, vlanMaxTags: 3, ipv6MaxExtHeaders: 4 };
  t.equal(dec(1, B.ethernet(0x8100, B.cat(B.vlanTci(1, 0x8100), B.vlanTci(2, 0x8100), B.vlanTci(3, 0x0800), syn)), undefined, undefined, three), S.OK);
});
t.test('K4 version mismatch', async (t) => {
  t.equal(dec(1, eth(B.ipv4({ proto: 6, version: 6 }, B.tcp()))), S.IP_BAD_VERSION);
  t.equal(dec(1, eth(B.ipv6({ nh: 6, version: 4 }, B.tcp()), 0x86dd)), S.IP_BAD_VERSION);
});
t.test('K5 IHL', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 6, ihl: 4 }, B.tcp())), S.IP_BAD_HEADER_LENGTH);
  t.equal(dec(101, B.ipv4({ proto: 6, ihl: 15 }, new Uint8Array(4))), S.IP_BAD_HEADER_LENGTH, 'IHL×4 > bytes');
  t.equal(dec(101, syn.subarray(0, 12)), S.IP_BAD_HEADER_LENGTH, '< 20 B on the wire');
  t.equal(dec(101, syn, 40, 12), S.TRUNCATED, '< 20 B captured only');
  t.equal(dec(101, B.ipv4({ proto: 6, options: new Uint8Array([1, 1, 1, 0]) }, B.tcp({ dport: 99 }))), S.OK, 'options skipped');
  t.equal(k.dport, 99);
});
t.test('K6 total length < IHL×4', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 6, totalLength: 19 }, B.tcp())), S.IPV4_BAD_TOTAL_LENGTH);
});
t.test('K7 total length > wire; capture-only short is truncated', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 6, totalLength: 100 }, B.tcp())), S.IPV4_LENGTH_EXCEEDS_WIRE);
  const big = B.ipv4({ proto: 6 }, B.tcp({ dport: 8080 }, new Uint8Array(100)));
  t.equal(dec(101, big.subarray(0, 54), big.length, 54), S.OK);
  t.match(k, { truncated: 1, dport: 8080 });
  t.equal(dec(101, big.subarray(0, 30), big.length, 30), S.TRUNCATED, 'ports not captured → 135');
  t.equal(dropReasonOf(S.TRUNCATED), 135);
  t.equal(dec(101, big.subarray(0, 54), 10_000_000, 54), S.IPV4_LENGTH_EXCEEDS_WIRE, 'absurd len (P13) not trusted');
});
t.test('K8 Ethernet padding trimmed', async (t) => {
  const u = B.ipv4({ proto: 17 }, B.udp(1, 2)); // 28 bytes → 14+28 = 42 < 60
  const f = B.cat(eth(u), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  t.equal(dec(1, f), S.OK, 'UDP length = IP payload, padding not counted');
  t.equal(k.ipLen, 28);
  t.equal(dec(1, f, f.length, f.length, { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 }), S.OK, 'checksum over trimmed datagram');
});
t.test('K9 IPv6 payload length', async (t) => {
  t.equal(dec(229, B.ipv6({ nh: 6, payloadLength: 0 }, B.tcp())), S.IPV6_BAD_PAYLOAD_LENGTH);
  t.equal(dec(229, B.ipv6({ nh: 6, payloadLength: 500 }, B.tcp())), S.IPV6_BAD_PAYLOAD_LENGTH);
  const p = B.ipv6({ nh: 6 }, B.tcp({}, new Uint8Array(200)));
  t.equal(dec(229, p.subarray(0, 80), p.length, 80), S.OK);
  t.equal(k.truncated, 1);
});
t.test('K10 IPv6 extension chain', async (t) => {
  const chain = (n: number) => {
    const hs: Uint8Array[] = [];
    for (let i = 0; i < n; i++) hs.push(B.ext6(i === n - 1 ? 6 : 60));
    return B.ipv6({ nh: 0, ext: B.cat(...hs), l4proto: 6 }, B.tcp({ dport: 22 }));
  };
  t.equal(dec(229, chain(4)), S.OK);
  t.equal(k.dport, 22);
  t.equal(dec(229, chain(5)), S.IPV6_BAD_EXT_HEADER);
  t.equal(dropReasonOf(S.IPV6_BAD_EXT_HEADER), 156);
  t.equal(dec(229, B.ipv6({ nh: 60, ext: B.ext6(0), l4proto: 6 }, B.tcp())), S.IPV6_BAD_EXT_HEADER, 'HBH not first');
  const past = B.ipv6({ nh: 60, ext: new Uint8Array([6, 5, 0, 0, 0, 0, 0, 0]), l4proto: 6 }, B.tcp());
  t.equal(dec(229, past), S.IPV6_BAD_EXT_HEADER, 'runs past the packet');
  t.equal(dec(229, B.ipv6({ nh: 51, ext: new Uint8Array([6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), l4proto: 6 }, B.tcp({ dport: 23 }))), S.OK, 'AH');
  t.equal(k.dport, 23);
  t.equal(dec(229, B.ipv6({ nh: 50 }, new Uint8Array(16))), S.OK, 'ESP stops');
  t.match(k, { proto: 50, sport: 0, dport: 0 });
  t.equal(dec(229, B.ipv6({ nh: 59 }, new Uint8Array(8))), S.OK, 'no next header');
});
t.test('K11 TCP header', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 6 }, B.tcp({ doff: 4 }))), S.TCP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 6 }, B.tcp().subarray(0, 16))), S.TCP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 6 }, B.tcp({ doff: 15 }))), S.TCP_BAD_HEADER, 'data offset past segment');
});
t.test('K12 UDP / SCTP header', async (t) => {
  t.equal(dec(101, B.ipv4({ proto: 17 }, B.udp(1, 2).subarray(0, 6))), S.UDP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 17 }, B.udp(1, 2, new Uint8Array(4), 7))), S.UDP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 17 }, B.udp(1, 2, new Uint8Array(4), 100))), S.UDP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 132 }, new Uint8Array(10))), S.SCTP_BAD_HEADER);
  t.equal(dec(101, B.ipv4({ proto: 1 }, new Uint8Array(6))), S.ICMP_BAD_HEADER);
});
t.test('K13 (see ICMP error test) and K14 TCP flags', async (t) => {
  t.ok(tcpFlagsInvalid(0x03), 'SYN+FIN');
  t.ok(tcpFlagsInvalid(0x06), 'SYN+RST');
  t.ok(tcpFlagsInvalid(0x00), 'no flags');
  t.ok(tcpFlagsInvalid(0x29), 'XMAS');
  t.notOk(tcpFlagsInvalid(0x02));
  t.notOk(tcpFlagsInvalid(0x12));
  t.notOk(tcpFlagsInvalid(0x18));
  t.notOk(tcpFlagsInvalid(0x04));
  t.equal(dec(101, B.ipv4({ proto: 6 }, B.tcp({ flags: 3 }))), S.OK, 'decoder reports flags, conntrack decides');
  t.equal(k.tcpFlags, 3);
});
t.test('K15 fragments', async (t) => {
  const full = B.tcp({ dport: 443 }, new Uint8Array(40));
  t.equal(dec(101, B.ipv4({ proto: 6, mf: true, id: 99 }, full)), S.OK, 'first fragment');
  t.match(k, { frag: 1, fragId: 99, dport: 443 });
  t.equal(dec(101, B.ipv4({ proto: 6, fragOff: 64, id: 99 }, new Uint8Array(16))), S.OK, 'non-first');
  t.match(k, { frag: 2, fragOffset: 64, sport: 0, dport: 0 });
  t.equal(dec(101, B.ipv4({ proto: 6, mf: true }, full.subarray(0, 16))), S.FRAGMENT_INVALID, 'tiny first fragment');
  t.equal(dec(101, B.ipv4({ proto: 6, fragOff: 8 }, new Uint8Array(16))), S.FRAGMENT_INVALID, 'TCP at offset 8 (RFC 1858)');
  t.equal(dec(101, B.ipv4({ proto: 1, mf: true }, new Uint8Array(4))), S.FRAGMENT_INVALID, 'ICMP fragment shorter than ICMP header');
  t.equal(dropReasonOf(S.FRAGMENT_INVALID), 134);
  const f6 = (off: number, more: boolean, l4: Uint8Array) => B.ipv6({ nh: 44, ext: B.frag6(6, off, more, 0xabc), l4proto: 6, l4sum: false }, l4);
  t.equal(dec(229, f6(0, true, full)), S.OK);
  t.match(k, { frag: 1, fragId: 0xabc, dport: 443 });
  t.equal(dec(229, f6(64, false, new Uint8Array(16))), S.OK);
  t.match(k, { frag: 2, proto: 6, dport: 0 });
  t.equal(dec(229, f6(0, true, full.subarray(0, 12))), S.FRAGMENT_INVALID, 'RFC 7112');
  t.equal(dec(229, f6(0, false, full)), S.OK, 'atomic fragment');
  t.equal(k.frag, 0);
});
t.test('checksums (opt-in)', async (t) => {
  const v: DecodeOptions = { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 };
  for (const p of [...B.sampleIPv4(), B.ipv4({ proto: 132 }, B.sctp(1, 2, 3, 0, new Uint8Array(8)))]) t.equal(dec(101, p, p.length, p.length, v), S.OK);
  for (const p of B.sampleIPv6()) t.equal(dec(229, p, p.length, p.length, v), S.OK);
  for (const [i, at] of [[0, 10], [0, 30], [2, 30], [3, 24]] as const) {
    const p = new Uint8Array(B.sampleIPv4()[i]);
    p[at] ^= 0x40;
    t.equal(dec(101, p, p.length, p.length, v), S.BAD_CHECKSUM, `v4 sample ${i} byte ${at}`);
    t.equal(dec(101, p), S.OK, 'not checked by default');
  }
  const s = B.ipv4({ proto: 132 }, B.sctp(1, 2, 3, 0, new Uint8Array(8)));
  s[40] ^= 1;
  t.equal(dec(101, s, s.length, s.length, v), S.BAD_CHECKSUM, 'SCTP CRC32c');
  const u6 = new Uint8Array(B.sampleIPv6()[1]);
  u6[46] = u6[47] = 0;
  t.equal(dec(229, u6, u6.length, u6.length, v), S.BAD_CHECKSUM, 'UDP over IPv6 checksum 0');
});
t.test('never throws on random bytes, status names', async (t) => {
  let x = 12345;
  const buf = new Uint8Array(128);
  for (let i = 0; i < 20000; i++) {
    for (let j = 0; j < buf.length; j++) buf[j] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const lt = [0, 1, 101, 113, 228, 229, 276][i % 7];
    if (i % 3 === 0) buf[lt === 1 ? 14 : 0] = 0x45;
    decode(lt, buf, i % 5, (i * 7) % 130, (i * 13) % 300, k);
  }
  t.pass('no throw');
  t.equal(decodeStatusToString(S.TCP_BAD_HEADER), 'TCP_BAD_HEADER');
});
t.test('decode loop does not allocate', async (t) => {
  const frames = [eth(syn), eth(B.sampleIPv4()[2]), B.ethernet(0x86dd, B.sampleIPv6()[0]), eth(B.arp(), 0x0806)];
  const n = 1_000_000;
  let acc = 0;
  for (let i = 0; i < 200_000; i++) acc += decode(1, frames[i & 3], 0, frames[i & 3].length, frames[i & 3].length, k);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) acc += decode(1, frames[i & 3], 0, frames[i & 3].length, frames[i & 3].length, k);
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(acc >= 0);
  t.ok(grown < 4 * 1024 * 1024, `heap grew ${grown} bytes over ${n} decodes (< 4 MiB ⇒ no per-packet allocation)`);
});
