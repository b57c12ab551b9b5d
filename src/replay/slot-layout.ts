/**
 * The memory of one replay batch (replay/engine.ts SharedSlot) laid out in one region of a worker's module memory:
 * with one worker the replay's main thread reads batches straight into that memory, and the worker's module
 * classifies them where they are (datapath/classify.ts classifyInPlace). The main thread lays the regions out
 * ({@link planRegions}, in a memory it hands the worker with its `prepare` task: workers/verdict.worker.ts); both lay
 * a region out with this function.
 */
import type { ClassifierOptions } from '../datapath/classify.js';
import { VerdictBatch } from '../datapath/classify.js';
import { Conntrack } from '../datapath/conntrack.js';
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

/** Regions laid out by the main thread ({@link planRegions}): `top`, the bytes of the memory they take. */
export interface PlannedRegions extends SlotRegions {
  top: number;
}

/**
 * The batch regions of a 1-worker replay, laid out by the main thread at the start of a new module memory that it
 * hands the worker with its `prepare` task (workers/pool.ts): the worker's conntrack tables take the rest of it
 * (workers/verdict.worker.ts). So the main thread knows where to read the first batches before the worker has booted,
 * instead of waiting for the worker to lay them out and answer (the answer alone, a thread's first message, took
 * ~3-5 ms of cold code). Null when the worker would not classify in place: checksums verified, or tables that are
 * not in a WebAssembly memory (no fast path, KPF_WASM=0, `wasm: false`, tables too large, or options the worker will
 * refuse itself).
 */
export function planRegions(options: ClassifierOptions): PlannedRegions | null {
  if (options.decode?.verifyChecksums === true) return null;
  const layout = slotLayout(REGION_RECORDS, SLOT_BYTES);
  let bytes: number | null;
  try {
    bytes = Conntrack.arenaBytes(options.conntrack ?? {}, REGIONS * layout.bytes);
  } catch {
    return null;
  }
  if (bytes === null) return null;
  const arena = new Arena(bytes);
  const starts = Array.from({ length: REGIONS }, () => arena.alloc(layout.bytes));
  return { memory: arena.memory, starts, records: REGION_RECORDS, chunk: SLOT_BYTES, top: arena.used };
}
