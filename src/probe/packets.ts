/**
 * The probes of `kpf probe` as bytes (IPv4 payloads: the kernel adds the IP header of a raw socket) and the
 * answers as facts. Written for raw sockets of protocol 6/17/132/1, whose received buffers start with the IPv4
 * header.
 *
 *   TCP  SYN (with an MSS option)          answered by SYN-ACK or RST              → reachable
 *   UDP  8-byte datagram "kpf-probe"       answered by a UDP datagram or ICMP port unreachable (3/3) → reachable
 *   SCTP INIT                              answered by INIT-ACK or ABORT, or ICMP protocol unreachable (3/2)
 *                                          from a kernel without SCTP                                → reachable
 *   ICMP echo request                      answered by echo reply                  → reachable
 *   any  ICMP destination unreachable 3/9, 3/10, 3/13 (administratively prohibited, e.g. kpf live --reject),
 *        3/0, 3/1 (net/host unreachable)   → unreachable; silence until the timeout → unreachable
 */

export type ProbeProto = 'TCP' | 'UDP' | 'SCTP' | 'ICMP';

export const PROTO_NUMBER: Record<ProbeProto, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1 };

function ipv4Bytes(a: string): number[] {
  return a.split('.').map((x) => Number(x) & 255);
}

/** RFC 1071 ones-complement sum over `data` (and the IPv4 pseudo header when given). */
export function internetChecksum(data: Uint8Array, pseudo?: { src: string; dst: string; proto: number }): number {
  let sum = 0;
  if (pseudo) {
    const s = ipv4Bytes(pseudo.src);
    const d = ipv4Bytes(pseudo.dst);
    sum += (s[0]! << 8) + s[1]! + (s[2]! << 8) + s[3]! + (d[0]! << 8) + d[1]! + (d[2]! << 8) + d[3]!;
    sum += pseudo.proto + data.length;
  }
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

let crcTable: Uint32Array | undefined;

/** CRC32c (Castagnoli, reflected polynomial 0x82F63B78), as SCTP uses it. */
export function crc32c(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * An IPv4 header in front of `payload` (for IP_HDRINCL: the kernel fills the identification, the header checksum and
 * the total length), so that the source address is the pod's whatever route the kernel would pick — the TCP/UDP
 * checksums cover it.
 */
export function withIPv4(proto: number, src: string, dst: string, payload: Buffer): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  ipv4Bytes(src).forEach((x, i) => (b[12 + i] = x));
  ipv4Bytes(dst).forEach((x, i) => (b[16 + i] = x));
  payload.copy(b, 20);
  return b;
}

export function tcpSyn(src: string, dst: string, sport: number, dport: number, seq: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt32BE(seq >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b[12] = 6 << 4; // data offset: 6 words
  b[13] = 0x02; // SYN
  b.writeUInt16BE(64240, 14);
  b[20] = 2; // MSS option
  b[21] = 4;
  b.writeUInt16BE(1460, 22);
  b.writeUInt16BE(internetChecksum(b, { src, dst, proto: 6 }), 16);
  return b;
}

export const UDP_PAYLOAD = Buffer.from('kpf-probe');

export function udpDatagram(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(8 + UDP_PAYLOAD.length);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt16BE(b.length, 4);
  UDP_PAYLOAD.copy(b, 8);
  const c = internetChecksum(b, { src, dst, proto: 17 });
  b.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return b;
}

export function sctpInit(sport: number, dport: number, tag: number, tsn: number): Buffer {
  const b = Buffer.alloc(12 + 20);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt32BE(0, 4); // verification tag 0 for INIT
  b[12] = 1; // INIT
  b[13] = 0;
  b.writeUInt16BE(20, 14);
  b.writeUInt32BE(tag >>> 0 || 1, 16); // initiate tag, never 0
  b.writeUInt32BE(65535, 20); // a_rwnd
  b.writeUInt16BE(1, 24); // outbound streams
  b.writeUInt16BE(1, 26); // inbound streams
  b.writeUInt32BE(tsn >>> 0, 28);
  b.writeUInt32LE(crc32c(b), 8); // the CRC's bytes in the order the kernel writes them (little-endian word)
  return b;
}

export function icmpEcho(id: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + 8);
  b[0] = 8;
  b[1] = 0;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  Buffer.from('kpfprobe').copy(b, 8);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** What one received IPv4 packet says about a probe, keyed as the probe is. */
export interface Answer {
  /** probe protocol */
  proto: ProbeProto;
  /** TCP/UDP/SCTP: the probe's source port; ICMP echo: `id << 16 | seq` */
  key: number;
  /** the probe's destination port (TCP/UDP/SCTP), 0 for ICMP */
  dport: number;
  reachable: boolean;
  how: string;
  /** the packet's source address */
  from: string;
}

function ipText(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

const UNREACH_CODE: Record<number, string> = {
  0: 'ICMP net unreachable',
  1: 'ICMP host unreachable',
  2: 'ICMP protocol unreachable',
  3: 'ICMP port unreachable',
  9: 'ICMP net administratively prohibited',
  10: 'ICMP host administratively prohibited',
  13: 'ICMP communication administratively prohibited',
};

/**
 * Reads one IPv4 packet received on a raw socket: an answer to a probe (SYN-ACK, RST, UDP datagram, INIT-ACK,
 * ABORT, echo reply, ICMP destination unreachable quoting a probe), or null for anything else (including the probes
 * themselves when a pod probes its own address).
 */
export function parseAnswer(b: Uint8Array): Answer | null {
  if (b.length < 20 || b[0]! >> 4 !== 4) return null;
  const ihl = (b[0]! & 15) * 4;
  const proto = b[9]!;
  const from = ipText(b, 12);
  const p = ihl;
  const u16 = (o: number): number => (b[o]! << 8) | b[o + 1]!;
  if (proto === 6 && b.length >= p + 14) {
    const flags = b[p + 13]!;
    const syn = (flags & 0x02) !== 0;
    const ack = (flags & 0x10) !== 0;
    const rst = (flags & 0x04) !== 0;
    if (rst) return { proto: 'TCP', key: u16(p + 2), dport: u16(p), reachable: true, how: 'RST', from };
    if (syn && ack) return { proto: 'TCP', key: u16(p + 2), dport: u16(p), reachable: true, how: 'SYN-ACK', from };
    return null;
  }
  if (proto === 17 && b.length >= p + 8) {
    return { proto: 'UDP', key: u16(p + 2), dport: u16(p), reachable: true, how: 'UDP reply', from };
  }
  if (proto === 132 && b.length >= p + 13) {
    const chunk = b[p + 12]!;
    if (chunk === 2) return { proto: 'SCTP', key: u16(p + 2), dport: u16(p), reachable: true, how: 'INIT-ACK', from };
    if (chunk === 6) return { proto: 'SCTP', key: u16(p + 2), dport: u16(p), reachable: true, how: 'ABORT', from };
    return null;
  }
  if (proto === 1 && b.length >= p + 8) {
    const type = b[p]!;
    const code = b[p + 1]!;
    if (type === 0) return { proto: 'ICMP', key: ((u16(p + 4) << 16) | u16(p + 6)) >>> 0, dport: 0, reachable: true, how: 'ICMP echo reply', from };
    if (type !== 3) return null;
    // the quoted probe: its IPv4 header and first 8 bytes
    const q = p + 8;
    if (b.length < q + 20 || b[q]! >> 4 !== 4) return null;
    const qihl = (b[q]! & 15) * 4;
    const qproto = b[q + 9]!;
    const l4 = q + qihl;
    if (b.length < l4 + 8) return null;
    const how = UNREACH_CODE[code] ?? `ICMP destination unreachable code ${code}`;
    const name: ProbeProto | undefined = qproto === 6 ? 'TCP' : qproto === 17 ? 'UDP' : qproto === 132 ? 'SCTP' : qproto === 1 ? 'ICMP' : undefined;
    if (!name) return null;
    // port unreachable for UDP, protocol unreachable for SCTP: the destination's kernel got the probe
    const reachable = (code === 3 && name === 'UDP') || (code === 2 && name === 'SCTP');
    if (name === 'ICMP') return { proto: name, key: ((u16(l4 + 4) << 16) | u16(l4 + 6)) >>> 0, dport: 0, reachable: false, how, from };
    return { proto: name, key: u16(l4), dport: u16(l4 + 2), reachable, how, from };
  }
  return null;
}
