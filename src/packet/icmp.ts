import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';

/** ICMPv4 types kpf names (RFC 792 and successors). */
export const IcmpType = {
  ECHO_REPLY: 0, DEST_UNREACH: 3, SOURCE_QUENCH: 4, REDIRECT: 5, ECHO_REQUEST: 8, TIME_EXCEEDED: 11,
  PARAM_PROBLEM: 12, TIMESTAMP: 13, TIMESTAMP_REPLY: 14, INFO_REQUEST: 15, INFO_REPLY: 16,
} as const;
/** ICMPv6 types kpf names (RFC 4443, 4861, 2710/3810). */
export const Icmp6Type = {
  DEST_UNREACH: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, PARAM_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129,
  MLD_QUERY: 130, MLD_REPORT: 131, MLD_DONE: 132, ROUTER_SOLICIT: 133, ROUTER_ADVERT: 134, NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136, REDIRECT: 137, MLD2_REPORT: 143,
} as const;

/** ICMPv4 error types that quote the offending datagram. */
export function icmp4IsError(t: number): boolean {
  return t === 3 || t === 11 || t === 12 || t === 4 || t === 5;
}
/** ICMPv6 error types (1–4) that quote the offending packet. */
export function icmp6IsError(t: number): boolean {
  return t >= 1 && t <= 4;
}

/**
 * ICMP (v4, `v6` false) or ICMPv6 header at `p`. Wire < 8 B ⇒ ICMP_BAD_HEADER; captured < 8 B ⇒ TRUNCATED.
 * Echo request/reply (and v4 timestamp/info): identifier into `sport`, 0 into `dport` (FlowKey convention).
 * Errors: the quoted IP header must be present in the capture with ≥ 8 bytes of its payload and be a plausible
 * header of the right version, else ICMP_INNER_TRUNCATED (K13 → 135); its offsets go to innerL3Off/innerL4Off.
 * @remarks hot path: no allocation.
 */
export function decodeIcmp(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, first: boolean, v6: boolean): number {
  if (we - p < 8) return first ? DecodeStatus.FRAGMENT_INVALID : DecodeStatus.ICMP_BAD_HEADER;
  if (ce - p < 8) return DecodeStatus.TRUNCATED;
  const t = b[p];
  k.icmpType = t;
  k.icmpCode = b[p + 1];
  k.payloadOff = p + 8 - base;
  if (v6) {
    if (t === 128 || t === 129) k.sport = u16(b, p + 4);
    else if (icmp6IsError(t)) return inner6(b, p + 8, ce, we, base, k);
  } else {
    if (t === 8 || t === 0 || (t >= 13 && t <= 16)) k.sport = u16(b, p + 4);
    else if (icmp4IsError(t)) return inner4(b, p + 8, ce, we, base, k);
  }
  return DecodeStatus.OK;
}

function inner4(b: Uint8Array, q: number, ce: number, we: number, base: number, k: FlowKey): number {
  const end = ce < we ? ce : we;
  if (end - q < 20) return DecodeStatus.ICMP_INNER_TRUNCATED;
  if (b[q] >>> 4 !== 4) return DecodeStatus.ICMP_INNER_TRUNCATED;
  const ihl = (b[q] & 15) << 2;
  if (ihl < 20 || end - q < ihl + 8) return DecodeStatus.ICMP_INNER_TRUNCATED;
  k.innerFamily = 4;
  k.innerProto = b[q + 9];
  k.innerL3Off = q - base;
  k.innerL4Off = q + ihl - base;
  return DecodeStatus.OK;
}

function inner6(b: Uint8Array, q: number, ce: number, we: number, base: number, k: FlowKey): number {
  const end = ce < we ? ce : we;
  if (end - q < 48) return DecodeStatus.ICMP_INNER_TRUNCATED;
  if (b[q] >>> 4 !== 6) return DecodeStatus.ICMP_INNER_TRUNCATED;
  k.innerFamily = 6;
  k.innerProto = b[q + 6];
  k.innerL3Off = q - base;
  // extension headers of the quoted packet are not walked here; innerL4Off points after the fixed header
  k.innerL4Off = q + 40 - base;
  return DecodeStatus.OK;
}
