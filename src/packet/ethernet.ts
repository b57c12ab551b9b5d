import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';
import type { DecodeOptions } from './options.js';
import { decodeEtherPayload } from './vlan.js';

/** Ethernet II header length (dst 6, src 6, type 2). */
export const ETHERNET_HEADER_LEN = 14;

/**
 * LINKTYPE_ETHERNET (1). Frame < 14 B on the wire ⇒ L2_MALFORMED (K1); captured < 14 B ⇒ TRUNCATED. EtherType
 * ≤ 1500 is an 802.3 length (LLC follows) and values 1501–1535 are undefined: both NON_IP with `etherType` holding
 * the raw value. A trailing FCS is never parsed: IP lengths bound the datagram.
 * @remarks hot path: no allocation.
 */
export function decodeEthernet(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, opts: DecodeOptions): number {
  if (we - p < 14) return DecodeStatus.L2_MALFORMED;
  if (ce - p < 14) return DecodeStatus.TRUNCATED;
  const et = u16(b, p + 12);
  if (et < 0x0600) {
    k.etherType = et;
    k.l3Off = p + 14 - base;
    return DecodeStatus.NON_IP;
  }
  return decodeEtherPayload(et, b, p + 14, ce, we, base, k, opts);
}
