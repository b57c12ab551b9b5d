/**
 * Packets per flow key without a string or an object per packet: an open-addressing table over typed arrays
 * (growing by doubling up to a bound), keyed by ten int32 words. The replay summary counts its dropped flows here;
 * text is made only for the few flows that are printed.
 * @remarks hot path (add): no allocation except when the table doubles.
 */
import { fmixI, mixI } from '../datapath/flow-hash.js';

const W = 10;

export class FlowCounter {
  private keys: Int32Array;
  private counts: Float64Array;
  private mask: number;
  /** distinct keys held */
  size = 0;
  /** packets not counted because the table was full */
  overflow = 0;

  constructor(readonly maxKeys: number, initial = 1024) {
    let n = 16;
    while (n < initial * 2) n *= 2;
    this.mask = n - 1;
    this.keys = new Int32Array(n * W);
    this.counts = new Float64Array(n);
  }

  /** Counts one packet of the key (words as int32; word 0 must not be 0, it marks empty slots). */
  add(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number): void {
    this.put(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, 1);
  }

  /** Counts `c` packets of the key (as {@link add}). */
  addCount(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number, c: number): void {
    this.put(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, c);
  }

  private put(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number, c: number): void {
    if (!(c > 0)) return;
    // the words an IPv4 key has first (the kind, the addresses' last words, the port); the other six, zero for IPv4,
    // only when one is not: a third of the rounds for the common key
    let h = mixI(0x6b706664, k0);
    h = mixI(h, k4);
    h = mixI(h, k8);
    h = mixI(h, k9);
    if ((k1 | k2 | k3 | k5 | k6 | k7) !== 0) {
      h = mixI(h, k1);
      h = mixI(h, k2);
      h = mixI(h, k3);
      h = mixI(h, k5);
      h = mixI(h, k6);
      h = mixI(h, k7);
    }
    h = fmixI(h);
    const keys = this.keys;
    let i = h & this.mask;
    for (;;) {
      const o = i * W;
      const w0 = keys[o]!;
      if (w0 === 0) break;
      if (w0 === k0 && keys[o + 4] === k4 && keys[o + 8] === k8 && keys[o + 9] === k9 && keys[o + 1] === k1 && keys[o + 2] === k2 && keys[o + 3] === k3 && keys[o + 5] === k5 && keys[o + 6] === k6 && keys[o + 7] === k7) {
        this.counts[i]! += c;
        return;
      }
      i = (i + 1) & this.mask;
    }
    if (this.size >= this.maxKeys) {
      this.overflow += c;
      return;
    }
    if ((this.size + 1) * 2 > this.mask + 1) {
      this.grow();
      this.put(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, c);
      return;
    }
    const o = i * W;
    keys[o] = k0;
    keys[o + 1] = k1;
    keys[o + 2] = k2;
    keys[o + 3] = k3;
    keys[o + 4] = k4;
    keys[o + 5] = k5;
    keys[o + 6] = k6;
    keys[o + 7] = k7;
    keys[o + 8] = k8;
    keys[o + 9] = k9;
    this.counts[i] = c;
    this.size++;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    const n = (this.mask + 1) * 2;
    this.keys = new Int32Array(n * W);
    this.counts = new Float64Array(n);
    this.mask = n - 1;
    this.size = 0;
    for (let i = 0; i < oldCounts.length; i++) {
      const o = i * W;
      if (oldKeys[o] === 0) continue;
      this.put(oldKeys[o]!, oldKeys[o + 1]!, oldKeys[o + 2]!, oldKeys[o + 3]!, oldKeys[o + 4]!, oldKeys[o + 5]!, oldKeys[o + 6]!, oldKeys[o + 7]!, oldKeys[o + 8]!, oldKeys[o + 9]!, oldCounts[i]!);
    }
  }

  /** Counts `counts[k]` packets of key k (words 10k … 10k + 9 of `keys`), for each k: another counter's {@link take}. */
  addAll(keys: Int32Array, counts: Float64Array): void {
    for (let k = 0; k < counts.length; k++) {
      const o = k * W;
      this.put(keys[o]!, keys[o + 1]!, keys[o + 2]!, keys[o + 3]!, keys[o + 4]!, keys[o + 5]!, keys[o + 6]!, keys[o + 7]!, keys[o + 8]!, keys[o + 9]!, counts[k]!);
    }
  }

  /**
   * The keys (ten words each) and counts held, and the packets not counted, in fresh arrays for another thread
   * ({@link addAll}); the counter is then empty (its table keeps its size).
   */
  take(): { keys: Int32Array; counts: Float64Array; overflow: number } {
    const keys = new Int32Array(this.size * W);
    const counts = new Float64Array(this.size);
    let k = 0;
    for (let i = 0; i <= this.mask; i++) {
      const o = i * W;
      if (this.keys[o] === 0) continue;
      keys.set(this.keys.subarray(o, o + W), k * W);
      counts[k++] = this.counts[i]!;
    }
    const overflow = this.overflow;
    if (this.size > 0) {
      this.keys.fill(0);
      this.counts.fill(0);
    }
    this.size = 0;
    this.overflow = 0;
    return { keys, counts, overflow };
  }

  /**
   * The keys with the `n` largest counts, ties at the cut included (so possibly more than n), as fresh arrays of
   * their ten words with their counts, the largest counts first; only those keys are put into arrays.
   */
  top(n: number): Array<[number[], number]> {
    if (n <= 0 || this.size === 0) return [];
    // with the typed arrays' own sort and indexOf (native code): this runs once, at the end of a replay, where loops
    // over the table's slots still ran in V8's interpreter (~2.5-7 ms for ~8,000 flows in 16,384 slots). An empty
    // slot counts 0 and a held key at least 1 (put counts only c > 0; take clears the counts too).
    const sorted = this.counts.slice().sort();
    const cut = Math.max(1, sorted[Math.max(0, sorted.length - n)]!);
    const out: Array<[number[], number]> = [];
    let prev = 0;
    for (let j = sorted.length - 1; j >= 0 && sorted[j]! >= cut; j--) {
      const v = sorted[j]!;
      if (v === prev) continue;
      prev = v;
      for (let i = this.counts.indexOf(v); i >= 0; i = this.counts.indexOf(v, i + 1)) out.push([Array.from(this.keys.subarray(i * W, i * W + W)), v]);
    }
    return out;
  }

  /** Calls fn for every key (a fresh array of its ten words), its count and its slot. Not for the hot path. */
  forEach(fn: (key: number[], count: number, slot: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      const o = i * W;
      if (this.keys[o] === 0) continue;
      fn(Array.from(this.keys.subarray(o, o + W)), this.counts[i]!, i);
    }
  }
}
