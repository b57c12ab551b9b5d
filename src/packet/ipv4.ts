import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { i32, u16 } from './bytes.js';
import { decodeL4 } from './l4.js';

/** IPv4 flag bits in the flags/fragment-offset word. */
export const IPV4_DF = 0x4000;
export const IPV4_MF = 0x2000;

/**
 * IPv4 header at `p` (capture ends at `ce`, frame ends at `we` on the wire), then the transport header.
 *
 * Checks, in order (capture-formats.md §6, §8): version (K4); 20 B fixed header on the wire (K5) and in the capture
 * (else TRUNCATED); IHL ≥ 5 and IHL×4 within the wire (K5) and capture (TRUNCATED); total length ≥ IHL×4 (K6) and
 * ≤ the wire (K7); the datagram end is the total length, so Ethernet padding is never parsed (K8); a capture
 * shorter than the total length only sets `truncated`. Fragments: first (MF, offset 0) decodes L4 and must hold the
 * whole L4 header; non-first decodes no L4 (ports 0, frag = 2); a TCP fragment at offset 8 is FRAGMENT_INVALID
 * (RFC 1858).
 * @remarks hot path: no allocation.
 */
export function decodeIPv4(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey): number {
  k.family = 4;
  k.etherType = 0x0800;
  k.l3Off = p - base;
  if (we - p < 1 || ce - p < 1) return we - p < 1 ? DecodeStatus.IP_BAD_HEADER_LENGTH : DecodeStatus.TRUNCATED;
  const v = b[p];
  if (v >>> 4 !== 4) return DecodeStatus.IP_BAD_VERSION;
  if (we - p < 20) return DecodeStatus.IP_BAD_HEADER_LENGTH;
  const ihl = (v & 15) << 2;
  if (ihl < 20 || ihl > we - p) return DecodeStatus.IP_BAD_HEADER_LENGTH;
  if (ce - p < ihl) return DecodeStatus.TRUNCATED;
  const tot = u16(b, p + 2);
  if (tot < ihl) return DecodeStatus.IPV4_BAD_TOTAL_LENGTH;
  if (tot > we - p) return DecodeStatus.IPV4_LENGTH_EXCEEDS_WIRE;
  k.ipLen = tot;
  const end = p + tot;
  let cend = ce;
  if (ce < end) k.truncated = 1;
  else cend = end;
  const ff = u16(b, p + 6);
  const off = (ff & 0x1fff) << 3;
  const proto = b[p + 9];
  k.proto = proto;
  k.src3 = i32(b, p + 12) >>> 0;
  k.dst3 = i32(b, p + 16) >>> 0;
  k.fragId = u16(b, p + 4);
  k.fragOffset = off;
  const l4 = p + ihl;
  if (off !== 0) {
    k.frag = 2;
    k.l4Off = l4 - base;
    k.payloadOff = l4 - base;
    if (off === 8 && proto === 6) return DecodeStatus.FRAGMENT_INVALID;
    return DecodeStatus.OK;
  }
  let first = false;
  if ((ff & IPV4_MF) !== 0) {
    k.frag = 1;
    first = true;
  }
  return decodeL4(proto, b, l4, cend, end, base, k, first);
}
