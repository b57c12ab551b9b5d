import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';

/**
 * Optional checksum verification (`--verify-checksums`, capture-formats.md §9; off by default because captures
 * taken on the sender carry partial checksums under TX offload). IPv4 header, TCP, UDP (0 = none for IPv4,
 * mandatory for IPv6), ICMP, ICMPv6 (with pseudo-header) and SCTP CRC32c.
 *
 * Only what is fully captured is verified: a record with `truncated` set, or a fragment (L4 checksum spans the
 * reassembled datagram), has its L4 checksum skipped.
 */

/** 16-bit one's-complement sum of b[start, end) added to `init`, not folded past 32 bits (call {@link fold}). */
export function onesSum(b: Uint8Array, start: number, end: number, init: number): number {
  let s = init;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8;
  return s;
}

/** Folds a 32-bit+ sum into 16 bits. */
export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** Internet checksum of b[start, end) (the value to store, i.e. complemented). */
export function internetChecksum(b: Uint8Array, start: number, end: number, init = 0): number {
  return ~fold(onesSum(b, start, end, init)) & 0xffff;
}

/** Pseudo-header sum for the flow in `k` with transport protocol `proto` and transport length `len`. */
export function pseudoHeaderSum(k: FlowKey, proto: number, len: number): number {
  let s = proto + (len & 0xffff) + Math.floor(len / 65536);
  s += (k.src3 >>> 16) + (k.src3 & 0xffff) + (k.dst3 >>> 16) + (k.dst3 & 0xffff);
  if (k.family === 6) {
    s += (k.src0 >>> 16) + (k.src0 & 0xffff) + (k.src1 >>> 16) + (k.src1 & 0xffff) + (k.src2 >>> 16) + (k.src2 & 0xffff);
    s += (k.dst0 >>> 16) + (k.dst0 & 0xffff) + (k.dst1 >>> 16) + (k.dst1 & 0xffff) + (k.dst2 >>> 16) + (k.dst2 & 0xffff);
  }
  return s;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32c (Castagnoli) of b[start, end), treating the 4 bytes at `zeroAt` (if ≥ 0) as zero (SCTP). */
export function crc32c(b: Uint8Array, start: number, end: number, zeroAt = -1): number {
  let c = 0xffffffff;
  const z0 = zeroAt < 0 ? end : zeroAt;
  for (let i = start; i < end; i++) {
    const x = i >= z0 && i < z0 + 4 ? 0 : b[i];
    c = CRC32C_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/**
 * Verifies the checksums of a packet already decoded into `k` (status OK) from the frame at `base`.
 * Returns OK or BAD_CHECKSUM. @remarks no allocation.
 */
export function verifyChecksums(b: Uint8Array, base: number, k: FlowKey): number {
  if (k.family === 0) return DecodeStatus.OK;
  const l3 = base + k.l3Off;
  if (k.family === 4) {
    const ihl = (b[l3] & 15) << 2;
    if (fold(onesSum(b, l3, l3 + ihl, 0)) !== 0xffff) return DecodeStatus.BAD_CHECKSUM;
  }
  if (k.truncated !== 0 || k.frag !== 0) return DecodeStatus.OK;
  const l4 = base + k.l4Off;
  const end = l3 + k.ipLen;
  if (end > b.length || l4 > end) return DecodeStatus.OK;
  const len = end - l4;
  switch (k.proto) {
    case 6:
      return fold(onesSum(b, l4, end, pseudoHeaderSum(k, 6, len))) === 0xffff ? DecodeStatus.OK : DecodeStatus.BAD_CHECKSUM;
    case 17: {
      const stored = (b[l4 + 6] << 8) | b[l4 + 7];
      if (stored === 0) return k.family === 4 ? DecodeStatus.OK : DecodeStatus.BAD_CHECKSUM;
      return fold(onesSum(b, l4, end, pseudoHeaderSum(k, 17, len))) === 0xffff ? DecodeStatus.OK : DecodeStatus.BAD_CHECKSUM;
    }
    case 1:
      return k.family === 4 && fold(onesSum(b, l4, end, 0)) !== 0xffff ? DecodeStatus.BAD_CHECKSUM : DecodeStatus.OK;
    case 58:
      return fold(onesSum(b, l4, end, pseudoHeaderSum(k, 58, len))) === 0xffff ? DecodeStatus.OK : DecodeStatus.BAD_CHECKSUM;
    case 132: {
      if (len < 12) return DecodeStatus.OK;
      const stored = (b[l4 + 8] | (b[l4 + 9] << 8) | (b[l4 + 10] << 16) | (b[l4 + 11] << 24)) >>> 0;
      return crc32c(b, l4, end, l4 + 8) === stored ? DecodeStatus.OK : DecodeStatus.BAD_CHECKSUM;
    }
    default:
      return DecodeStatus.OK;
  }
}
