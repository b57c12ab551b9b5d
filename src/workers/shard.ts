/**
 * Shard of a packet: a symmetric hash of its unordered address pair (RSS-style), so both directions, all fragments
 * and the ICMP errors about a flow (hashed on the quoted header's pair) go to the same worker.
 * @remarks hot path: no allocation.
 */
import { DecodeStatus } from '../core/enums.js';
import type { FlowKey } from '../core/flow-key.js';
import { pairHash } from '../datapath/flow-hash.js';
import { decode } from '../packet/decode.js';
import { decodeInner } from '../packet/inner.js';

export function shardOf(linkType: number, buf: Uint8Array, off: number, capLen: number, wireLen: number, k: FlowKey, inner: FlowKey, workers: number): number {
  if (workers === 1) return 0;
  const st = decode(linkType, buf, off, capLen, wireLen, k);
  if (k.family === 0 || (st !== DecodeStatus.OK && st !== DecodeStatus.ICMP_INNER_TRUNCATED)) {
    return k.family === 0 ? 0 : pairHash(k.family, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3) % workers;
  }
  if (k.innerFamily !== 0 && st === DecodeStatus.OK && decodeInner(buf, off, k, inner) === DecodeStatus.OK) {
    return pairHash(inner.family, inner.src0, inner.src1, inner.src2, inner.src3, inner.dst0, inner.dst1, inner.dst2, inner.dst3) % workers;
  }
  return pairHash(k.family, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3) % workers;
}
