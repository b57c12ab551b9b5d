/**
 * The header an ICMP/ICMPv6 error quotes, decoded into a second FlowKey (for conntrack RELATED lookups and for
 * sharding the error onto the worker that owns the flow). Uses the offsets the outer decode left in
 * `innerL3Off` / `innerL4Off` (relative to the frame start `base`); the outer decode has already checked that the
 * quoted IP header and 8 bytes of its payload are present.
 * @remarks hot path: no allocation.
 */
import { DecodeStatus } from '../core/enums.js';
import type { FlowKey } from '../core/flow-key.js';
import { i32, u16 } from './bytes.js';

export function decodeInner(b: Uint8Array, base: number, outer: FlowKey, inner: FlowKey): number {
  inner.reset();
  if (outer.innerFamily === 0) return (inner.status = DecodeStatus.ICMP_INNER_TRUNCATED);
  const q = base + outer.innerL3Off;
  const l4 = base + outer.innerL4Off;
  inner.family = outer.innerFamily;
  inner.proto = outer.innerProto;
  if (inner.family === 4) {
    inner.src3 = i32(b, q + 12) >>> 0;
    inner.dst3 = i32(b, q + 16) >>> 0;
  } else {
    inner.src0 = i32(b, q + 8) >>> 0;
    inner.src1 = i32(b, q + 12) >>> 0;
    inner.src2 = i32(b, q + 16) >>> 0;
    inner.src3 = i32(b, q + 20) >>> 0;
    inner.dst0 = i32(b, q + 24) >>> 0;
    inner.dst1 = i32(b, q + 28) >>> 0;
    inner.dst2 = i32(b, q + 32) >>> 0;
    inner.dst3 = i32(b, q + 36) >>> 0;
  }
  const p = inner.proto;
  if (p === 6 || p === 17 || p === 132) {
    inner.sport = u16(b, l4);
    inner.dport = u16(b, l4 + 2);
  } else if (p === 1 || p === 58) {
    inner.icmpType = b[l4]!;
    inner.icmpCode = b[l4 + 1]!;
    inner.sport = u16(b, l4 + 4);
  }
  inner.l3Off = outer.innerL3Off;
  inner.l4Off = outer.innerL4Off;
  return (inner.status = DecodeStatus.OK);
}
