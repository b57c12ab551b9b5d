import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';
import { decodeIPv4 } from './ipv4.js';
import { decodeIPv6 } from './ipv6.js';
import type { DecodeOptions } from './options.js';

/** TPIDs treated as VLAN tags: 0x8100 (802.1Q), 0x88A8 (802.1ad), 0x9100/0x9200/0x9300 (legacy QinQ). */
export function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100 || t === 0x9200 || t === 0x9300;
}

/**
 * Dispatches on an EtherType whose payload starts at `p`: skips up to `opts.vlanMaxTags` VLAN tags (K3: one more ⇒
 * VLAN_TOO_MANY, a tag cut short ⇒ VLAN_TRUNCATED), then IPv4 / IPv6 / everything else NON_IP (K2) with
 * `etherType` set. Used by Ethernet, SLL and SLL2 (libpcap re-inserts stripped tags after cooked headers too).
 * @remarks hot path: no allocation.
 */
export function decodeEtherPayload(et: number, b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, opts: DecodeOptions): number {
  let n = 0;
  while (isVlanTpid(et)) {
    if (n >= opts.vlanMaxTags) {
      k.etherType = et;
      return DecodeStatus.VLAN_TOO_MANY;
    }
    if (ce - p < 4) {
      k.etherType = et;
      return DecodeStatus.VLAN_TRUNCATED;
    }
    const vid = u16(b, p) & 0xfff;
    if (n === 0) k.vlanId = vid;
    else k.vlanId2 = vid;
    n++;
    k.vlanCount = n;
    et = u16(b, p + 2);
    p += 4;
  }
  k.etherType = et;
  if (et === 0x0800) return decodeIPv4(b, p, ce, we, base, k);
  if (et === 0x86dd) return decodeIPv6(b, p, ce, we, base, k, opts.ipv6MaxExtHeaders);
  k.l3Off = p - base;
  return DecodeStatus.NON_IP;
}
