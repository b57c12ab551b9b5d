/**
 * A Snapshot as a plain object of SharedArrayBuffer-backed typed arrays, for handing to worker threads: structured
 * clone of a SharedArrayBuffer shares the memory, so a worker attaches to the published tables without copying.
 */
import { LpmTable } from '../datapath/lpm.js';
import type { Snapshot } from '../datapath/snapshot.js';

export interface SnapshotHandle {
  revision: number;
  lpm: ArrayBufferLike;
  rest: Omit<Snapshot, 'ipcache' | 'revision'>;
}

/** The transferable handle of a snapshot built with `shared: true`. */
export function snapshotHandle(s: Snapshot): SnapshotHandle {
  const { ipcache, revision, ...rest } = s;
  if (!(ipcache.buffer instanceof SharedArrayBuffer)) throw new TypeError('snapshot must be built with shared buffers to go to workers');
  return { revision, lpm: ipcache.buffer, rest };
}

/** Attaches to a handle received from another thread (no copy). */
export function attachSnapshot(h: SnapshotHandle): Snapshot {
  return { ...h.rest, revision: h.revision, ipcache: LpmTable.fromBuffers(h.lpm) };
}
