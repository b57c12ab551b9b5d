import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeSctp } from './sctp.js';
import { decodeIcmp } from './icmp.js';

/**
 * Transport dispatch. `p` = transport header, `ce` = end of the capture inside the datagram, `we` = end of the
 * datagram on the wire (Ethernet padding already cut, K8). Unknown protocols are OK without ports.
 * @remarks hot path: no allocation.
 */
export function decodeL4(proto: number, b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, first: boolean): number {
  k.l4Off = p - base;
  switch (proto) {
    case 6:
      return decodeTcp(b, p, ce, we, base, k, first);
    case 17:
    case 136: // UDP-Lite: same port layout; its length field is a checksum coverage, checked as UDP's
      return proto === 17 ? decodeUdp(b, p, ce, we, base, k, first) : decodeUdpLite(b, p, ce, we, base, k);
    case 132:
      return decodeSctp(b, p, ce, we, base, k, first);
    case 1:
      return decodeIcmp(b, p, ce, we, base, k, first, false);
    case 58:
      return decodeIcmp(b, p, ce, we, base, k, first, true);
    default:
      k.payloadOff = p - base;
      return DecodeStatus.OK;
  }
}

function decodeUdpLite(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey): number {
  if (we - p < 8) return DecodeStatus.UDP_BAD_HEADER;
  if (ce - p < 4) return DecodeStatus.TRUNCATED;
  k.sport = (b[p] << 8) | b[p + 1];
  k.dport = (b[p + 2] << 8) | b[p + 3];
  k.payloadOff = p + 8 - base;
  return DecodeStatus.OK;
}
