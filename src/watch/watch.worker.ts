/**
 * The classifier thread of `kpf watch`: one Classifier (conntrack, fragments, verdict cache) over the published
 * snapshot, fed batches of captured frames by the main thread in capture order; each batch comes back with its
 * verdicts (the frame bytes are transferred there and back, never copied). One thread holds the whole conntrack, so
 * both directions of a connection meet the same entry. Time: each packet's capture stamp (wall clock, ns).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Classifier, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import { attachSnapshot, type SnapshotHandle } from '../workers/transfer.js';
import type { RecordColumns } from '../sources/reader.js';

export interface WatchWorkerInit {
  snapshot: SnapshotHandle;
  options: ClassifierOptions;
}

export interface WatchBatchMessage extends RecordColumns {
  type: 'batch';
  id: number;
  count: number;
  buf: ArrayBuffer;
}

export interface WatchVerdictMessage {
  type: 'verdicts';
  id: number;
  batch: WatchBatchMessage;
  verdicts: ArrayBuffer;
}

export function batchTransfer(m: WatchBatchMessage): ArrayBuffer[] {
  return [m.buf, m.offsets.buffer as ArrayBuffer, m.capLens.buffer as ArrayBuffer, m.wireLens.buffer as ArrayBuffer, m.linkTypes.buffer as ArrayBuffer, m.tsSec.buffer as ArrayBuffer, m.tsNsec.buffer as ArrayBuffer];
}

function run(init: WatchWorkerInit): void {
  const post = parentPort!;
  const c = new Classifier(attachSnapshot(init.snapshot), init.options);
  post.on('message', (m: WatchBatchMessage | { type: 'stop' }) => {
    if (m.type === 'stop') {
      post.close();
      return;
    }
    const n = m.count;
    const buf = new Uint8Array(m.buf);
    const v = new VerdictBatch(n);
    let last = 0;
    for (let i = 0; i < n; i++) {
      last = m.tsSec[i]! * 1e9 + m.tsNsec[i]!;
      c.ct.timeNs = last;
      c.classify(m.linkTypes[i]!, buf, m.offsets[i]!, m.capLens[i]!, m.wireLens[i]!, v, i);
    }
    v.count = n;
    c.ct.sweep(last, 64);
    const out: WatchVerdictMessage = { type: 'verdicts', id: m.id, batch: m, verdicts: v.buffer as ArrayBuffer };
    post.postMessage(out, [...batchTransfer(m), v.buffer as ArrayBuffer]);
  });
  post.postMessage({ type: 'ready' });
}

if (parentPort && workerData && (workerData as { kpfWatch?: boolean }).kpfWatch) {
  try {
    run((workerData as { init: WatchWorkerInit }).init);
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
