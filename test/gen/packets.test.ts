import t from 'tap';
import { FlowKey } from '../../src/core/flow-key.js';
import { DecodeStatus } from '../../src/core/enums.js';
import { decode } from '../../src/packet/decode.js';
import { verifyChecksums } from '../../src/packet/checksum.js';
import {
  ETH_HLEN,
  frameSpec,
  ipBytes,
  macOf,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  sctpDataChunk,
  sctpInitChunk,
  synOptions,
  TCP_ACK,
  TCP_SYN,
  writeFrame,
  type FrameSpec,
} from '../../src/gen/packets.js';
import { dnsQueryA, dnsResponseA, encodeName } from '../../src/gen/dns.js';
import { VERIFY } from './helpers.js';

const k = new FlowKey();
const buf = new Uint8Array(2048);

function spec(v6: boolean, proto: number, over: Partial<FrameSpec> = {}): FrameSpec {
  const s = frameSpec();
  s.src = ipBytes(v6 ? 'fd00:10:244::7' : '10.244.1.7');
  s.dst = ipBytes(v6 ? 'fd00:10:244::9' : '10.244.2.9');
  s.srcMac = macOf(s.src);
  s.dstMac = macOf(s.dst);
  s.proto = proto;
  s.sport = 43512;
  s.dport = 5432;
  s.ipId = 0x1234;
  return Object.assign(s, over);
}

type Test = Pick<typeof t, 'equal'>;

function check(t: Test, s: FrameSpec, what: string): number {
  const n = writeFrame(buf, 0, s);
  const st = decode(1, buf, 0, n, n, k, VERIFY);
  t.equal(st, DecodeStatus.OK, `${what}: decodes OK with checksums verified`);
  t.equal(verifyChecksums(buf, 0, k), DecodeStatus.OK, `${what}: verifyChecksums`);
  return n;
}

t.test('every protocol, both families, decodes OK with valid checksums', async (t) => {
  const payloads = [0, 1, 7, 10, 333];
  for (const v6 of [false, true]) {
    for (const len of payloads) {
      const tcp = spec(v6, PROTO_TCP, { seq: 0xfffffff0, ack: 77, flags: TCP_SYN | TCP_ACK, window: 65160, payloadLen: len });
      const n = check(t, tcp, `TCP v${v6 ? 6 : 4} payload ${len}`);
      t.match(k, { family: v6 ? 6 : 4, proto: 6, sport: 43512, dport: 5432, tcpFlags: 0x12, tcpSeq: 0xfffffff0, tcpAck: 77, tcpWindow: 65160 });
      t.equal(n, ETH_HLEN + (v6 ? 40 : 20) + 20 + len);
      t.equal(k.ipLen, n - ETH_HLEN, 'IP length = frame − Ethernet');
      check(t, spec(v6, PROTO_UDP, { payloadLen: len }), `UDP payload ${len}`);
      t.match(k, { proto: 17, sport: 43512, dport: 5432 });
      check(t, spec(v6, v6 ? PROTO_ICMPV6 : PROTO_ICMP, { icmpType: v6 ? 128 : 8, icmpId: 99, icmpSeq: 3, payloadLen: len }), `ICMP payload ${len}`);
      t.match(k, { proto: v6 ? 58 : 1, icmpType: v6 ? 128 : 8, sport: 99 });
    }
    const init = sctpInitChunk(1, 0xdeadbeef, 1000);
    check(t, spec(v6, PROTO_SCTP, { sctpVtag: 0, payload: init, payloadLen: init.length }), 'SCTP INIT');
    t.match(k, { proto: 132, sctpChunk: 1, sctpVtag: 0 });
    const data = sctpDataChunk(1000, 0, 0, 46, new TextEncoder().encode('hello'));
    check(t, spec(v6, PROTO_SCTP, { sctpVtag: 0xdeadbeef, payload: data, payloadLen: data.length }), 'SCTP DATA');
    t.match(k, { sctpChunk: 0, sctpVtag: 0xdeadbeef });
  }
});

t.test('TCP options, padding to a frame length, IPv4 header fields', async (t) => {
  const opts = synOptions(1460, 7, { val: 1, ecr: 0 });
  t.equal(opts.length, 20);
  const s = spec(false, PROTO_TCP, { flags: TCP_SYN, tcpOpts: opts, tcpOptLen: 20, ttl: 63, frameLen: 0 });
  t.equal(check(t, s, 'SYN with options'), 74);
  t.equal(buf[ETH_HLEN + 20 + 12]! >> 4, 10, 'data offset 10 words');
  t.equal(buf[ETH_HLEN + 8], 63, 'TTL');
  t.equal(buf[ETH_HLEN + 6], 0x40, 'DF');
  t.same([buf[ETH_HLEN + 4], buf[ETH_HLEN + 5]], [0x12, 0x34], 'IP id');
  const small = synOptions(1460, 7, null);
  t.equal(small.length, 8);
  const p = spec(false, PROTO_TCP, { flags: TCP_SYN, tcpOpts: small, tcpOptLen: 8, frameLen: 64 });
  buf.fill(0xee);
  t.equal(check(t, p, 'SYN padded to 64'), 64);
  t.equal(k.ipLen, 48, 'IP length excludes the padding');
  t.ok(buf.subarray(62, 64).every((x) => x === 0), 'padding is zeros');
});

t.test('MACs derive from IPs', async (t) => {
  t.same([...macOf(ipBytes('10.244.1.7'))], [0x0a, 0x58, 10, 244, 1, 7]);
  t.same([...macOf(ipBytes('fd00::1:2'))], [0x0a, 0x58, 0, 1, 0, 2]);
  const s = spec(false, PROTO_UDP);
  writeFrame(buf, 0, s);
  t.same([...buf.subarray(0, 12)], [0x0a, 0x58, 10, 244, 2, 9, 0x0a, 0x58, 10, 244, 1, 7], 'dst, src');
});

t.test('UDP checksum 0 is sent as 0xffff', async (t) => {
  // search payloads of 2 bytes until the computed sum is 0
  const s = spec(false, PROTO_UDP, { payload: new Uint8Array(2), payloadLen: 2 });
  let found = false;
  for (let v = 0; v < 65536 && !found; v++) {
    s.payload![0] = v >> 8;
    s.payload![1] = v & 255;
    writeFrame(buf, 0, s);
    if (buf[ETH_HLEN + 20 + 6] === 0xff && buf[ETH_HLEN + 20 + 7] === 0xff) found = true;
  }
  t.ok(found, 'some payload gives 0xffff');
  check(t, s, 'UDP with 0xffff checksum');
});

t.test('DNS wire format', async (t) => {
  t.same([...encodeName('a.bc')], [1, 97, 2, 98, 99, 0]);
  const q = dnsQueryA(0x1234, 'x.y');
  t.same([...q.subarray(0, 12)], [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const r = dnsResponseA(0x1234, 'x.y', ipBytes('10.96.0.10'), 5, true);
  t.same([...r.subarray(2, 4)], [0x85, 0x80], 'QR AA RD RA');
  t.same([...r.subarray(r.length - 16)], [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 96, 0, 10]);
  t.throws(() => encodeName('a..b'));
});
