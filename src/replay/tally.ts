/**
 * What the replay summary and the metrics need of each record — counts by verdict and reason, bytes, flags, the
 * dropped flows — counted where the verdicts are. With `-o summary` (no record output) the workers count their own
 * records (workers/verdict.worker.ts, a task's `tally`) and hand the counts back with the task, so that the main
 * thread reads no record and no verdict; otherwise the main thread counts the ordered batches itself
 * (replay/stats.ts ReplayStats, a VerdictTally).
 */
import { FlowKey } from '../core/flow-key.js';
import { ForwardReason, PacketFlag, PacketVerdict, type InPlaceTally, type VerdictBatch } from '../datapath/classify.js';
import { decode } from '../packet/decode.js';
import { DESC_WORDS } from '../datapath/wasm-core.js';
import { Fast4 } from '../packet/fast4.js';
import { FlowCounter } from './flow-counter.js';

/** Counts of some records, as they cross between threads (structured clone). */
export interface TallyCounts {
  records: number;
  forwarded: number;
  bytesForwarded: number;
  bytesDropped: number;
  newConnections: number;
  replies: number;
  pickups: number;
  truncated: number;
  /** (reason, packets) pairs, flat, of the forwarded packets; reasons with none left out */
  forwardReasons: Float64Array;
  /** the same of the dropped packets */
  dropReasons: Float64Array;
  /** dropped packets per flow (FlowCounter.take), when flows are tracked */
  flows: { keys: Int32Array; counts: Float64Array; overflow: number } | null;
}

/**
 * The counts of the established packets a batch classified in place counted in the module
 * (datapath/classify.ts InPlaceTally): `established` FORWARDED with reason ESTABLISHED and no flag, `replies` FORWARDED
 * with reason REPLY and the REPLY flag, `bytes` their wire lengths: what {@link VerdictTally.add} counts of them. The
 * batch's other records are counted with add's list.
 */
export function establishedCounts(t: Pick<InPlaceTally, 'established' | 'replies' | 'bytes'>): TallyCounts {
  const n = t.established + t.replies;
  const reasons: number[] = [];
  if (t.established > 0) reasons.push(ForwardReason.ESTABLISHED, t.established);
  if (t.replies > 0) reasons.push(ForwardReason.REPLY, t.replies);
  return {
    records: n,
    forwarded: n,
    bytesForwarded: t.bytes,
    bytesDropped: 0,
    newConnections: 0,
    replies: t.replies,
    pickups: 0,
    truncated: 0,
    forwardReasons: Float64Array.from(reasons),
    dropReasons: new Float64Array(0),
    flows: null,
  };
}

/** Reason codes are below this (Cilium's drop reasons and kpf's own, WORKER_FAILED = 1001). */
const REASONS = 2048;

export class VerdictTally {
  records = 0;
  forwarded = 0;
  bytesForwarded = 0;
  bytesDropped = 0;
  /** new connections evaluated, replies, mid-flow pickups, truncated records (PacketFlag) */
  newConnections = 0;
  replies = 0;
  pickups = 0;
  truncated = 0;
  /** packets by forward reason / by drop reason */
  protected readonly fwdBy = new Float64Array(REASONS);
  protected readonly dropBy = new Float64Array(REASONS);
  /** dropped packets per flow (family, protocol, addresses, destination port), bounded; null when not tracked */
  protected readonly droppedFlows: FlowCounter | null;
  private readonly key = new FlowKey();
  private readonly fast = new Fast4();
  /**
   * The run of dropped packets of one IPv4 flow being counted (drops come in runs: a denied connection's retries, a
   * scan's burst), put into the flow table once with its length, before any other key and at the end of each `add`:
   * the table sees the same keys in the same order, and counts them alike.
   */
  private runCount = 0;
  private runProto = 0;
  private runSrc = 0;
  private runDst = 0;
  private runPort = 0;

  constructor(trackFlows: boolean, maxFlows = 200_000) {
    this.droppedFlows = trackFlows ? new FlowCounter(maxFlows) : null;
  }

  get dropped(): number {
    return this.records - this.forwarded;
  }

