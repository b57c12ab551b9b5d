import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';

/**
 * UDP header at `p`. Wire must hold 8 B, and the UDP length must be 8 ≤ length ≤ IP payload (K12; the upper bound
 * is not checked on a first fragment, whose UDP length covers the whole datagram). Ports need 4 captured bytes.
 * @remarks hot path: no allocation.
 */
export function decodeUdp(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, first: boolean): number {
  const wire = we - p;
  if (wire < 8) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.UDP_BAD_HEADER;
  if (ce - p < 4) return DecodeStatus.TRUNCATED;
  k.sport = u16(b, p);
  k.dport = u16(b, p + 2);
  k.payloadOff = p + 8 - base;
  if (ce - p < 6) {
    k.truncated = 1;
    return DecodeStatus.OK;
  }
  const len = u16(b, p + 4);
  if (len < 8 || (!first && len > wire)) return DecodeStatus.UDP_BAD_HEADER;
  if (ce - p < 8) k.truncated = 1;
  return DecodeStatus.OK;
}
