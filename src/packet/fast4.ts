/**
 * The common frame, parsed without the general decoder: IPv4 without options, not fragmented, captured whole,
 * carrying TCP or UDP, directly in Ethernet II (no VLAN tag) or as a raw IPv4 link type (101 with version 4, 228).
 *
 * {@link Fast4.parse} accepts a frame only when {@link decode} would return OK for it with `truncated` 0, `frag` 0,
 * no inner header and exactly the fields kept here — so a caller that takes this path (the replay fast path,
 * datapath/classify.ts) gets the verdict the general path would give. Anything else (VLAN, IPv6, options,
 * fragments, ICMP, SCTP, truncation, malformation, `--verify-checksums`) returns false and goes to the general
 * decoder. test/packet/fast4.test.ts checks that equivalence on generated and mutated frames.
 *
 * @remarks hot path: no allocation; every field is an int32 or small integer (address words as int32, as the
 * conntrack tables store them).
 */
import { MAX_TRUSTED_WIRE_LEN } from './options.js';

export class Fast4 {
  /** 6 TCP or 17 UDP */
  proto = 0;
  /** source and destination address as int32 (the bits of FlowKey.src3/dst3) */
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  /** conntrack ports word: sport << 16 | dport, as int32 */
  ports = 0;
  /** TCP flag byte (0 for UDP) */
  tcpFlags = 0;
  /** IPv4 total length (FlowKey.ipLen) */
  ipLen = 0;

  /** Parses the frame at `buf[off, off + capLen)` (wire length `wireLen`); false when it is not the common case. */
  parse(linkType: number, b: Uint8Array, off: number, capLen: number, wireLen: number): boolean {
    if (!(off >= 0) || !(capLen >= 0) || off + capLen > b.length) return false;
    let p: number;
    if (linkType === 1) {
      if (capLen < 34 || b[off + 12] !== 0x08 || b[off + 13] !== 0x00) return false;
      p = off + 14;
    } else if (linkType === 101 || linkType === 228) {
      p = off;
    } else return false;
    const ce = off + capLen;
    if (ce - p < 20 || b[p] !== 0x45) return false;
    // the decoder bounds the datagram by the wire length unless that is absurd or below the captured length
    const wire = wireLen >= capLen && wireLen <= MAX_TRUSTED_WIRE_LEN ? wireLen : capLen;
    const tot = (b[p + 2]! << 8) | b[p + 3]!;
    const end = p + tot;
    // captured whole (so not truncated, and within the wire since capLen <= wire)
    if (end > ce || end > off + wire) return false;
    // neither MF nor a fragment offset (DF and the reserved bit are ignored, as by the decoder)
    if ((((b[p + 6]! << 8) | b[p + 7]!) & 0x3fff) !== 0) return false;
    const proto = b[p + 9]!;
    const l4 = p + 20;
    const l4len = tot - 20;
    if (proto === 6) {
      if (l4len < 20) return false;
      const doff = (b[l4 + 12]! >>> 4) << 2;
      if (doff < 20 || doff > l4len) return false;
      this.tcpFlags = b[l4 + 13]!;
    } else if (proto === 17) {
      if (l4len < 8) return false;
      const len = (b[l4 + 4]! << 8) | b[l4 + 5]!;
      if (len < 8 || len > l4len) return false;
      this.tcpFlags = 0;
    } else return false;
    this.proto = proto;
    this.src = (b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!;
    this.dst = (b[p + 16]! << 24) | (b[p + 17]! << 16) | (b[p + 18]! << 8) | b[p + 19]!;
    const sport = (b[l4]! << 8) | b[l4 + 1]!;
    const dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
    this.sport = sport;
    this.dport = dport;
    this.ports = (sport << 16) | dport;
    this.ipLen = tot;
    return true;
  }
}
