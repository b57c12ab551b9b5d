import t from 'tap';
import { crc32c, icmpEcho, internetChecksum, parseAnswer, sctpInit, tcpSyn, udpDatagram } from '../../src/probe/packets.js';

/** An IPv4 packet around `payload` (no options). */
function ipv4(proto: number, src: string, dst: string, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  src.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
  dst.split('.').forEach((x, i) => (b[16 + i] = Number(x)));
  b.writeUInt16BE(internetChecksum(b.subarray(0, 20)), 10);
  Buffer.from(payload).copy(b, 20);
  return b;
}

t.test('checksums', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283, 'CRC32c check value');
  const syn = tcpSyn('198.18.0.1', '198.18.0.2', 40000, 80, 1);
  t.equal(internetChecksum(syn, { src: '198.18.0.1', dst: '198.18.0.2', proto: 6 }), 0, 'TCP checksum verifies');
  const udp = udpDatagram('198.18.0.1', '198.18.0.2', 40000, 53);
  t.equal(internetChecksum(udp, { src: '198.18.0.1', dst: '198.18.0.2', proto: 17 }), 0, 'UDP checksum verifies');
  t.equal(internetChecksum(icmpEcho(7, 9)), 0, 'ICMP checksum verifies');
  const init = sctpInit(40000, 9, 5, 6);
  const c = init.readUInt32LE(8);
  init.writeUInt32LE(0, 8);
  t.equal(crc32c(init), c, 'SCTP CRC32c');
  t.equal(syn[13], 0x02, 'SYN only');
});

t.test('answers', async (t) => {
  const A = '198.18.0.1';
  const B = '198.18.0.2';
  // RST from B:80 to A:40000
  const rst = Buffer.alloc(20);
  rst.writeUInt16BE(80, 0);
  rst.writeUInt16BE(40000, 2);
  rst[12] = 5 << 4;
  rst[13] = 0x14;
  t.match(parseAnswer(ipv4(6, B, A, rst)), { proto: 'TCP', key: 40000, dport: 80, reachable: true, how: 'RST', from: B });
  const synack = Buffer.from(rst);
  synack[13] = 0x12;
  t.match(parseAnswer(ipv4(6, B, A, synack)), { how: 'SYN-ACK', reachable: true });
  t.equal(parseAnswer(ipv4(6, A, B, tcpSyn(A, B, 40000, 80, 1))), null, 'a SYN (our own, on a self probe) is no answer');
  // ICMP port unreachable quoting our UDP probe
  const probe = ipv4(17, A, B, udpDatagram(A, B, 40001, 53));
  const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), probe.subarray(0, 28)]);
  t.match(parseAnswer(ipv4(1, B, A, icmp)), { proto: 'UDP', key: 40001, dport: 53, reachable: true, how: 'ICMP port unreachable' });
  const prohibited = Buffer.from(icmp);
  prohibited[1] = 13;
  t.match(parseAnswer(ipv4(1, B, A, prohibited)), { proto: 'UDP', key: 40001, reachable: false, how: /administratively prohibited/ });
  // SCTP: protocol unreachable quoting the INIT, and an ABORT
  const init = ipv4(132, A, B, sctpInit(40002, 9, 1, 1));
  const pu = Buffer.concat([Buffer.from([3, 2, 0, 0, 0, 0, 0, 0]), init.subarray(0, 28)]);
  t.match(parseAnswer(ipv4(1, B, A, pu)), { proto: 'SCTP', key: 40002, dport: 9, reachable: true, how: 'ICMP protocol unreachable' });
  const abort = Buffer.alloc(16);
  abort.writeUInt16BE(9, 0);
  abort.writeUInt16BE(40002, 2);
  abort[12] = 6;
  t.match(parseAnswer(ipv4(132, B, A, abort)), { proto: 'SCTP', key: 40002, dport: 9, how: 'ABORT', reachable: true });
  t.equal(parseAnswer(ipv4(132, A, B, sctpInit(40002, 9, 1, 1))), null, 'an INIT is no answer');
  // echo reply
  const reply = icmpEcho(7, 9);
  reply[0] = 0;
  t.match(parseAnswer(ipv4(1, B, A, reply)), { proto: 'ICMP', key: ((7 << 16) | 9) >>> 0, how: 'ICMP echo reply', reachable: true });
  t.equal(parseAnswer(ipv4(1, A, B, icmpEcho(7, 9))), null, 'an echo request is no answer');
  t.equal(parseAnswer(Buffer.from([0x60, 0, 0, 0])), null);
});
