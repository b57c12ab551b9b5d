/**
 * Big-endian byte reads on a Uint8Array. Callers check bounds first (hot path: no DataView per packet, no
 * allocation). Kept tiny so V8 inlines them.
 */
export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}
/** unsigned 32-bit big-endian */
export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}
/** unsigned 32-bit little-endian */
export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}
