import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u32le } from './bytes.js';
import { decodeIPv4 } from './ipv4.js';
import { decodeIPv6 } from './ipv6.js';
import type { DecodeOptions } from './options.js';

/**
 * LINKTYPE_NULL (0): 4-byte address family in the *writer's* byte order (a value > 0xFFFF is byte-swapped).
 * AF_INET 2 → IPv4; 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin), 10 (Linux) → IPv6; anything else NON_IP.
 * @remarks hot path: no allocation.
 */
export function decodeNull(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, opts: DecodeOptions): number {
  if (we - p < 4) return DecodeStatus.L2_MALFORMED;
  if (ce - p < 4) return DecodeStatus.TRUNCATED;
  let af = u32le(b, p);
  if (af > 0xffff) af = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  if (af === 2) return decodeIPv4(b, p + 4, ce, we, base, k);
  if (af === 24 || af === 28 || af === 30 || af === 10) return decodeIPv6(b, p + 4, ce, we, base, k, opts.ipv6MaxExtHeaders);
  k.l3Off = p + 4 - base;
  return DecodeStatus.NON_IP;
}
