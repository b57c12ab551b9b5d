/**
 * Allocation-light frame builders for the traffic generators: Ethernet II / IPv4 / IPv6 / TCP / UDP / ICMP /
 * ICMPv6 / SCTP written into a caller's buffer with correct lengths and checksums.
 *
 *   off ─▶ ┌──────────┬──────────────┬──────────────────┬──────────────┬─────────┐
 *          │ Ethernet │ IPv4 (20 B)  │ TCP 20 B + opts  │ payload      │ padding │
 *          │  14 B    │ IPv6 (40 B)  │ UDP / ICMP 8 B   │ (L4 length)  │ (zeros) │
 *          └──────────┴──────────────┴──────────────────┴──────────────┴─────────┘
 *                      ◀────────── IP total length ──────────────────▶
 *
 * Frames are what a capture records: no preamble, no FCS. A frame shorter than {@link FrameSpec.frameLen} is
 * padded with zero bytes *after* the IP datagram (as Ethernet pads short frames: the IP length does not count the
 * padding), so every frame of a stream can have one fixed size.
 *
 * Two layers:
 *  - `write*` functions: one header each, no allocation, return the offset after the header;
 *    {@link finishL4Checksum} fills in the transport checksum of a complete datagram (pseudo-header read back from
 *    the IP header just written, so it works for both families).
 *  - {@link writeFrame}: a whole frame from a reusable, mutable {@link FrameSpec} (create one with
 *    {@link frameSpec} and change fields between calls).
 *
 * Checksums: IPv4 header, TCP, UDP (always set, also for IPv4), ICMP, ICMPv6 (with pseudo-header) — RFC 1071 sums
 * via src/packet/checksum.ts; SCTP CRC32c (RFC 9260 Appendix A), stored as Linux stores it (the decoder and
 * Wireshark read it the same way).
 *
 * MAC addresses are derived from IP addresses ({@link macFromIP}): `0a:58` + the last four bytes of the address,
 * the convention of the CNI bridge plugin, so a frame's addresses can be read back as the pod it belongs to.
 *
 * @remarks hot path of the generators: nothing here allocates except the helpers marked "setup".
 */
import { crc32c, fold, onesSum } from '../packet/checksum.js';
import { ipToBytes, parseIP } from '../core/ip.js';

export const ETH_HLEN = 14;
export const IPV4_HLEN = 20;
export const IPV6_HLEN = 40;
export const TCP_HLEN = 20;
export const UDP_HLEN = 8;
export const ICMP_HLEN = 8;
export const SCTP_HLEN = 12;
/** Ethernet minimum frame without FCS (64 with it). */
export const ETH_MIN_FRAME = 60;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;

/** TCP flag bits (byte 13 of the header). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** ICMP / ICMPv6 echo types. */
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

/** Parses an IPv4/IPv6 text into network-order bytes (4 or 16). Setup: allocates; throws on bad text. */
export function ipBytes(text: string): Uint8Array {
  const a = parseIP(text);
  if (!a) throw new Error(`not an IP address: ${text}`);
  return ipToBytes(a);
}

/** Writes the MAC derived from `ip` (`0a:58:` + its last four bytes) at `out[off]`. */
export function macFromIP(ip: Uint8Array, out: Uint8Array, off = 0): void {
  const n = ip.length;
  out[off] = 0x0a;
  out[off + 1] = 0x58;
  out[off + 2] = ip[n - 4]!;
  out[off + 3] = ip[n - 3]!;
  out[off + 4] = ip[n - 2]!;
  out[off + 5] = ip[n - 1]!;
}

/** The MAC of `ip` as a new 6-byte array. Setup: allocates. */
export function macOf(ip: Uint8Array): Uint8Array {
  const m = new Uint8Array(6);
  macFromIP(ip, m, 0);
  return m;
}

/** Ethernet II header; returns `off + 14`. */
export function writeEthernet(b: Uint8Array, off: number, dstMac: Uint8Array, srcMac: Uint8Array, etherType: number): number {
  for (let i = 0; i < 6; i++) {
    b[off + i] = dstMac[i]!;
    b[off + 6 + i] = srcMac[i]!;
  }
  b[off + 12] = etherType >>> 8;
  b[off + 13] = etherType & 0xff;
  return off + ETH_HLEN;
}

