/**
 * `kpf live --reject`: instead of silently dropping a denied packet, answer its sender — a TCP RST for TCP (as
 * `iptables -j REJECT --reject-with tcp-reset`), else an ICMP "administratively prohibited" destination unreachable
 * (ICMPv4 type 3 code 13, ICMPv6 type 1 code 1) quoting the packet. Never in answer to an ICMP error, a RST, or a
 * non-first fragment (RFC 1122 / RFC 4443 §2.4 e).
 *
 * The answer is built into `out` (raw IP) with correct checksums, from the original packet decoded into `k`.
 */
import type { FlowKey } from '../core/flow-key.js';
import { internetChecksum, onesSum, fold } from '../packet/checksum.js';
import { isIcmpError } from '../datapath/conntrack.js';
import { u32 as rd32, w16 as wr16, w32 as wr32 } from '../packet/bytes.js';

/** Largest ICMP error: IPv4 576 bytes (RFC 1812 §4.3.2.3), IPv6 1280 (RFC 4443 §2.4 c). */
const MAX4 = 576;
const MAX6 = 1280;


/** Writes an IP header for src ← packet's dst, dst ← packet's src into out[0…]; returns its length. */
function ipHeader(out: Uint8Array, pkt: Uint8Array, l3: number, family: number, proto: number, payloadLen: number): number {
  if (family === 4) {
    out.fill(0, 0, 20);
    out[0] = 0x45;
    wr16(out, 2, 20 + payloadLen);
    out[8] = 64;
    out[9] = proto;
    out.set(pkt.subarray(l3 + 16, l3 + 20), 12); // src = original dst
    out.set(pkt.subarray(l3 + 12, l3 + 16), 16); // dst = original src
    wr16(out, 10, internetChecksum(out, 0, 20));
    return 20;
  }
  out.fill(0, 0, 40);
  out[0] = 0x60;
  wr16(out, 4, payloadLen);
  out[6] = proto;
  out[7] = 64;
  out.set(pkt.subarray(l3 + 24, l3 + 40), 8);
  out.set(pkt.subarray(l3 + 8, l3 + 24), 24);
  return 40;
}

/** Pseudo-header sum of the IP header at out[0…] (family) for `proto` and L4 length `len`. */
function pseudo(out: Uint8Array, family: number, proto: number, len: number): number {
  return family === 4 ? onesSum(out, 12, 20, proto + len) : onesSum(out, 8, 40, proto + len);
}

/**
 * Builds the rejection of the packet at pkt[base…] (decoded into `k`, raw IP). Returns its length in `out`
 * (at least 1280 + 40 bytes), or 0 when the packet must not be answered.
 */
export function buildReject(pkt: Uint8Array, base: number, k: FlowKey, out: Uint8Array): number {
  const family = k.family;
  if (family !== 4 && family !== 6) return 0;
  if (k.frag === 2) return 0;
  const l3 = base + k.l3Off;
  const l4 = base + k.l4Off;
  const ipEnd = Math.min(pkt.length, l3 + k.ipLen);
  if (k.proto === 6) {
    if (l4 + 20 > ipEnd) return 0;
    const flags = pkt[l4 + 13]!;
    if (flags & 0x04) return 0; // never answer a RST
    const h = ipHeader(out, pkt, l3, family, 6, 20);
    const t = h;
    out.fill(0, t, t + 20);
    out[t] = pkt[l4 + 2]!; // sport = original dport
    out[t + 1] = pkt[l4 + 3]!;
    out[t + 2] = pkt[l4]!;
    out[t + 3] = pkt[l4 + 1]!;
    const doff = (pkt[l4 + 12]! >>> 4) * 4;
    let seg = Math.max(0, ipEnd - l4 - doff);
    if (flags & 0x02) seg++; // SYN
    if (flags & 0x01) seg++; // FIN
    if (flags & 0x10) {
      wr32(out, t + 4, rd32(pkt, l4 + 8)); // seq = their ack
      out[t + 13] = 0x04; // RST
    } else {
      wr32(out, t + 8, (rd32(pkt, l4 + 4) + seg) >>> 0); // ack = their seq + segment length
      out[t + 13] = 0x14; // RST, ACK
    }
    out[t + 12] = 5 << 4;
    const c = ~fold(onesSum(out, t, t + 20, pseudo(out, family, 6, 20))) & 0xffff;
    wr16(out, t + 16, c);
    return t + 20;
  }
  if ((k.proto === 1 || k.proto === 58) && isIcmpError(family, k.icmpType)) return 0;
  if (family === 4 && k.proto === 58) return 0;
  if (family === 6 && k.proto === 1) return 0;
  // ICMP administratively prohibited, quoting as much of the packet as fits
  const max = family === 4 ? MAX4 : MAX6;
  const hl = family === 4 ? 20 : 40;
  const quote = Math.max(0, Math.min(ipEnd - l3, max - hl - 8));
  const proto = family === 4 ? 1 : 58;
  const h = ipHeader(out, pkt, l3, family, proto, 8 + quote);
  out.fill(0, h, h + 8);
  if (family === 4) {
    out[h] = 3;
    out[h + 1] = 13;
  } else {
    out[h] = 1;
    out[h + 1] = 1;
  }
  out.set(pkt.subarray(l3, l3 + quote), h + 8);
  const init = family === 6 ? pseudo(out, 6, 58, 8 + quote) : 0;
  wr16(out, h + 2, internetChecksum(out, h, h + 8 + quote, init));
  return h + 8 + quote;
}
