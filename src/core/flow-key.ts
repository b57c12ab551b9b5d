/**
 * FlowKey: the reusable, allocation-free result of decoding one packet, and the key every datapath table
 * (conntrack, verdict cache, fragments, NAT) is indexed by.
 *
 *   family  proto   src0..src3 (u32, network order words; IPv4 in src3, src0..2 = 0)   sport  dport
 *   4|6     IP      dst0..dst3                                                        (ICMP echo: id in sport, 0 in dport;
 *                                                                                      type and code in icmpType/icmpCode)
 *
 * One instance is allocated per worker/decoder and overwritten for every packet (hot path: no allocation).
 * Field meanings are documented on each field; `status` is a DecodeStatus (0 = OK).
 */
export class FlowKey {
  /** 4 or 6; 0 for non-IP frames */
  family = 0;
  /** IP protocol number of the transport header (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6, …) */
  proto = 0;
  /** source address, four big-endian 32-bit words; IPv4 uses src3 only */
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  /** destination address, as src */
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  /** TCP/UDP/SCTP ports; ICMP echo: identifier in sport, 0 in dport */
  sport = 0;
  dport = 0;
  /** ICMP/ICMPv6 type and code (0 otherwise) */
  icmpType = 0;
  icmpCode = 0;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128) */
  tcpFlags = 0;
  /** SCTP first chunk type (INIT 1, INIT-ACK 2, ABORT 6, SHUTDOWN 7, SHUTDOWN-ACK 8, COOKIE-ECHO 10, …) */
  sctpChunk = 0;
  /** fragment: 0 not a fragment; 1 first fragment; 2 non-first fragment */
  frag = 0;
  /** IPv4 identification / IPv6 fragment identification */
  fragId = 0;
  /** ethertype of the frame (0x0800, 0x86dd, 0x0806 …) */
  etherType = 0;
  /** byte offsets within the frame: network header, transport header, payload */
  l3Off = 0;
  l4Off = 0;
  payloadOff = 0;
  /** IP total length as the header states (bytes from l3Off) */
  ipLen = 0;
  /** original frame length (record `len`) and captured length (`caplen`) */
  wireLen = 0;
  capLen = 0;
  /** DecodeStatus; 0 = OK */
  status = 0;
  /** 1 when caplen < len and fields beyond the capture are missing */
  truncated = 0;

  // ---- added by capture I/O (src/packet/decode.ts); all 0 when absent ----
  /** LINKTYPE the frame was decoded with */
  linkType = 0;
  /** number of 802.1Q/802.1ad tags skipped (0–vlanMaxTags) */
  vlanCount = 0;
  /** VID of the outer tag and of the second tag (0 when absent; check vlanCount) */
  vlanId = 0;
  vlanId2 = 0;
  /** fragment offset in bytes (IPv4 13-bit offset × 8 / IPv6 fragment header offset × 8) */
  fragOffset = 0;
  /** TCP sequence and acknowledgement numbers (u32), window (u16), AE/NS bit (0|1) */
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  tcpAe = 0;
  /** SCTP verification tag (u32) */
  sctpVtag = 0;
  /**
   * ICMP/ICMPv6 error (v4 types 3, 4, 5, 11, 12; v6 types 1–4): byte offsets within the frame of the quoted inner
   * IP header and of its transport header (for RELATED lookups), and the inner IP family and protocol. 0 otherwise.
   */
  innerL3Off = 0;
  innerL4Off = 0;
  innerFamily = 0;
  innerProto = 0;

  /** Copies every field from another key (no allocation). */
  copyFrom(o: FlowKey): void {
    this.family = o.family;
    this.proto = o.proto;
    this.src0 = o.src0;
    this.src1 = o.src1;
    this.src2 = o.src2;
    this.src3 = o.src3;
    this.dst0 = o.dst0;
    this.dst1 = o.dst1;
    this.dst2 = o.dst2;
    this.dst3 = o.dst3;
    this.sport = o.sport;
    this.dport = o.dport;
    this.icmpType = o.icmpType;
    this.icmpCode = o.icmpCode;
    this.tcpFlags = o.tcpFlags;
    this.sctpChunk = o.sctpChunk;
    this.frag = o.frag;
    this.fragId = o.fragId;
    this.etherType = o.etherType;
    this.l3Off = o.l3Off;
    this.l4Off = o.l4Off;
    this.payloadOff = o.payloadOff;
    this.ipLen = o.ipLen;
    this.wireLen = o.wireLen;
    this.capLen = o.capLen;
    this.status = o.status;
    this.truncated = o.truncated;
    this.linkType = o.linkType;
    this.vlanCount = o.vlanCount;
    this.vlanId = o.vlanId;
    this.vlanId2 = o.vlanId2;
    this.fragOffset = o.fragOffset;
    this.tcpSeq = o.tcpSeq;
    this.tcpAck = o.tcpAck;
    this.tcpWindow = o.tcpWindow;
    this.tcpAe = o.tcpAe;
    this.sctpVtag = o.sctpVtag;
    this.innerL3Off = o.innerL3Off;
    this.innerL4Off = o.innerL4Off;
    this.innerFamily = o.innerFamily;
    this.innerProto = o.innerProto;
  }

  /** Resets to an empty key. */
  reset(): void {
    this.family = this.proto = 0;
    this.src0 = this.src1 = this.src2 = this.src3 = 0;
    this.dst0 = this.dst1 = this.dst2 = this.dst3 = 0;
    this.sport = this.dport = this.icmpType = this.icmpCode = this.tcpFlags = this.sctpChunk = 0;
    this.frag = this.fragId = this.etherType = 0;
    this.l3Off = this.l4Off = this.payloadOff = this.ipLen = this.wireLen = this.capLen = 0;
    this.status = this.truncated = 0;
    this.linkType = this.vlanCount = this.vlanId = this.vlanId2 = this.fragOffset = 0;
    this.tcpSeq = this.tcpAck = this.tcpWindow = this.tcpAe = this.sctpVtag = 0;
    this.innerL3Off = this.innerL4Off = this.innerFamily = this.innerProto = 0;
  }
}

/** Text of an address held in four words (debugging and output, not the hot path). */
export function wordsToIP(family: number, w0: number, w1: number, w2: number, w3: number): string {
  if (family === 4) return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
