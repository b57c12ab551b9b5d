/** Shared by the fast-path tests: generated captures, snapshots, the record columns and batches of hand-made frames. */
import { Readable } from 'node:stream';
import type { Cluster } from '../../src/cluster/model.js';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import type { Snapshot } from '../../src/datapath/snapshot.js';
import { DEFAULT_TRAFFIC, generateTraffic, type TrafficOptions } from '../../src/gen/traffic.js';
import { compile } from '../../src/policy/compile.js';
import { buildSnapshot } from '../../src/policy/snapshot.js';
import { openCapture, type RecordBatch } from '../../src/sources/capture.js';

/** Generated traffic for a cluster (`kpf gen traffic`), read back in batches of `maxBatch` records. */
export async function captureBatches(c: Cluster, over: Partial<TrafficOptions>, maxBatch = 1024): Promise<RecordBatch[]> {
  const chunks: Buffer[] = [];
  await generateTraffic(c, { ...DEFAULT_TRAFFIC, mix: { ...DEFAULT_TRAFFIC.mix }, ...over }, (ch) => {
    chunks.push(Buffer.from(ch));
  });
  const batches: RecordBatch[] = [];
  for await (const b of await openCapture(Readable.from([Buffer.concat(chunks)]), { maxBatch })) batches.push(b);
  return batches;
}

/** The cluster's snapshot at `revision`, under --on-policy-change=reevaluate or keep. */
export const snapshotOf = (c: Cluster, reevaluate: boolean, revision: number): Snapshot =>
  buildSnapshot(compile(c, { semantics: { ...DEFAULT_SEMANTICS, onPolicyChange: reevaluate ? 'reevaluate' : 'keep' }, revision }), { shared: false });

/** Every column of a VerdictBatch record. */
export const RECORD_COLS = ['egress', 'ingress', 'srcEp', 'dstEp', 'srcId', 'dstId', 'backend', 'reason', 'verdict', 'flags'] as const;

/**
 * Ethernet frames laid end to end as one batch, one second apart from `firstSec`: the arguments of
 * Classifier.classifyBatch before the output batch.
 */
export function frameBatch(frames: Uint8Array[], firstSec: number) {
  const n = frames.length;
  const buf = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
  const offsets = new Uint32Array(n);
  const capLens = new Uint32Array(n);
  let o = 0;
  frames.forEach((f, i) => {
    buf.set(f, o);
    offsets[i] = o;
    capLens[i] = f.length;
    o += f.length;
  });
  const tsSec = Float64Array.from(frames, (_, i) => firstSec + i);
  return [buf, n, offsets, capLens, capLens.slice(), new Uint16Array(n).fill(1), tsSec, new Uint32Array(n)] as const;
}