/**
 * IPv4 header without options (IHL 5), checksum computed; `l4Len` = bytes after the header. `df` sets Don't
 * Fragment (Linux sets it on TCP, UDP and ping traffic with path-MTU discovery). Returns `off + 20`.
 */
export function writeIPv4(
  b: Uint8Array, off: number, src: Uint8Array, dst: Uint8Array, proto: number, l4Len: number,
  id: number, ttl: number, df: boolean, tos = 0,
): number {
  const total = IPV4_HLEN + l4Len;
  b[off] = 0x45;
  b[off + 1] = tos & 0xff;
  b[off + 2] = total >>> 8;
  b[off + 3] = total & 0xff;
  b[off + 4] = (id >>> 8) & 0xff;
  b[off + 5] = id & 0xff;
  b[off + 6] = df ? 0x40 : 0;
  b[off + 7] = 0;
  b[off + 8] = ttl & 0xff;
  b[off + 9] = proto;
  b[off + 10] = 0;
  b[off + 11] = 0;
  for (let i = 0; i < 4; i++) {
    b[off + 12 + i] = src[i]!;
    b[off + 16 + i] = dst[i]!;
  }
  const c = ~fold(onesSum(b, off, off + IPV4_HLEN, 0)) & 0xffff;
  b[off + 10] = c >>> 8;
  b[off + 11] = c & 0xff;
  return off + IPV4_HLEN;
}

