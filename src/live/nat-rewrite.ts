/**
 * Service NAT on real packets (live mode): the classifier decides the backend and records the translation in its
 * conntrack entry; this module rewrites the bytes — the destination of a request to a ClusterIP:port (DNAT) and the
 * source of the backend's replies (reverse NAT) — and fixes the IPv4 header checksum and the TCP/UDP/SCTP checksum.
 *
 * Checksums are updated incrementally (RFC 1624, HC' = ~(~HC + ~m + m')) over the changed 16-bit words, which is
 * exact for any packet whose checksum was valid before, also a first fragment (its L4 checksum covers the whole
 * datagram, but only the changed words matter). UDP over IPv4 with checksum 0 ("none") stays 0; a computed 0 is
 * sent as 0xffff. SCTP's CRC32c does not cover addresses, only the ports: it is recomputed over the packet.
 * Non-first fragments carry no L4 header: only the addresses change.
 *
 * The conntrack entry layout read by {@link natOfEntry} is the one documented in datapath/conntrack.ts (tup u32 × 20:
 * orig src 0..3, orig dst 4..7, orig ports 8, reply src 9..12, reply dst 13..16, reply ports 17; ports word
 * `sport << 16 | dport`).
 *
 * @remarks hot path: no allocation.
 */
import type { FlowKey } from '../core/flow-key.js';
import { crc32c } from '../packet/checksum.js';
import { CtFlag, type Conntrack } from '../datapath/conntrack.js';
import { u16 as rd16, u32 as rd32, w16 as wr16, w32 as wr32 } from '../packet/bytes.js';

/** A translation to apply: family, 4 address words (IPv4 in w3) and a port. */
export class NatTarget {
  family = 0;
  proto = 0;
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  port = 0;
}

