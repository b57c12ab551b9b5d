/**
 * The index of the verdict cache and the fragment table (conntrack's, in 16-byte slots, is its own: conntrack.ts
 * CtTable.idx, with the same deletion): open addressing with linear
 * probing over two parallel arrays — `refs` (an entry reference, -1 = empty slot) and `hashes` (the key's full
 * hash, so a probe compares the key only when the hashes agree) — and backward-shift deletion, which keeps probe
 * sequences intact without tombstones, so a table under churn never slows down.
 * @remarks hot path: no allocation.
 */

/**
 * Empties slot `i` and shifts the following entries of its cluster back into the hole, each only when its home
 * slot does not lie cyclically in (hole, its position].
 */
export function backwardShiftDelete(refs: Int32Array, hashes: Int32Array | Uint32Array, mask: number, i: number): void {
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const r = refs[j]!;
    if (r === -1) break;
    const home = hashes[j]! & mask;
    const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!inRange) {
      refs[i] = r;
      hashes[i] = hashes[j]!;
      i = j;
    }
  }
  refs[i] = -1;
}
