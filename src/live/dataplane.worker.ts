/**
 * The live dataplane thread: one poll(2) loop over every TUN fd, off the event loop. Each round reads what is ready
 * (up to `batchMax` packets) into one arena, classifies the batch under one pinned revision (a new revision posted
 * by the main thread is swapped in between batches), rewrites Service NAT, writes every FORWARDED packet into the
 * TUN of the namespace that owns its (post-NAT) destination, answers DROPPED ones when `reject` is on, and posts the
 * batch (pre-NAT bytes, verdicts, where each packet went) to the main thread for the flow log.
 *
 * One thread holds the whole conntrack, so both directions of every connection meet the same entry with no
 * sharding. Time: conntrack runs on `process.hrtime.bigint()` (ns, as a Number); flow records carry wall time.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { Classifier, ForwardReason, PacketFlag, PacketVerdict, VerdictBatch, type ClassifierOptions } from '../datapath/classify.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { attachSnapshot, type SnapshotHandle } from '../workers/transfer.js';
import { NatAction, NatTarget, natOfEntry, rewriteDestination, rewriteSource } from './nat-rewrite.js';
import { buildReject } from './reject.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, PollSet, TUN_READ_BUFFER, loadLibc, readPacket, writePacket } from './tun.js';

export interface WorkerPort {
  fd: number;
  /** the IPs its namespace owns: IPv4 as u32, IPv6 as 4 u32 words joined with ':' */
  v4: number[];
  v6: string[];
}

export interface DataplaneInit {
  snapshot: SnapshotHandle;
  options: ClassifierOptions;
  ports: WorkerPort[];
  /** index of the outside world's port (destinations nobody else owns), -1 for none */
  world: number;
  reject: boolean;
  batchMax: number;
  pollMs: number;
  /** Int32Array over it: [0] stop flag */
  control: SharedArrayBuffer;
  /** control messages from the main thread (new revisions), read synchronously between batches */
  port: MessagePort;
}

/** Destination column values besides a port index. */
export const Dest = { DROPPED: -1, UNROUTABLE: -2, WRITE_FAILED: -3 } as const;

export interface LiveBatchMessage {
  type: 'batch';
  revision: number;
  count: number;
  buf: ArrayBuffer;
  offsets: Uint32Array;
  lens: Uint32Array;
  inPort: Int16Array;
  dest: Int16Array;
  tsSec: Float64Array;
  tsNsec: Uint32Array;
  verdicts: ArrayBuffer;
  rejects: number;
  /** conntrack occupancy and evictions, at most once a second */
  ct?: LiveCtSummary;
}

/** Conntrack figures the live metrics report. */
export interface LiveCtSummary {
  tcpEntries: number;
  tcpCapacity: number;
  anyEntries: number;
  anyCapacity: number;
  /** evictions by reason, both tables */
  tcpEvictions: { expired: number; non_assured: number; lru: number };
  anyEvictions: { expired: number; non_assured: number; lru: number };
}

export interface LiveWorkerStats {
  counters: Classifier['counters'];
  batches: number;
  written: number;
  writeErrors: number;
  unroutable: number;
  rejects: number;
  readErrors: number;
  revision: number;
}

const ARENA = 1 << 20;
const RAW = 101;

function isLinkLocalOrMulticast(fam: number, dst0: number, dst3: number, src0: number): boolean {
  if (fam === 4) return dst3 >>> 28 === 0xe || dst3 >>> 0 === 0xffffffff;
  return dst0 >>> 24 === 0xff || (dst0 >>> 22) === 0x3fa || (src0 >>> 22) === 0x3fa;
}

