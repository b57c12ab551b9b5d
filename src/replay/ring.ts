/**
 * The batch ring of a 1-worker replay whose batches the worker classifies in its own memory (replay/slot-layout.ts
 * regions): instead of one piscina task a batch, the worker runs one long task (workers/verdict.worker.ts runRing)
 * that takes the batches from this ring of control words in shared memory, in sequence order, and posts each
 * batch's result back into it. The main thread posts a batch by writing its entry and storing POSTED
 * (`Atomics.store`, then `notify`), and waits for DONE with `Atomics.waitAsync`; the worker waits for POSTED with
 * `Atomics.wait`. A piscina task a batch cost ~60 µs of the worker's time between batches (its hand-over: the
 * message, the promise jobs, the result's message), ~9.5 ms of the peers' replay; an entry costs two atomic stores
 * and a wake-up when the worker had to wait. The long task still runs under piscina, which tells the engine when the
 * thread dies: the batches posted and not done then get the default verdict, as the tasks a dead thread held did,
 * and the engine goes back to a task a batch (its replacement classifies the batches staged, in its own memory).
 */
import { REGIONS, REGION_RECORDS } from './slot-layout.js';

/** Entries in the ring: at least the batches in flight (the engine's maxInFlight), which the regions bound too. */
export const RING_ENTRIES = REGIONS;
/** int32 words an entry (64 bytes) */
export const RING_WORDS = 16;

/** Word offsets in an entry. */
export const RingWord = {
  /** RingState */
  STATE: 0,
  /** the byte offset of the batch's region in the worker's memory */
  START: 1,
  /** records in the batch */
  COUNT: 2,
  /** RingFlag bits */
  FLAGS: 3,
  /** records the worker classified (DONE) */
  CLASSIFIED: 4,
  /** with LISTED: the established packets and replies counted in the module, and the records listed (−1: no list) */
  ESTABLISHED: 5,
  REPLIES: 6,
  LISTED: 7,
  /** the established packets' wire bytes: a float64, at float64 index entry × RING_WORDS / 2 + 4 */
  BYTES64: 4,
} as const;

export const RingState = {
  /** the main thread may post a batch in the entry (its result, if any, is read) */
  FREE: 0,
  POSTED: 1,
  DONE: 2,
  /** the worker's classification threw: the batch's unclassified records get the default verdict */
  FAILED: 3,
  /** the replay is over: the worker's long task returns */
  STOP: 4,
} as const;

export const RingFlag = {
  /** the main thread described the batch (its region's descriptors) */
  DESC: 1,
  /** count the established packets in the module and list the other records (VerdictTaskResult.listed) */
  LISTED: 2,
  /** test hook: the worker exits when it takes this batch (ReplayOptions.crashBatch) */
  CRASH: 4,
  /** test hook: the worker's classification of this batch throws (ReplayOptions.failBatch) */
  FAIL: 8,
} as const;

/** The ring's shared memory: the control words, their float64 view, and an entry's list of records each. */
export interface RingBuffers {
  ctl: Int32Array;
  f64: Float64Array;
  /** entry e's listed records at [e × REGION_RECORDS, …) */
  lists: Uint32Array;
}

export function ringBuffers(): RingBuffers {
  const sab = new SharedArrayBuffer(RING_ENTRIES * RING_WORDS * 4);
  return { ctl: new Int32Array(sab), f64: new Float64Array(sab), lists: new Uint32Array(new SharedArrayBuffer(RING_ENTRIES * REGION_RECORDS * 4)) };
}
