/**
 * Shard of a packet: a symmetric hash of its unordered address pair after Service NAT (RSS-style), so both
 * directions of a connection, all its fragments and the ICMP errors about it (hashed on the quoted header) go to the
 * worker that holds its conntrack entry. A packet to a ClusterIP:port is hashed on (client, backend) — the backend
 * chosen exactly as the datapath chooses it — and so is a reply coming from the ClusterIP; therefore a connection
 * through a Service and a direct connection to the same backend meet in one worker, as they meet in one conntrack
 * table on a node.
 * @remarks hot path: no allocation.
 */
import { DecodeStatus } from '../core/enums.js';
import type { FlowKey } from '../core/flow-key.js';
import { backendHash, chooseBackend } from '../core/hash.js';
import { pairHash } from '../datapath/flow-hash.js';
import { SemanticsBits, findFrontend, type Snapshot } from '../datapath/snapshot.js';
import { decode } from '../packet/decode.js';
import { decodeInner } from '../packet/inner.js';

function hasPorts(p: number): boolean {
  return p === 6 || p === 17 || p === 132;
}

/** Pair hash of a decoded key, with the ClusterIP side replaced by the backend it is translated to. */
function natPairHash(s: Snapshot | null, k: FlowKey): number {
  if (s !== null && (s.flags & SemanticsBits.DNAT_OFF) === 0 && hasPorts(k.proto)) {
    const sv = s.services;
    // request to a frontend
    let f = findFrontend(sv, k.family, k.dst0, k.dst1, k.dst2, k.dst3, k.proto, k.dport);
    if (f >= 0 && sv.feCount[f]! > 0) {
      const b = sv.feStart[f]! + chooseBackend(backendHash(k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3, k.proto, k.sport, k.dport), sv.feCount[f]!);
      const o = b * 4;
      return pairHash(k.family, k.src0, k.src1, k.src2, k.src3, sv.beAddr[o]!, sv.beAddr[o + 1]!, sv.beAddr[o + 2]!, sv.beAddr[o + 3]!);
    }
    // reply from a frontend (captured on the client's side): the request was dst=src, sport=dport
    f = findFrontend(sv, k.family, k.src0, k.src1, k.src2, k.src3, k.proto, k.sport);
    if (f >= 0 && sv.feCount[f]! > 0) {
      const b = sv.feStart[f]! + chooseBackend(backendHash(k.dst0, k.dst1, k.dst2, k.dst3, k.src0, k.src1, k.src2, k.src3, k.proto, k.dport, k.sport), sv.feCount[f]!);
      const o = b * 4;
      return pairHash(k.family, k.dst0, k.dst1, k.dst2, k.dst3, sv.beAddr[o]!, sv.beAddr[o + 1]!, sv.beAddr[o + 2]!, sv.beAddr[o + 3]!);
    }
  }
  return pairHash(k.family, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3);
}

export function shardOf(
  linkType: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  wireLen: number,
  k: FlowKey,
  inner: FlowKey,
  workers: number,
  snapshot: Snapshot | null,
): number {
  if (workers === 1) return 0;
  return shardOfDecoded(decode(linkType, buf, off, capLen, wireLen, k), buf, off, k, inner, workers, snapshot);
}

/** {@link shardOf} of a frame already decoded into `k` with status `st`. */
export function shardOfDecoded(st: number, buf: Uint8Array, off: number, k: FlowKey, inner: FlowKey, workers: number, snapshot: Snapshot | null): number {
  if (workers === 1 || k.family === 0) return 0;
  if (k.innerFamily !== 0 && st === DecodeStatus.OK && decodeInner(buf, off, k, inner) === DecodeStatus.OK) {
    return natPairHash(snapshot, inner) % workers;
  }
  return natPairHash(snapshot, k) % workers;
}
