import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { i32, u16 } from './bytes.js';

/** SCTP chunk types (RFC 9260 §3.2). */
export const SctpChunk = {
  DATA: 0, INIT: 1, INIT_ACK: 2, SACK: 3, HEARTBEAT: 4, HEARTBEAT_ACK: 5, ABORT: 6, SHUTDOWN: 7, SHUTDOWN_ACK: 8,
  ERROR: 9, COOKIE_ECHO: 10, COOKIE_ACK: 11, SHUTDOWN_COMPLETE: 14,
} as const;

/**
 * SCTP common header (12 B) + first chunk header (4 B) at `p`. Wire shorter than 16 B ⇒ SCTP_BAD_HEADER (K12);
 * captured shorter than 13 B (ports, vtag, chunk type) ⇒ TRUNCATED.
 * @remarks hot path: no allocation.
 */
export function decodeSctp(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, first: boolean): number {
  if (we - p < 16) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.SCTP_BAD_HEADER;
  if (ce - p < 13) return DecodeStatus.TRUNCATED;
  k.sport = u16(b, p);
  k.dport = u16(b, p + 2);
  k.sctpVtag = i32(b, p + 4) >>> 0;
  k.sctpChunk = b[p + 12];
  k.payloadOff = p + 12 - base;
  if (ce - p < 16) k.truncated = 1;
  return DecodeStatus.OK;
}