function run(init: DataplaneInit): void {
  const post = parentPort!;
  loadLibc();
  const control = new Int32Array(init.control);
  let snapshot: Snapshot = attachSnapshot(init.snapshot);
  const c = new Classifier(snapshot, init.options);
  const k = c.key;
  const ports = init.ports;
  const v4 = new Map<number, number>();
  const v6 = new Map<string, number>();
  ports.forEach((p, i) => {
    for (const a of p.v4) v4.set(a >>> 0, i);
    for (const a of p.v6) v6.set(a, i);
  });
  const poll = new PollSet(ports.map((p) => p.fd));
  const dead = new Uint8Array(ports.length);
  const wbuf = new Uint8Array(TUN_READ_BUFFER);
  const rbuf = new Uint8Array(2048);
  const t = new NatTarget();
  const max = Math.max(1, init.batchMax);
  let lastCtReport = -Infinity;
  const stats: LiveWorkerStats = { counters: c.counters, batches: 0, written: 0, writeErrors: 0, unroutable: 0, rejects: 0, readErrors: 0, revision: snapshot.revision };
  post.postMessage({ type: 'ready', revision: snapshot.revision });

  const destOf = (): number => {
    if (isLinkLocalOrMulticast(k.family, k.dst0, k.dst3, k.src0)) return Dest.UNROUTABLE;
    let d: number | undefined;
    if (k.family === 4) d = v4.get(k.dst3 >>> 0);
    else if (k.family === 6) d = v6.get(`${k.dst0 >>> 0}:${k.dst1 >>> 0}:${k.dst2 >>> 0}:${k.dst3 >>> 0}`);
    else return Dest.UNROUTABLE;
    return d ?? (init.world >= 0 ? init.world : Dest.UNROUTABLE);
  };

  while (Atomics.load(control, 0) === 0) {
    // control messages between batches: a new revision applies to the next batch as a whole
    for (let m = receiveMessageOnPort(init.port); m; m = receiveMessageOnPort(init.port)) {
      const msg = m.message as { type: 'snapshot'; handle: SnapshotHandle };
      if (msg.type === 'snapshot' && msg.handle.revision !== snapshot.revision) {
        snapshot = attachSnapshot(msg.handle);
        c.setSnapshot(snapshot);
        stats.revision = snapshot.revision;
        post.postMessage({ type: 'revision', revision: snapshot.revision });
      }
    }
    let n = poll.wait(init.pollMs);
    if (n <= 0) continue;
    // read phase: what is ready, round-robin over the fds, until the batch is full or nothing is ready
    const arena = new Uint8Array(ARENA);
    const offsets = new Uint32Array(max);
    const lens = new Uint32Array(max);
    const inPort = new Int16Array(max);
    let count = 0;
    let used = 0;
    while (n > 0 && count < max && used + TUN_READ_BUFFER <= ARENA) {
      for (let i = 0; i < ports.length && count < max && used + TUN_READ_BUFFER <= ARENA; i++) {
        const ev = poll.revents(i);
        if (ev === 0 || dead[i]) continue;
        if ((ev & POLLIN) === 0 && (ev & (POLLERR | POLLHUP | POLLNVAL)) !== 0) {
          dead[i] = 1; // the device went away: stop polling it
          poll.buf.writeInt32LE(-1, 8 * i);
          stats.readErrors++;
          continue;
        }
        const r = readPacket(ports[i]!.fd, arena, used, TUN_READ_BUFFER);
        if (r <= 0) {
          if (r !== -11 && r !== -4) {
            dead[i] = 1;
            poll.buf.writeInt32LE(-1, 8 * i);
            stats.readErrors++;
          }
          continue;
        }
        offsets[count] = used;
        lens[count] = r;
        inPort[count] = i;
        count++;
        used += (r + 7) & ~7;
      }
      if (count >= max || used + TUN_READ_BUFFER > ARENA) break;
      n = poll.wait(0);
    }
    if (count === 0) continue;
    // classify, rewrite, forward
    stats.batches++;
    const verdicts = new VerdictBatch(count);
    const dest = new Int16Array(count);
    const wall = performance.timeOrigin + performance.now();
    const sec = Math.floor(wall / 1000);
    const nsec = Math.min(999_999_999, Math.round((wall - sec * 1000) * 1e6));
    let rejects = 0;
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lens[i]!;
      c.ct.timeNs = Number(process.hrtime.bigint());
      c.classify(RAW, arena, off, len, len, verdicts, i);
      if (verdicts.verdict[i] !== PacketVerdict.FORWARDED) {
        dest[i] = Dest.DROPPED;
        if (init.reject && k.family !== 0) {
          const rl = buildReject(arena, off, k, rbuf);
          if (rl > 0 && writePacket(ports[inPort[i]!]!.fd, rbuf, 0, rl) === rl) rejects++;
        }
        continue;
      }
      if (k.family !== 4 && k.family !== 6) {
        dest[i] = Dest.UNROUTABLE;
        stats.unroutable++;
        continue;
      }
      // Service NAT from the connection's conntrack entry (new, established or reply)
      let out: Uint8Array = arena;
      let wOff = off;
      const reason = verdicts.reason[i]!;
      if ((verdicts.flags[i]! & PacketFlag.NAT) !== 0 || reason === ForwardReason.ESTABLISHED || reason === ForwardReason.REPLY) {
        const action = natOfEntry(c.ct, c.ct.slot, k, t);
        if (action !== NatAction.NONE) {
          wbuf.set(arena.subarray(off, off + len), 0); // the arena keeps the packet as received, for the flow log
          out = wbuf;
          wOff = 0;
          if (action === NatAction.DNAT) rewriteDestination(wbuf, 0, k, t, len);
          else rewriteSource(wbuf, 0, k, t, len);
        }
      }
      const d = destOf();
      if (d < 0) {
        dest[i] = d;
        stats.unroutable++;
        continue;
      }
      const w = writePacket(ports[d]!.fd, out, wOff, len);
      if (w === len) {
        dest[i] = d;
        stats.written++;
      } else {
        dest[i] = Dest.WRITE_FAILED;
        stats.writeErrors++;
      }
    }
    verdicts.count = count;
    c.ct.sweep(undefined, 64);
    stats.rejects += rejects;
    const buf = arena.buffer.slice(0, used);
    const tsSec = new Float64Array(count).fill(sec);
    const tsNsec = new Uint32Array(count).fill(nsec);
    let ct: LiveCtSummary | undefined;
    const nowMs = performance.now();
    if (nowMs - lastCtReport >= 1000) {
      lastCtReport = nowMs;
      const st = c.ct.stats();
      ct = {
        tcpEntries: st.tcp.entries,
        tcpCapacity: st.tcp.capacity,
        anyEntries: st.any.entries,
        anyCapacity: st.any.capacity,
        tcpEvictions: { ...st.tcp.evictions },
        anyEvictions: { ...st.any.evictions },
      };
    }
    const msg: LiveBatchMessage = {
      type: 'batch',
      revision: snapshot.revision,
      count,
      buf,
      offsets,
      lens,
      inPort,
      dest,
      tsSec,
      tsNsec,
      verdicts: verdicts.buffer as ArrayBuffer,
      rejects,
      ...(ct ? { ct } : {}),
    };
    post.postMessage(msg, [buf, offsets.buffer, lens.buffer, inPort.buffer, dest.buffer, tsSec.buffer, tsNsec.buffer, verdicts.buffer as ArrayBuffer]);
  }
  post.postMessage({ type: 'stopped', stats });
  init.port.close();
}

if (parentPort && workerData && (workerData as { kpfLive?: boolean }).kpfLive) {
  try {
    run((workerData as { init: DataplaneInit }).init);
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
