import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { i32, u16 } from './bytes.js';
import { decodeL4 } from './l4.js';

/**
 * IPv6 fixed header at `p`, the extension-header chain (at most `maxExt` headers, Cilium IPV6_MAX_HEADERS), then
 * the transport header.
 *
 * - version ≠ 6 ⇒ IP_BAD_VERSION (K4); < 40 B on the wire ⇒ IP_BAD_HEADER_LENGTH; < 40 B captured ⇒ TRUNCATED.
 * - payload length 0 without a Jumbo Payload option in a Hop-by-Hop header, or more than the wire ⇒
 *   IPV6_BAD_PAYLOAD_LENGTH (K9); more than the capture ⇒ `truncated`. Bytes after the payload (padding) ignored.
 * - extension headers: 0 (only first), 43, 44, 60, 51 (AH), 135, 139, 140, 253, 254; more than `maxExt`, running
 *   past the datagram, or Hop-by-Hop not first ⇒ IPV6_BAD_EXT_HEADER (K10); running past the capture ⇒ TRUNCATED.
 * - 50 ESP / 59 No Next Header stop the walk (OK, no ports).
 * - fragment header: offset > 0 ⇒ frag = 2, no L4; offset 0 with M ⇒ frag = 1 and the rest of the chain and the
 *   L4 header must be in this fragment (RFC 7112, else FRAGMENT_INVALID); offset 0 without M (atomic, RFC 6946) is
 *   treated as unfragmented (fragId still recorded).
 * @remarks hot path: no allocation.
 */
export function decodeIPv6(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, maxExt: number): number {
  k.family = 6;
  k.etherType = 0x86dd;
  k.l3Off = p - base;
  if (we - p < 1 || ce - p < 1) return we - p < 1 ? DecodeStatus.IP_BAD_HEADER_LENGTH : DecodeStatus.TRUNCATED;
  if (b[p] >>> 4 !== 6) return DecodeStatus.IP_BAD_VERSION;
  if (we - p < 40) return DecodeStatus.IP_BAD_HEADER_LENGTH;
  if (ce - p < 40) return DecodeStatus.TRUNCATED;
  let plen = u16(b, p + 4);
  let nh = b[p + 6];
  k.src0 = i32(b, p + 8) >>> 0;
  k.src1 = i32(b, p + 12) >>> 0;
  k.src2 = i32(b, p + 16) >>> 0;
  k.src3 = i32(b, p + 20) >>> 0;
  k.dst0 = i32(b, p + 24) >>> 0;
  k.dst1 = i32(b, p + 28) >>> 0;
  k.dst2 = i32(b, p + 32) >>> 0;
  k.dst3 = i32(b, p + 36) >>> 0;
  if (plen === 0) {
    plen = jumbo(b, p, ce, we, nh);
    if (plen < 0) return DecodeStatus.IPV6_BAD_PAYLOAD_LENGTH;
  }
  if (plen > we - p - 40) return DecodeStatus.IPV6_BAD_PAYLOAD_LENGTH;
  k.ipLen = 40 + plen;
  const end = p + 40 + plen;
  let cend = ce;
  if (ce < end) k.truncated = 1;
  else cend = end;
  let q = p + 40;
  let first = false;
  for (let n = 0; ; n++) {
    let len: number;
    if (nh === 0 && n !== 0) return DecodeStatus.IPV6_BAD_EXT_HEADER; // Hop-by-Hop only first
    switch (nh) {
      case 0:
      case 43:
      case 60:
      case 135:
      case 139:
      case 140:
      case 253:
      case 254:
        if (n >= maxExt) return DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (end - q < 2) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (cend - q < 2) return DecodeStatus.TRUNCATED;
        len = (b[q + 1] + 1) << 3;
        break;
      case 51:
        if (n >= maxExt) return DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (end - q < 2) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (cend - q < 2) return DecodeStatus.TRUNCATED;
        len = (b[q + 1] + 2) << 2;
        break;
      case 44: {
        if (n >= maxExt) return DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (end - q < 8) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.IPV6_BAD_EXT_HEADER;
        if (cend - q < 8) return DecodeStatus.TRUNCATED;
        const fo = u16(b, q + 2);
        const off = fo & 0xfff8;
        k.fragId = i32(b, q + 4) >>> 0;
        k.fragOffset = off;
        if (off !== 0) {
          k.frag = 2;
          k.proto = b[q];
          k.l4Off = q + 8 - base;
          k.payloadOff = q + 8 - base;
          return DecodeStatus.OK;
        }
        if ((fo & 1) !== 0) {
          k.frag = 1;
          first = true;
        }
        nh = b[q];
        q += 8;
        continue;
      }
      case 50:
      case 59:
        k.proto = nh;
        k.l4Off = q - base;
        k.payloadOff = q - base;
        return DecodeStatus.OK;
      default:
        k.proto = nh;
        return decodeL4(nh, b, q, cend, end, base, k, first);
    }
    if (len > end - q) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.IPV6_BAD_EXT_HEADER;
    if (len > cend - q) return DecodeStatus.TRUNCATED;
    nh = b[q];
    q += len;
  }
}

/** Jumbo Payload option (RFC 2675) in a Hop-by-Hop header directly after the fixed header: its length minus 0,
 *  or -1 when absent/invalid. */
function jumbo(b: Uint8Array, p: number, ce: number, we: number, nh: number): number {
  if (nh !== 0) return -1;
  const h = p + 40;
  const lim = ce < we ? ce : we;
  if (lim - h < 8) return -1;
  const hend = h + ((b[h + 1] + 1) << 3);
  if (hend > lim) return -1;
  let o = h + 2;
  while (o < hend) {
    const t = b[o];
    if (t === 0) {
      o++;
      continue;
    }
    if (o + 2 > hend) return -1;
    const l = b[o + 1];
    if (t === 0xc2 && l === 4 && o + 6 <= hend) {
      const v = i32(b, o + 2) >>> 0;
      return v > 65535 ? v : -1;
    }
    o += 2 + l;
  }
  return -1;
}
