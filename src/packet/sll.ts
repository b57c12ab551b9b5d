import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';
import type { DecodeOptions } from './options.js';
import { decodeEtherPayload } from './vlan.js';

/** ARPHRD types whose "protocol" field is not an EtherType (if_arp.h). */
export const ARPHRD_IPGRE = 778;
export const ARPHRD_NETLINK = 824;

/** SLL/SLL2 protocol values that are not EtherTypes: Novell 802.3, 802.2 LLC, CAN, CAN FD. */
export function sllProtocolIsNonEther(proto: number): boolean {
  return proto === 0x0001 || proto === 0x0004 || proto === 0x000c || proto === 0x000d || proto < 0x0600;
}

/**
 * LINKTYPE_LINUX_SLL (113): 16-byte big-endian header — packet type, ARPHRD type, link-address length, link
 * address (8), protocol. IPGRE/NETLINK ARPHRD and non-EtherType protocols ⇒ NON_IP.
 * @remarks hot path: no allocation.
 */
export function decodeSll(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, opts: DecodeOptions): number {
  if (we - p < 16) return DecodeStatus.L2_MALFORMED;
  if (ce - p < 16) return DecodeStatus.TRUNCATED;
  const hatype = u16(b, p + 2);
  const proto = u16(b, p + 14);
  k.etherType = proto;
  if (hatype === ARPHRD_IPGRE || hatype === ARPHRD_NETLINK || sllProtocolIsNonEther(proto)) {
    k.l3Off = p + 16 - base;
    return DecodeStatus.NON_IP;
  }
  return decodeEtherPayload(proto, b, p + 16, ce, we, base, k, opts);
}
