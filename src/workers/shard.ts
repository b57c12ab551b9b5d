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
import { FlowKey } from '../core/flow-key.js';
import { backendHashI, chooseBackend } from '../core/hash.js';
import { pairHashI } from '../datapath/flow-hash.js';
import { SemanticsBits, findFrontend, type Snapshot } from '../datapath/snapshot.js';
import { decode } from '../packet/decode.js';
import { Fast4 } from '../packet/fast4.js';
import type { DecodeOptions } from '../packet/options.js';
import { decodeInner } from '../packet/inner.js';

function hasPorts(p: number): boolean {
  return p === 6 || p === 17 || p === 132;
}

/** Pair hash (int32) of a decoded key, with the ClusterIP side replaced by the backend it is translated to. */
function natPairHash(s: Snapshot | null, k: FlowKey): number {
  // address words as int32: a uint32 of 2^31 or more passed to a call V8 did not inline is boxed
  return natPairHashOf(s, k.family, k.proto, k.src0 | 0, k.src1 | 0, k.src2 | 0, k.src3 | 0, k.dst0 | 0, k.dst1 | 0, k.dst2 | 0, k.dst3 | 0, k.sport, k.dport);
}

function natPairHashOf(
  s: Snapshot | null,
  family: number,
  proto: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
  sport: number,
  dport: number,
): number {
  if (s !== null && (s.flags & SemanticsBits.DNAT_OFF) === 0 && hasPorts(proto)) {
    const sv = s.services;
    // request to a frontend
    let f = findFrontend(sv, family, d0, d1, d2, d3, proto, dport);
    if (f >= 0 && sv.feCount[f]! > 0) {
      const b = sv.feStart[f]! + chooseBackend(backendHashI(s0, s1, s2, s3, d0, d1, d2, d3, proto, sport, dport), sv.feCount[f]!);
      const o = b * 4;
      return pairHashI(family, s0 | 0, s1 | 0, s2 | 0, s3 | 0, sv.beAddr[o]! | 0, sv.beAddr[o + 1]! | 0, sv.beAddr[o + 2]! | 0, sv.beAddr[o + 3]! | 0);
    }
    // reply from a frontend (captured on the client's side): the request was dst=src, sport=dport
    f = findFrontend(sv, family, s0, s1, s2, s3, proto, sport);
    if (f >= 0 && sv.feCount[f]! > 0) {
      const b = sv.feStart[f]! + chooseBackend(backendHashI(d0, d1, d2, d3, s0, s1, s2, s3, proto, dport, sport), sv.feCount[f]!);
      const o = b * 4;
      return pairHashI(family, d0 | 0, d1 | 0, d2 | 0, d3 | 0, sv.beAddr[o]! | 0, sv.beAddr[o + 1]! | 0, sv.beAddr[o + 2]! | 0, sv.beAddr[o + 3]! | 0);
    }
  }
  return pairHashI(family, s0 | 0, s1 | 0, s2 | 0, s3 | 0, d0 | 0, d1 | 0, d2 | 0, d3 | 0);
}

/**
 * {@link shardOfDecoded} of a frame parsed by packet/fast4.ts (IPv4 TCP/UDP; addresses as int32): the same shard
 * the decoded frame gets.
 */
function shardOf4(snapshot: Snapshot | null, proto: number, src: number, dst: number, sport: number, dport: number, workers: number): number {
  if (workers === 1) return 0;
  return (natPairHashOf(snapshot, 4, proto, 0, 0, 0, src | 0, 0, 0, 0, dst | 0, sport, dport) >>> 0) % workers;
}

/** The shard of a frame, decoded (into `k`, `inner` for a tunnelled one) with the workers' decode options. */
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
  opts: DecodeOptions,
): number {
  if (workers === 1) return 0;
  return shardOfDecoded(decode(linkType, buf, off, capLen, wireLen, k, opts), buf, off, k, inner, workers, snapshot);
}

/** {@link shardOf} of a frame already decoded into `k` with status `st`. */
function shardOfDecoded(st: number, buf: Uint8Array, off: number, k: FlowKey, inner: FlowKey, workers: number, snapshot: Snapshot | null): number {
  if (workers === 1 || k.family === 0) return 0;
  if (k.innerFamily !== 0 && st === DecodeStatus.OK && decodeInner(buf, off, k, inner) === DecodeStatus.OK) {
    return (natPairHash(snapshot, inner) >>> 0) % workers;
  }
  return (natPairHash(snapshot, k) >>> 0) % workers;
}

const fast = new Fast4();
const key = new FlowKey();
const innerKey = new FlowKey();

/**
 * The shard of every record of a batch, into `out[0, count)`: what the replay's main thread computes once per record,
 * so that each worker only skips the records of other shards (one byte read) instead of parsing and hashing every
 * record itself. The common frame (packet/fast4.ts, unless checksums are verified) is hashed from its parsed fields,
 * any other frame after the general decoder — the same shard {@link shardOf} gives.
 * @remarks hot path: no allocation.
 */
export function shardBatch(
  snapshot: Snapshot | null,
  opts: DecodeOptions,
  buf: Uint8Array,
  offsets: Uint32Array,
  capLens: Uint32Array,
  wireLens: Uint32Array,
  linkTypes: Uint16Array,
  count: number,
  workers: number,
  out: Uint8Array,
): void {
  const f = fast;
  const fastOk = !opts.verifyChecksums;
  for (let i = 0; i < count; i++) {
    const off = offsets[i]!;
    const lt = linkTypes[i]!;
    const cap = capLens[i]!;
    const wire = wireLens[i]!;
    out[i] =
      fastOk && f.parse(lt, buf, off, cap, wire)
        ? shardOf4(snapshot, f.proto, f.src, f.dst, f.sport, f.dport, workers)
        : shardOf(lt, buf, off, cap, wire, key, innerKey, workers, snapshot, opts);
  }
}
