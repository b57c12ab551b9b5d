import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { i32, u16 } from './bytes.js';

/** TCP flag bits in FlowKey.tcpFlags (RFC 9293; AE/NS is FlowKey.tcpAe). */
export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

/**
 * TCP header at `p` (capture ends at `ce`, segment ends at `we` on the wire). Needs 14 captured bytes (ports,
 * seq, ack, data offset, flags); the wire must hold ≥ 20 B and the data offset must be ≥ 5 and fit (K11).
 * Reads no byte before its length check. `first` = this is a first fragment (short ⇒ FRAGMENT_INVALID).
 * @remarks hot path: no allocation.
 */
export function decodeTcp(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, first: boolean): number {
  const wire = we - p;
  if (wire < 20) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.TCP_BAD_HEADER;
  if (ce - p < 14) return DecodeStatus.TRUNCATED;
  const doff = (b[p + 12] >>> 4) << 2;
  if (doff < 20) return DecodeStatus.TCP_BAD_HEADER;
  if (doff > wire) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.TCP_BAD_HEADER;
  k.sport = u16(b, p);
  k.dport = u16(b, p + 2);
  k.tcpSeq = i32(b, p + 4) >>> 0;
  k.tcpAck = i32(b, p + 8) >>> 0;
  k.tcpAe = b[p + 12] & 1;
  k.tcpFlags = b[p + 13];
  if (ce - p >= 16) k.tcpWindow = u16(b, p + 14);
  else k.truncated = 1;
  k.payloadOff = p + doff - base;
  if (p + doff > ce) k.truncated = 1;
  return DecodeStatus.OK;
}

/**
 * K14: flag combinations conntrack treats as INVALID (no entry is created): SYN+FIN, SYN+RST, no flags at all
 * (NULL scan), and FIN/PSH/URG without ACK (XMAS-style). Decoding still returns OK; the datapath decides.
 */
export function tcpFlagsInvalid(flags: number): boolean {
  const f = flags & 0x3f;
  if (f === 0) return true;
  if ((f & 3) === 3) return true; // SYN+FIN
  if ((f & 6) === 6) return true; // SYN+RST
  if ((f & 0x29) !== 0 && (f & 0x10) === 0 && (f & 2) === 0 && (f & 4) === 0) return true; // FIN/PSH/URG w/o ACK
  return false;
}