/** IPv6 fixed header (no extension headers); `payloadLen` = bytes after it. Returns `off + 40`. */
export function writeIPv6(
  b: Uint8Array, off: number, src: Uint8Array, dst: Uint8Array, nextHeader: number, payloadLen: number,
  hopLimit: number, flowLabel = 0, trafficClass = 0,
): number {
  b[off] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  b[off + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  b[off + 2] = (flowLabel >>> 8) & 0xff;
  b[off + 3] = flowLabel & 0xff;
  b[off + 4] = payloadLen >>> 8;
  b[off + 5] = payloadLen & 0xff;
  b[off + 6] = nextHeader;
  b[off + 7] = hopLimit & 0xff;
  for (let i = 0; i < 16; i++) {
    b[off + 8 + i] = src[i]!;
    b[off + 24 + i] = dst[i]!;
  }
  return off + IPV6_HLEN;
}

/**
 * TCP header with `optLen` option bytes copied from `opts` (a multiple of 4, ≤ 40); checksum left 0 (see
 * {@link finishL4Checksum}). Returns the offset of the payload.
 */
export function writeTcp(
  b: Uint8Array, off: number, sport: number, dport: number, seq: number, ack: number, flags: number,
  window: number, opts: Uint8Array | null, optLen: number,
): number {
  b[off] = sport >>> 8;
  b[off + 1] = sport & 0xff;
  b[off + 2] = dport >>> 8;
  b[off + 3] = dport & 0xff;
  b[off + 4] = seq >>> 24;
  b[off + 5] = (seq >>> 16) & 0xff;
  b[off + 6] = (seq >>> 8) & 0xff;
  b[off + 7] = seq & 0xff;
  b[off + 8] = ack >>> 24;
  b[off + 9] = (ack >>> 16) & 0xff;
  b[off + 10] = (ack >>> 8) & 0xff;
  b[off + 11] = ack & 0xff;
  b[off + 12] = ((TCP_HLEN + optLen) >>> 2) << 4;
  b[off + 13] = flags & 0xff;
  b[off + 14] = (window >>> 8) & 0xff;
  b[off + 15] = window & 0xff;
  b[off + 16] = 0;
  b[off + 17] = 0;
  b[off + 18] = 0;
  b[off + 19] = 0;
  for (let i = 0; i < optLen; i++) b[off + TCP_HLEN + i] = opts![i]!;
  return off + TCP_HLEN + optLen;
}

/** UDP header; `udpLen` = 8 + payload. Checksum left 0 (see {@link finishL4Checksum}). Returns `off + 8`. */
export function writeUdp(b: Uint8Array, off: number, sport: number, dport: number, udpLen: number): number {
  b[off] = sport >>> 8;
  b[off + 1] = sport & 0xff;
  b[off + 2] = dport >>> 8;
  b[off + 3] = dport & 0xff;
  b[off + 4] = udpLen >>> 8;
  b[off + 5] = udpLen & 0xff;
  b[off + 6] = 0;
  b[off + 7] = 0;
  return off + UDP_HLEN;
}

/** ICMP/ICMPv6 header with echo identifier and sequence (rest-of-header); checksum left 0. Returns `off + 8`. */
export function writeIcmpEcho(b: Uint8Array, off: number, type: number, code: number, id: number, seq: number): number {
  b[off] = type;
  b[off + 1] = code;
  b[off + 2] = 0;
  b[off + 3] = 0;
  b[off + 4] = (id >>> 8) & 0xff;
  b[off + 5] = id & 0xff;
  b[off + 6] = (seq >>> 8) & 0xff;
  b[off + 7] = seq & 0xff;
  return off + ICMP_HLEN;
}

/** SCTP common header (ports, verification tag); checksum left 0. Returns `off + 12` (where chunks start). */
export function writeSctp(b: Uint8Array, off: number, sport: number, dport: number, vtag: number): number {
  b[off] = sport >>> 8;
  b[off + 1] = sport & 0xff;
  b[off + 2] = dport >>> 8;
  b[off + 3] = dport & 0xff;
  b[off + 4] = vtag >>> 24;
  b[off + 5] = (vtag >>> 16) & 0xff;
  b[off + 6] = (vtag >>> 8) & 0xff;
  b[off + 7] = vtag & 0xff;
  b[off + 8] = 0;
  b[off + 9] = 0;
  b[off + 10] = 0;
  b[off + 11] = 0;
  return off + SCTP_HLEN;
}

/**
 * Pseudo-header sum (RFC 793 / RFC 8200 §8.1) read from the IP header at `l3`, for an L4 length `len` and
 * protocol `proto`. Not folded.
 */
export function pseudoSum(b: Uint8Array, l3: number, proto: number, len: number): number {
  let s = proto + (len >>> 16) + (len & 0xffff);
  if (b[l3]! >>> 4 === 4) return onesSum(b, l3 + 12, l3 + 20, s);
  return onesSum(b, l3 + 8, l3 + 40, s);
}

/**
 * Fills in the transport checksum of the datagram whose IP header is at `l3`, transport header at `l4`, and which
 * ends at `end` (the IP length, padding excluded). The protocol is read from the IP header. Returns the value
 * stored (for SCTP the CRC32c).
 */
export function finishL4Checksum(b: Uint8Array, l3: number, l4: number, end: number): number {
  const v6 = b[l3]! >>> 4 === 6;
  const proto = v6 ? b[l3 + 6]! : b[l3 + 9]!;
  const len = end - l4;
  let at: number;
  let init: number;
  switch (proto) {
    case PROTO_TCP:
      at = l4 + 16;
      init = pseudoSum(b, l3, proto, len);
      break;
    case PROTO_UDP:
      at = l4 + 6;
      init = pseudoSum(b, l3, proto, len);
      break;
    case PROTO_ICMP:
      at = l4 + 2;
      init = 0;
      break;
    case PROTO_ICMPV6:
      at = l4 + 2;
      init = pseudoSum(b, l3, proto, len);
      break;
    case PROTO_SCTP: {
      b[l4 + 8] = b[l4 + 9] = b[l4 + 10] = b[l4 + 11] = 0;
      const crc = crc32c(b, l4, end);
      b[l4 + 8] = crc & 0xff;
      b[l4 + 9] = (crc >>> 8) & 0xff;
      b[l4 + 10] = (crc >>> 16) & 0xff;
      b[l4 + 11] = crc >>> 24;
      return crc;
    }
    default:
      return 0;
  }
  b[at] = 0;
  b[at + 1] = 0;
  let c = ~fold(onesSum(b, l4, end, init)) & 0xffff;
  // UDP: a computed 0 is sent as 0xffff (0 means "no checksum", RFC 768)
  if (c === 0 && proto === PROTO_UDP) c = 0xffff;
  b[at] = c >>> 8;
  b[at + 1] = c & 0xff;
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// TCP options (setup helpers)

/** TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOpt = { EOL: 0, NOP: 1, MSS: 2, WSCALE: 3, SACK_PERM: 4, TIMESTAMP: 8 } as const;

/**
 * SYN options as Linux sends them: `MSS, SACK_PERM, TS val ecr, NOP, WS` (20 bytes) with timestamps, or the
 * 8-byte `MSS, NOP, WS` that fits a 64-byte IPv4 frame. Setup: allocates.
 */
export function synOptions(mss: number, wscale: number, ts: { val: number; ecr: number } | null): Uint8Array {
  if (ts) {
    const o = new Uint8Array(20);
    o.set([TcpOpt.MSS, 4, mss >>> 8, mss & 0xff, TcpOpt.SACK_PERM, 2, TcpOpt.TIMESTAMP, 10]);
    writeTsValues(o, 8, ts.val, ts.ecr);
    o.set([TcpOpt.NOP, TcpOpt.WSCALE, 3, wscale], 16);
    return o;
  }
  return Uint8Array.from([TcpOpt.MSS, 4, mss >>> 8, mss & 0xff, TcpOpt.NOP, TcpOpt.WSCALE, 3, wscale]);
}

/** Writes `NOP, NOP, TS val ecr` (12 bytes, the option block of every Linux segment after the SYN) at `o[off]`. */
export function writeTsOption(o: Uint8Array, off: number, val: number, ecr: number): void {
  o[off] = TcpOpt.NOP;
  o[off + 1] = TcpOpt.NOP;
  o[off + 2] = TcpOpt.TIMESTAMP;
  o[off + 3] = 10;
  writeTsValues(o, off + 4, val, ecr);
}

function writeTsValues(o: Uint8Array, off: number, val: number, ecr: number): void {
  o[off] = val >>> 24;
  o[off + 1] = (val >>> 16) & 0xff;
  o[off + 2] = (val >>> 8) & 0xff;
  o[off + 3] = val & 0xff;
  o[off + 4] = ecr >>> 24;
  o[off + 5] = (ecr >>> 16) & 0xff;
  o[off + 6] = (ecr >>> 8) & 0xff;
  o[off + 7] = ecr & 0xff;
}

// ---------------------------------------------------------------------------------------------------------------
// whole frames

/**
 * Everything {@link writeFrame} needs. Create one with {@link frameSpec}, mutate fields between frames (no
 * allocation per frame). Addresses are 4 bytes (IPv4) or 16 (IPv6), both the same family.
 */
export interface FrameSpec {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  /** PROTO_TCP, PROTO_UDP, PROTO_ICMP (IPv4) / PROTO_ICMPV6 (IPv6), PROTO_SCTP */
  proto: number;
  /** TTL / hop limit */
  ttl: number;
  /** IPv4 identification (ignored for IPv6) */
  ipId: number;
  /** IPv4 Don't Fragment */
  df: boolean;
  /** IPv6 flow label (ignored for IPv4) */
  flowLabel: number;
  /** TCP/UDP/SCTP ports */
  sport: number;
  dport: number;
  /** TCP */
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** TCP options (first `tcpOptLen` bytes, a multiple of 4) */
  tcpOpts: Uint8Array | null;
  tcpOptLen: number;
  /** ICMP/ICMPv6 type, code, echo identifier and sequence */
  icmpType: number;
  icmpCode: number;
  icmpId: number;
  icmpSeq: number;
  /** SCTP verification tag; the chunks are the payload */
  sctpVtag: number;
  /** payload bytes (first `payloadLen`); when null, `payloadLen` bytes of {@link fillPattern} */
  payload: Uint8Array | null;
  payloadLen: number;
  /** minimum frame length: shorter frames are padded with zeros after the IP datagram (0 = no padding) */
  frameLen: number;
}

/** A zeroed spec (IPv4 TCP, TTL 64, DF). Setup: allocates. */
export function frameSpec(): FrameSpec {
  return {
    srcMac: new Uint8Array(6),
    dstMac: new Uint8Array(6),
    src: new Uint8Array(4),
    dst: new Uint8Array(4),
    proto: PROTO_TCP,
    ttl: 64,
    ipId: 0,
    df: true,
    flowLabel: 0,
    sport: 0,
    dport: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    tcpOpts: null,
    tcpOptLen: 0,
    icmpType: 0,
    icmpCode: 0,
    icmpId: 0,
    icmpSeq: 0,
    sctpVtag: 0,
    payload: null,
    payloadLen: 0,
    frameLen: 0,
  };
}

/** Bytes of the L4 header the spec produces (TCP with options, UDP/ICMP 8, SCTP 12). */
export function l4HeaderLen(s: FrameSpec): number {
  switch (s.proto) {
    case PROTO_TCP:
      return TCP_HLEN + s.tcpOptLen;
    case PROTO_SCTP:
      return SCTP_HLEN;
    default:
      return UDP_HLEN;
  }
}

/** Bytes of Ethernet + IP + L4 headers + payload (before padding). */
export function datagramFrameLen(s: FrameSpec): number {
  return ETH_HLEN + (s.src.length === 4 ? IPV4_HLEN : IPV6_HLEN) + l4HeaderLen(s) + s.payloadLen;
}

/** Deterministic filler byte `i` of a payload: printable, like ping's 0x10.. pattern shifted into ASCII. */
export function fillPattern(i: number): number {
  return 0x61 + (i % 26);
}

/**
 * Writes the frame described by `s` at `b[off]` and returns its length (≥ `s.frameLen`). The buffer must hold
 * max(datagramFrameLen(s), s.frameLen) bytes from `off`.
 */
export function writeFrame(b: Uint8Array, off: number, s: FrameSpec): number {
  const v6 = s.src.length === 16;
  const l4h = l4HeaderLen(s);
  const l4Len = l4h + s.payloadLen;
  let p = writeEthernet(b, off, s.dstMac, s.srcMac, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const l3 = p;
  p = v6
    ? writeIPv6(b, p, s.src, s.dst, s.proto, l4Len, s.ttl, s.flowLabel)
    : writeIPv4(b, p, s.src, s.dst, s.proto, l4Len, s.ipId, s.ttl, s.df);
  const l4 = p;
  switch (s.proto) {
    case PROTO_TCP:
      p = writeTcp(b, p, s.sport, s.dport, s.seq, s.ack, s.flags, s.window, s.tcpOpts, s.tcpOptLen);
      break;
    case PROTO_UDP:
      p = writeUdp(b, p, s.sport, s.dport, l4Len);
      break;
    case PROTO_SCTP:
      p = writeSctp(b, p, s.sport, s.dport, s.sctpVtag);
      break;
    default:
      p = writeIcmpEcho(b, p, s.icmpType, s.icmpCode, s.icmpId, s.icmpSeq);
  }
  const pl = s.payload;
  if (pl) for (let i = 0; i < s.payloadLen; i++) b[p + i] = pl[i]!;
  else for (let i = 0; i < s.payloadLen; i++) b[p + i] = fillPattern(i);
  const end = p + s.payloadLen;
  finishL4Checksum(b, l3, l4, end);
  const len = end - off;
  if (len >= s.frameLen) return len;
  b.fill(0, end, off + s.frameLen);
  return s.frameLen;
}

// ---------------------------------------------------------------------------------------------------------------
// SCTP chunks (setup helpers)

/** SCTP chunk types (RFC 9260 §3.2). */
export const SctpChunkType = { DATA: 0, INIT: 1, INIT_ACK: 2, SACK: 3, ABORT: 6, SHUTDOWN: 7, SHUTDOWN_ACK: 8, COOKIE_ECHO: 10, COOKIE_ACK: 11, SHUTDOWN_COMPLETE: 14 } as const;

/**
 * An SCTP INIT (or INIT-ACK with `type` 2) chunk without parameters: initiate tag, a_rwnd, streams, initial TSN.
 * Setup: allocates.
 */
export function sctpInitChunk(type: number, initiateTag: number, tsn: number, rwnd = 106496, streams = 10): Uint8Array {
  const c = new Uint8Array(20);
  const dv = new DataView(c.buffer);
  c[0] = type;
  dv.setUint16(2, 20);
  dv.setUint32(4, initiateTag >>> 0);
  dv.setUint32(8, rwnd >>> 0);
  dv.setUint16(12, streams);
  dv.setUint16(14, streams);
  dv.setUint32(16, tsn >>> 0);
  return c;
}

/** An SCTP DATA chunk (B and E flags set) carrying `data`, padded to 4 bytes. Setup: allocates. */
export function sctpDataChunk(tsn: number, stream: number, ssn: number, ppid: number, data: Uint8Array): Uint8Array {
  const len = 16 + data.length;
  const c = new Uint8Array((len + 3) & ~3);
  const dv = new DataView(c.buffer);
  c[0] = SctpChunkType.DATA;
  c[1] = 0x03;
  dv.setUint16(2, len);
  dv.setUint32(4, tsn >>> 0);
  dv.setUint16(8, stream);
  dv.setUint16(10, ssn);
  dv.setUint32(12, ppid >>> 0);
  c.set(data, 16);
  return c;
}
