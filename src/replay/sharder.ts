/**
 * The replay's main thread shards each batch once (workers/shard.ts: the symmetric hash of the address pair after
 * Service NAT), so that each worker is handed its own records only, gathered in a contiguous range: a worker then
 * reads, copies and walks nothing of the other shards (with the shards computed in every worker, each of N workers
 * walked every record: N times the work, on the same cores).
 *
 * The common frame (IPv4 TCP/UDP, certainly not to or from a ClusterIP) is sharded in WebAssembly (src/wasm/fast4.ts
 * shardChunk, the same function the workers' classifier uses); any other frame, and every frame when the module is
 * off (KPF_WASM=0, --verify-checksums), by the TypeScript function — the same shard either way
 * (test/datapath/wasm-core.test.ts).
 * @remarks hot path (shard): no allocation.
 */
import { FlowKey } from '../core/flow-key.js';
import { Conntrack } from '../datapath/conntrack.js';
import { SemanticsBits, type Snapshot } from '../datapath/snapshot.js';
import { CHUNK, FastCore, SHARD_UNKNOWN, fastModule } from '../datapath/wasm-core.js';
import { defaultDecodeOptions, type DecodeOptions } from '../packet/options.js';
import { shardBatch, shardOf } from '../workers/shard.js';

export class BatchSharder {
  /** the module over a conntrack of two entries (its arena holds the chunk buffers and the snapshot copy) */
  private readonly core: FastCore | null;
  private readonly vips: boolean;
  private readonly key = new FlowKey();
  private readonly inner = new FlowKey();

  constructor(
    private readonly snapshot: Snapshot,
    readonly workers: number,
    private readonly decode: DecodeOptions = defaultDecodeOptions,
  ) {
    this.vips = (snapshot.flags & SemanticsBits.DNAT_OFF) === 0 && snapshot.services.vipMask >= 0;
    let core: FastCore | null = null;
    if (!decode.verifyChecksums && fastModule() !== null) {
      const ct = new Conntrack({ tcpMax: 1, anyMax: 1 });
      if (ct.arena !== null) {
        core = new FastCore(ct.arena, ct.tcp, ct.other, ct.timeouts, 0, 0);
        core.setSnapshot(snapshot, 0);
        // the module reads the ClusterIP filter from its snapshot copy: without the copy, a snapshot with ClusterIPs
        // is sharded in TypeScript alone
        if (!core.decides && this.vips) core = null;
      }
    }
    this.core = core;
  }

  /** Whether the common frame is sharded in WebAssembly. */
  get wasm(): boolean {
    return this.core !== null;
  }

  /** The shard of records [0, count) of a batch into `out`. */
  shard(buf: Uint8Array, count: number, offsets: Uint32Array, capLens: Uint32Array, wireLens: Uint32Array, linkTypes: Uint16Array, out: Uint8Array): void {
    const core = this.core;
    const W = this.workers;
    if (core === null) {
      shardBatch(this.snapshot, this.decode, buf, offsets, capLens, wireLens, linkTypes, count, W, out);
      return;
    }
    const cs = core.shards;
    for (let c0 = 0; c0 < count; c0 += CHUNK) {
      const n = Math.min(CHUNK, count - c0);
      const rangeStart = core.stage(buf, c0, n, offsets, capLens, wireLens, linkTypes, null, 0);
      core.shardChunk(n, rangeStart, W, this.vips ? 1 : 0);
      for (let k = 0; k < n; k++) {
        const r = c0 + k;
        let s = cs[k]!;
        if (s === SHARD_UNKNOWN) s = shardOf(linkTypes[r]!, buf, offsets[r]!, capLens[r]!, wireLens[r]!, this.key, this.inner, W, this.snapshot, this.decode);
        out[r] = s;
      }
    }
  }
}
