/**
 * A worker's records of a batch, gathered: the replay's main thread lists each worker's records by batch index
 * (replay/engine.ts), and the worker copies their columns into its own arrays before classifying them — per record
 * work done by the worker, in parallel, instead of by the main thread for every worker.
 */
import type { RecordColumns } from '../sources/reader.js';

/** Reused columns (grown as needed) holding the records a list of batch indices names, in the list's order. */
export class GatheredColumns implements RecordColumns {
  offsets = new Uint32Array(0);
  capLens = new Uint32Array(0);
  wireLens = new Uint32Array(0);
  linkTypes = new Uint16Array(0);
  tsSec = new Float64Array(0);
  tsNsec = new Uint32Array(0);

  /** Gathers records index[0, n) of `src` into positions [0, n). @remarks per-record path: no allocation (once grown). */
  gather(src: RecordColumns, index: Uint32Array, n: number): this {
    if (this.offsets.length < n) {
      const size = Math.max(n, this.offsets.length * 2);
      this.offsets = new Uint32Array(size);
      this.capLens = new Uint32Array(size);
      this.wireLens = new Uint32Array(size);
      this.linkTypes = new Uint16Array(size);
      this.tsSec = new Float64Array(size);
      this.tsNsec = new Uint32Array(size);
    }
    const { offsets, capLens, wireLens, linkTypes, tsSec, tsNsec } = src;
    const o = this.offsets;
    const c = this.capLens;
    const w = this.wireLens;
    const l = this.linkTypes;
    const s = this.tsSec;
    const ns = this.tsNsec;
    for (let j = 0; j < n; j++) {
      const i = index[j]!;
      o[j] = offsets[i]!;
      c[j] = capLens[i]!;
      w[j] = wireLens[i]!;
      l[j] = linkTypes[i]!;
      s[j] = tsSec[i]!;
      ns[j] = tsNsec[i]!;
    }
    return this;
  }
}
