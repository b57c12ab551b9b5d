import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { decodeEthernet } from './ethernet.js';
import { decodeIPv4 } from './ipv4.js';
import { decodeIPv6 } from './ipv6.js';
import { decodeNull } from './null.js';
import type { DecodeOptions } from './options.js';
import { decodeSll } from './sll.js';
import { decodeSll2 } from './sll2.js';

/**
 * Link-type dispatch: NULL 0, ETHERNET 1, RAW 101 (version nibble 4/6, else IP_BAD_VERSION), LINUX_SLL 113,
 * IPV4 228, IPV6 229, LINUX_SLL2 276. Anything else ⇒ UNSUPPORTED_LINKTYPE.
 * @remarks hot path: no allocation.
 */
export function decodeLink(linkType: number, b: Uint8Array, p: number, ce: number, we: number, k: FlowKey, opts: DecodeOptions): number {
  switch (linkType) {
    case 1:
      return decodeEthernet(b, p, ce, we, p, k, opts);
    case 276:
      return decodeSll2(b, p, ce, we, p, k, opts);
    case 113:
      return decodeSll(b, p, ce, we, p, k, opts);
    case 101: {
      if (ce - p < 1) return we - p < 1 ? DecodeStatus.IP_BAD_HEADER_LENGTH : DecodeStatus.TRUNCATED;
      const v = b[p] >>> 4;
      if (v === 4) return decodeIPv4(b, p, ce, we, p, k);
      if (v === 6) return decodeIPv6(b, p, ce, we, p, k, opts.ipv6MaxExtHeaders);
      return DecodeStatus.IP_BAD_VERSION;
    }
    case 228:
      return decodeIPv4(b, p, ce, we, p, k);
    case 229:
      return decodeIPv6(b, p, ce, we, p, k, opts.ipv6MaxExtHeaders);
    case 0:
      return decodeNull(b, p, ce, we, p, k, opts);
    default:
      return DecodeStatus.UNSUPPORTED_LINKTYPE;
  }
}