  /**
   * Counts n records: record k's columns at index k of `offsets`, `capLens`, `wireLens`, `linkTypes`, its verdict at
   * `vFrom` + k of `v` — with a `list`, the records at the indices list[0 … n) instead of [0, n), in that order (the
   * records {@link establishedCounts} left out). With `desc`, the records' descriptors (datapath/wasm-core.ts
   * Describer, DESC_WORDS words a record at its batch index): a dropped record's flow key comes from its descriptor
   * instead of a parse of its frame, the same key (the descriptor holds the fields of the same parse), unless the
   * descriptor is zeros. @remarks per-record path: no allocation.
   */
  add(buf: Uint8Array, offsets: Uint32Array, capLens: Uint32Array, wireLens: Uint32Array, linkTypes: Uint16Array, v: VerdictBatch, vFrom: number, n: number, list?: Uint32Array, desc?: Uint32Array): void {
    // the counts in locals, written back once
    let forwarded = 0;
    let bytesForwarded = 0;
    let bytesDropped = 0;
    let newConnections = 0;
    let replies = 0;
    let pickups = 0;
    let truncated = 0;
    const flags = v.flags;
    const verdicts = v.verdict;
    const reasons = v.reason;
    const fwdBy = this.fwdBy;
    const dropBy = this.dropBy;
    const flows = this.droppedFlows;
    const listed = list !== undefined;
    for (let j = 0; j < n; j++) {
      const k = listed ? list[j]! : j;
      const i = vFrom + k;
      const len = wireLens[k]!;
      const f = flags[i]!;
      if (f !== 0) {
        if (f & PacketFlag.NEW) newConnections++;
        if (f & PacketFlag.REPLY) replies++;
        if (f & PacketFlag.PICKUP) pickups++;
        if (f & PacketFlag.TRUNCATED) truncated++;
      }
      const reason = reasons[i]! & (REASONS - 1);
      if (verdicts[i] === PacketVerdict.FORWARDED) {
        forwarded++;
        bytesForwarded += len;
        fwdBy[reason]! += 1;
      } else {
        bytesDropped += len;
        dropBy[reason]! += 1;
        if (flows !== null) {
          const d = k * DESC_WORDS;
          const meta = desc !== undefined ? desc[d + 3]! : 0;
          if (meta !== 0) this.trackRun(flows, (4 << 8) | (meta & 0xff), desc![d]! | 0, desc![d + 1]! | 0, desc![d + 2]! & 0xffff);
          else this.trackDrop(flows, linkTypes[k]!, buf, offsets[k]!, capLens[k]!, len);
        }
      }
    }
    if (flows !== null) this.flushRun(flows);
    this.records += n;
    this.forwarded += forwarded;
    this.bytesForwarded += bytesForwarded;
    this.bytesDropped += bytesDropped;
    this.newConnections += newConnections;
    this.replies += replies;
    this.pickups += pickups;
    this.truncated += truncated;
  }

  private trackDrop(flows: FlowCounter, lt: number, buf: Uint8Array, off: number, cap: number, wire: number): void {
    // the common frame (IPv4 TCP/UDP) through the fast parser: the same key the decoder gives it
    const f = this.fast;
    if (f.parse(lt, buf, off, cap, wire)) {
      this.trackRun(flows, (4 << 8) | f.proto, f.src, f.dst, f.dport);
      return;
    }
    this.flushRun(flows);
    const k = this.key;
    decode(lt, buf, off, cap, wire, k);
    if (k.family === 0) return;
    const ports = k.proto === 6 || k.proto === 17 || k.proto === 132;
    flows.add((k.family << 8) | k.proto, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0, ports ? k.dport : -1);
  }

  /** One dropped packet of the IPv4 TCP/UDP flow (fp, src, dst as int32, dport): into the run, or a new run. */
  private trackRun(flows: FlowCounter, fp: number, src: number, dst: number, dport: number): void {
    if (this.runCount > 0 && fp === this.runProto && src === this.runSrc && dst === this.runDst && dport === this.runPort) {
      this.runCount++;
      return;
    }
    this.flushRun(flows);
    this.runProto = fp;
    this.runSrc = src;
    this.runDst = dst;
    this.runPort = dport;
    this.runCount = 1;
  }

  /** Puts the run of drops being counted into the flow table. */
  private flushRun(flows: FlowCounter): void {
    if (this.runCount === 0) return;
    flows.addCount(this.runProto, 0, 0, 0, this.runSrc, 0, 0, 0, this.runDst, this.runPort, this.runCount);
    this.runCount = 0;
  }

  /** The counts since the last take (since construction at first), for another thread's {@link merge}; then zero. */
  take(): TallyCounts {
    const c: TallyCounts = {
      records: this.records,
      forwarded: this.forwarded,
      bytesForwarded: this.bytesForwarded,
      bytesDropped: this.bytesDropped,
      newConnections: this.newConnections,
      replies: this.replies,
      pickups: this.pickups,
      truncated: this.truncated,
      forwardReasons: takePairs(this.fwdBy),
      dropReasons: takePairs(this.dropBy),
      flows: this.droppedFlows?.take() ?? null,
    };
    this.records = this.forwarded = this.bytesForwarded = this.bytesDropped = 0;
    this.newConnections = this.replies = this.pickups = this.truncated = 0;
    return c;
  }

  /** Adds counts taken from another tally (a worker's). */
  merge(c: TallyCounts): void {
    this.records += c.records;
    this.forwarded += c.forwarded;
    this.bytesForwarded += c.bytesForwarded;
    this.bytesDropped += c.bytesDropped;
    this.newConnections += c.newConnections;
    this.replies += c.replies;
    this.pickups += c.pickups;
    this.truncated += c.truncated;
    for (let k = 0; k + 1 < c.forwardReasons.length; k += 2) this.fwdBy[c.forwardReasons[k]!]! += c.forwardReasons[k + 1]!;
    for (let k = 0; k + 1 < c.dropReasons.length; k += 2) this.dropBy[c.dropReasons[k]!]! += c.dropReasons[k + 1]!;
    if (this.droppedFlows !== null && c.flows !== null) {
      this.droppedFlows.addAll(c.flows.keys, c.flows.counts);
      this.droppedFlows.overflow += c.flows.overflow;
    }
  }
}

/** The non-zero entries of `a` as flat (index, value) pairs; `a` is zeroed. */
function takePairs(a: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) n++;
  const out = new Float64Array(2 * n);
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === 0) continue;
    out[k++] = i;
    out[k++] = a[i]!;
    a[i] = 0;
  }
  return out;
}