/** One's-complement update of checksum `cs` for a 16-bit word changing from `old` to `nw` (RFC 1624 eq. 3). */
export function csumUpdate16(cs: number, old: number, nw: number): number {
  let s = (~cs & 0xffff) + (~old & 0xffff) + (nw & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Same for a 32-bit word (two 16-bit halves). */
export function csumUpdate32(cs: number, old: number, nw: number): number {
  return csumUpdate16(csumUpdate16(cs, old >>> 16, nw >>> 16), old & 0xffff, nw & 0xffff);
}


/** Offset of the L4 checksum field from the L4 header, or -1 (none / not rewritable incrementally). */
function l4CsumOffset(proto: number): number {
  if (proto === 6) return 16;
  if (proto === 17 || proto === 136) return 6;
  return -1;
}

/**
 * Rewrites the source (`which` = 0) or destination (`which` = 1) address and port of the packet at `base`, already
 * decoded into `k` (frame = raw IP: l3Off/l4Off relative to `base`). `k` is updated to the new values.
 * Returns false (packet unchanged) when the families differ or the L4 header is not in the buffer.
 */
export function rewriteEndpoint(b: Uint8Array, base: number, k: FlowKey, which: 0 | 1, t: NatTarget, end = b.length): boolean {
  if (t.family !== k.family || (k.family !== 4 && k.family !== 6)) return false;
  const l3 = base + k.l3Off;
  const l4 = base + k.l4Off;
  const hasL4 = k.frag !== 2 && (k.proto === 6 || k.proto === 17 || k.proto === 136 || k.proto === 132);
  if (hasL4 && l4 + (k.proto === 6 ? 18 : k.proto === 132 ? 12 : 8) > end) return false;
  const csOff = hasL4 ? l4CsumOffset(k.proto) : -1;
  let l4cs = csOff >= 0 ? rd16(b, l4 + csOff) : 0;
  const udpNone = k.proto === 17 && k.family === 4 && l4cs === 0;
  // addresses
  if (k.family === 4) {
    const p = l3 + (which === 0 ? 12 : 16);
    const old = rd32(b, p);
    const nw = t.w3 >>> 0;
    wr32(b, p, nw);
    wr16(b, l3 + 10, csumUpdate32(rd16(b, l3 + 10), old, nw));
    if (csOff >= 0 && !udpNone) l4cs = csumUpdate32(l4cs, old, nw);
    if (which === 0) k.src3 = nw;
    else k.dst3 = nw;
  } else {
    const p = l3 + (which === 0 ? 8 : 24);
    const ws = [t.w0 >>> 0, t.w1 >>> 0, t.w2 >>> 0, t.w3 >>> 0];
    for (let i = 0; i < 4; i++) {
      const old = rd32(b, p + 4 * i);
      wr32(b, p + 4 * i, ws[i]!);
      if (csOff >= 0) l4cs = csumUpdate32(l4cs, old, ws[i]!);
    }
    if (which === 0) {
      k.src0 = ws[0]!;
      k.src1 = ws[1]!;
      k.src2 = ws[2]!;
      k.src3 = ws[3]!;
    } else {
      k.dst0 = ws[0]!;
      k.dst1 = ws[1]!;
      k.dst2 = ws[2]!;
      k.dst3 = ws[3]!;
    }
  }
  // port
  if (hasL4) {
    const pp = l4 + (which === 0 ? 0 : 2);
    const old = rd16(b, pp);
    const nw = t.port & 0xffff;
    wr16(b, pp, nw);
    if (csOff >= 0 && !udpNone) l4cs = csumUpdate16(l4cs, old, nw);
    if (which === 0) k.sport = nw;
    else k.dport = nw;
    if (csOff >= 0) {
      if (k.proto === 17 && !udpNone && l4cs === 0) l4cs = 0xffff;
      wr16(b, l4 + csOff, l4cs);
    } else if (k.proto === 132) {
      const ipEnd = Math.min(end, l3 + k.ipLen);
      const c = crc32c(b, l4, ipEnd, l4 + 8);
      b[l4 + 8] = c & 0xff;
      b[l4 + 9] = (c >>> 8) & 0xff;
      b[l4 + 10] = (c >>> 16) & 0xff;
      b[l4 + 11] = (c >>> 24) & 0xff;
    }
  }
  return true;
}

/** DNAT: destination := t (ClusterIP:port → backend:targetPort). */
export function rewriteDestination(b: Uint8Array, base: number, k: FlowKey, t: NatTarget, end = b.length): boolean {
  return rewriteEndpoint(b, base, k, 1, t, end);
}

/** Reverse NAT: source := t (backend:targetPort → ClusterIP:port). */
export function rewriteSource(b: Uint8Array, base: number, k: FlowKey, t: NatTarget, end = b.length): boolean {
  return rewriteEndpoint(b, base, k, 0, t, end);
}

/** What {@link natOfEntry} found for a packet. */
export const NatAction = { NONE: 0, DNAT: 1, UNDNAT: 2 } as const;

/** Conntrack tuple layout (conntrack.ts): u32 words per entry and offsets. */
const STRIDE = 20;
const O_ODST = 4;
const O_OPORTS = 8;
const O_RSRC = 9;
const O_RPORTS = 17;

/**
 * The translation the packet `k` needs according to conntrack entry `slot` (global slot, as `ct.slot` after the
 * classifier saw the packet): a request still addressed to the entry's original destination (ClusterIP:port) gets
 * DNAT to the reply source (backend:targetPort); a reply from the backend gets its source turned back into the
 * ClusterIP:port. Fills `t` and returns a {@link NatAction}; NONE for an entry without NAT or a packet that already
 * carries the right addresses.
 */
export function natOfEntry(ct: Conntrack, slot: number, k: FlowKey, t: NatTarget): number {
  if (slot < 0) return NatAction.NONE;
  const tb = slot < ct.tcp.base + ct.tcp.capacity ? ct.tcp : ct.other;
  const e = slot - tb.base;
  if (e < 0 || e >= tb.capacity || tb.used[e] !== 1 || (tb.flags[e]! & CtFlag.NAT) === 0) return NatAction.NONE;
  if (tb.fp[e] !== (((k.family & 0xff) << 8) | (k.proto & 0xff))) return NatAction.NONE;
  const tu = tb.tup;
  const o = e * STRIDE;
  const portful = k.proto === 6 || k.proto === 17 || k.proto === 132 || k.proto === 136 || k.proto === 33;
  t.family = k.family;
  t.proto = k.proto;
  // request to the original destination?
  const oPorts = tu[o + O_OPORTS]! >>> 0;
  if (
    (k.dst3 | 0) === (tu[o + O_ODST + 3]! | 0) &&
    (k.dst2 | 0) === (tu[o + O_ODST + 2]! | 0) &&
    (k.dst1 | 0) === (tu[o + O_ODST + 1]! | 0) &&
    (k.dst0 | 0) === (tu[o + O_ODST]! | 0) &&
    (!portful || k.dport === (oPorts & 0xffff))
  ) {
    const rPorts = tu[o + O_RPORTS]! >>> 0;
    t.w0 = tu[o + O_RSRC]! >>> 0;
    t.w1 = tu[o + O_RSRC + 1]! >>> 0;
    t.w2 = tu[o + O_RSRC + 2]! >>> 0;
    t.w3 = tu[o + O_RSRC + 3]! >>> 0;
    t.port = portful ? rPorts >>> 16 : 0;
    if (t.w0 === k.dst0 >>> 0 && t.w1 === k.dst1 >>> 0 && t.w2 === k.dst2 >>> 0 && t.w3 === k.dst3 >>> 0 && (!portful || t.port === k.dport)) return NatAction.NONE;
    return NatAction.DNAT;
  }
  // reply from the backend?
  const rPorts = tu[o + O_RPORTS]! >>> 0;
  if (
    (k.src3 | 0) === (tu[o + O_RSRC + 3]! | 0) &&
    (k.src2 | 0) === (tu[o + O_RSRC + 2]! | 0) &&
    (k.src1 | 0) === (tu[o + O_RSRC + 1]! | 0) &&
    (k.src0 | 0) === (tu[o + O_RSRC]! | 0) &&
    (!portful || k.sport === rPorts >>> 16)
  ) {
    t.w0 = tu[o + O_ODST]! >>> 0;
    t.w1 = tu[o + O_ODST + 1]! >>> 0;
    t.w2 = tu[o + O_ODST + 2]! >>> 0;
    t.w3 = tu[o + O_ODST + 3]! >>> 0;
    t.port = portful ? oPorts & 0xffff : 0;
    return NatAction.UNDNAT;
  }
  return NatAction.NONE;
}
