/**
 * The memory of one replay batch (replay/engine.ts SharedSlot) laid out in one region of a worker's module memory:
 * with one worker the replay's main thread reads batches straight into that memory, and the worker's module
 * classifies them where they are (datapath/classify.ts classifyInPlace). The worker reserves the regions
 * (workers/verdict.worker.ts, its `prepare` task) and hands their offsets to the main thread; both lay a region out
 * with this function.
 */
import { VerdictBatch } from '../datapath/classify.js';
import { Arena, DESC_WORDS } from '../datapath/wasm-core.js';
import type { RecordColumns } from '../sources/reader.js';

/** bytes the reader reads at a time into a slot (its chunk) */
export const SLOT_BYTES = 1 << 20;
/** records a region holds (the largest batch, --batch-size 16384) */
export const REGION_RECORDS = 16384;
/** regions a worker reserves: the batches in flight (4 queued at the worker) and the one the reader fills, and spares */
export const REGIONS = 8;

/** Byte offsets, from the region's start, of a slot's chunk and record columns and its verdicts; `bytes` in all. */
export interface SlotLayout {
  buf: number;
  tsSec: number;
  offsets: number;
  capLens: number;
  wireLens: number;
  tsNsec: number;
  linkTypes: number;
  out: number;
  /** the records' descriptors (datapath/wasm-core.ts Describer: DESC_WORDS words a record) */
  desc: number;
  bytes: number;
}

/** The layout of a slot of `records` records and a chunk of `chunk` bytes (every part 64-byte aligned, as an Arena's). */
export function slotLayout(records: number, chunk: number): SlotLayout {
  let at = 0;
  const take = (n: number): number => {
    const o = at;
    at += Arena.size(n);
    return o;
  };
  const buf = take(chunk);
  const tsSec = take(8 * records);
  const offsets = take(4 * records);
  const capLens = take(4 * records);
  const wireLens = take(4 * records);
  const tsNsec = take(4 * records);
  const linkTypes = take(2 * records);
  const out = take(VerdictBatch.bytes(records));
  const desc = take(4 * DESC_WORDS * records);
  return { buf, tsSec, offsets, capLens, wireLens, tsNsec, linkTypes, out, desc, bytes: at };
}

/** A slot's views (slotLayout of `records` records and a `chunk`-byte chunk, at `start` of `memory`). */
export interface SlotViews extends RecordColumns {
  buf: Uint8Array;
  out: VerdictBatch;
  desc: Uint32Array;
}

export function slotViews(memory: ArrayBufferLike, start: number, records: number, chunk: number): SlotViews {
  const l = slotLayout(records, chunk);
  return {
    buf: new Uint8Array(memory, start + l.buf, chunk),
    offsets: new Uint32Array(memory, start + l.offsets, records),
    capLens: new Uint32Array(memory, start + l.capLens, records),
    wireLens: new Uint32Array(memory, start + l.wireLens, records),
    linkTypes: new Uint16Array(memory, start + l.linkTypes, records),
    tsSec: new Float64Array(memory, start + l.tsSec, records),
    tsNsec: new Uint32Array(memory, start + l.tsNsec, records),
    out: new VerdictBatch(records, memory, start + l.out),
    desc: new Uint32Array(memory, start + l.desc, DESC_WORDS * records),
  };
}

/**
 * A worker's regions, as its `prepare` task returns them: its module memory (the slots are views over its buffer; a
 * describing instance of the module is made over it, datapath/wasm-core.ts Describer) and where each region starts.
 */
export interface SlotRegions {
  memory: WebAssembly.Memory;
  starts: number[];
  records: number;
  chunk: number;
}
