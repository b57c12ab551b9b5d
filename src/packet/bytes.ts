/**
 * Big-endian byte reads and writes on a Uint8Array. Callers check bounds first (hot path: no DataView per packet, no
 * allocation). Kept tiny so V8 inlines them.
 */
export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}
/**
 * signed 32-bit big-endian: for a per-packet caller that stores `i32(…) >>> 0` into a field, because a uint32 of 2^31
 * or more returned by a call V8 did not inline is a heap number (an allocation)
 */
export function i32(b: Uint8Array, i: number): number {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}
/** unsigned 32-bit big-endian */
export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}
/** unsigned 32-bit little-endian */
export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}
/** writes an unsigned 16-bit big-endian value */
export function w16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}
/** writes an unsigned 32-bit big-endian value */
export function w32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}
