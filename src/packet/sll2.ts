import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { u16 } from './bytes.js';
import type { DecodeOptions } from './options.js';
import { ARPHRD_IPGRE, ARPHRD_NETLINK, sllProtocolIsNonEther } from './sll.js';
import { decodeEtherPayload } from './vlan.js';

/**
 * LINKTYPE_LINUX_SLL2 (276): 20-byte big-endian header — protocol u16, reserved u16, interface index u32, ARPHRD
 * u16, packet type u8, link-address length u8, link address (8). What `tcpdump -i any` writes today.
 * @remarks hot path: no allocation.
 */
export function decodeSll2(b: Uint8Array, p: number, ce: number, we: number, base: number, k: FlowKey, opts: DecodeOptions): number {
  if (we - p < 20) return DecodeStatus.L2_MALFORMED;
  if (ce - p < 20) return DecodeStatus.TRUNCATED;
  const proto = u16(b, p);
  const hatype = u16(b, p + 8);
  k.etherType = proto;
  if (hatype === ARPHRD_IPGRE || hatype === ARPHRD_NETLINK || sllProtocolIsNonEther(proto)) {
    k.l3Off = p + 20 - base;
    return DecodeStatus.NON_IP;
  }
  return decodeEtherPayload(proto, b, p + 20, ce, we, base, k, opts);
}
