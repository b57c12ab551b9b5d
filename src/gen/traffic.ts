/**
 * Deterministic synthetic traffic for a cluster (`kpf gen traffic`): millions of packets between the cluster's pods,
 * its Services' ClusterIPs and the outside, reproducible byte for byte from a seed.
 *
 *  plan (setup, seeded)                         emit (hot loop, per packet)
 *  ────────────────────                         ──────────────────────────────────────────────────────────────
 *  packets per protocol  = N × mix              pick an active slot (PRNG) → its flow's next packet:
 *  flows per protocol    = F × mix                TCP  SYN, SYN-ACK, ACK, data both ways (PSH|ACK), FIN, FIN, ACK
 *  flow budgets          ≥ 1, sum = N              UDP  request, response, …     ICMP  echo request, reply, …
 *  endpoints, kind, family, ports per flow       copy the template of (slot, direction, kind) into the chunk,
 *  start order shuffled                          patch IPv4 id, TCP seq/ack/flags, ICMP seq, and the checksums
 *  ┌──────── active window (≤ 512 slots) ─────┐    from the template's precomputed partial sums (RFC 1624
 *  │ slot: flow, step, seq numbers, 6 frame   │    style: base + changed words, folded)
 *  │ templates (c→s / s→c × ctl, data, SYN)   │  when a flow's budget is spent, the next flow takes its slot
 *  └──────────────────────────────────────────┘  chunks (4 MiB) go to the sink when full
 *
 * Flow kinds: pod → pod, pod → Service ClusterIP:port (replies come from the ClusterIP, as on the client's veth),
 * pod → external, external → pod. `externalShare` of the flows involve the outside (half each way); of the rest
 * half go to Services (TCP/UDP, when a Service has a port of that protocol) and half pod to pod. A flow between
 * dual-stack endpoints is IPv6 with probability ½. External addresses are from the documentation ranges
 * (RFC 5737 203.0.113.0/24, 198.51.100.0/24; RFC 3849 2001:db8::/32).
 *
 * Frame size: every frame is exactly `frameSize` bytes as captured (no FCS; 60 is the Ethernet minimum without
 * FCS, 64 with it): data packets carry `frameSize − headers` payload bytes (IP length covers them); SYNs, pure
 * ACKs and FINs carry none and are zero-padded after the IP datagram, as Ethernet pads. Where the headers alone
 * don't fit (IPv6: TCP below 75 bytes, UDP and ICMPv6 below 62) the frame is as short as it can be (SYNs then
 * carry MSS alone); {@link TrafficSummary.oversizeFrames}
 * counts those. SYNs carry `MSS, NOP, WS` (8 bytes, so an IPv4 SYN fits 64 bytes), or MSS alone (and unscaled
 * windows) when that does not fit; no TCP timestamps.
 *
 * Output: classic pcap, little-endian, microsecond timestamps, LINKTYPE_ETHERNET; starting at
 * 2026-11-26T10:00:00Z, 1–19 µs between packets.
 */
import type { Cluster, Pod } from '../cluster/model.js';
import { isPolicyEndpoint } from '../cluster/model.js';
import { UsageError } from '../core/errors.js';
import { ipBytes, macOf } from './packets.js';
import { fmix32, mix32 } from '../core/hash.js';
import { gatewayMac } from './endpoints.js';
import { LAB_CAPTURE_START } from './lab.js';
import {
  ETH_HLEN,
  frameSpec,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  IPV4_HLEN,
  IPV6_HLEN,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  synOptions,
  TCP_ACK,
  TCP_FIN,
  TCP_HLEN,
  TCP_PSH,
  TCP_SYN,
  UDP_HLEN,
  writeFrame,
} from './packets.js';

// ---------------------------------------------------------------------------------------------------------------
// PRNG

/**
 * mulberry32: a 32-bit state, 32-bit output generator (Tommy Ettinger's construction) — small, fast, and good
 * enough to pick flows and ports; not for anything secret.
 */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Next 32-bit unsigned integer. */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** The internal state (to carry a generator into a hot loop and back). */
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v | 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// options and results

/** Protocol weights (relative; they need not sum to 100). */
export interface TrafficMix {
  tcp: number;
  udp: number;
  icmp: number;
}

export interface TrafficOptions {
  /** packets to write (exactly) */
  packets: number;
  /** flows to spread them over (fewer when there are fewer packets than flows) */
  flows: number;
  /** bytes per frame as captured, no FCS; ≥ 60 */
  frameSize: number;
  mix: TrafficMix;
  seed: number;
  /** fraction 0…1 of flows that cross the cluster edge (half pod → external, half external → pod) */
  externalShare: number;
  /** first timestamp, seconds since 1970 (default 2026-11-26T10:00:00Z) */
  startSec?: number;
  /** flows active at once (default 512, at most `flows`) */
  concurrency?: number;
}

export const DEFAULT_TRAFFIC: Readonly<Omit<TrafficOptions, 'startSec' | 'concurrency'>> = Object.freeze({
  packets: 100_000,
  flows: 1_000,
  frameSize: 64,
  mix: Object.freeze({ tcp: 70, udp: 25, icmp: 5 }),
  seed: 1,
  externalShare: 0.1,
});

export const MIN_FRAME_SIZE = 60;
export const MAX_FRAME_SIZE = 9014;
export const MAX_PACKETS = 1_000_000_000;

/** What was written. */
export interface TrafficSummary {
  packets: number;
  flows: number;
  /** bytes of the pcap stream, header included */
  bytes: number;
  frameSize: number;
  packetsByProtocol: TrafficMix;
  flowsByProtocol: TrafficMix;
  flowsByKind: { podToPod: number; podToService: number; podToExternal: number; externalToPod: number };
  ipv6Flows: number;
  /** frames longer than frameSize because their headers do not fit (IPv6: TCP below 75 bytes, UDP/ICMPv6 below 62) */
  oversizeFrames: number;
  /** timestamp of the last packet, seconds since 1970 (fractional) */
  lastTime: number;
}

/** Receives each full chunk of pcap bytes; the chunk is reused once the returned promise (if any) settles. */
export type ChunkSink = (chunk: Uint8Array) => void | Promise<void>;

// ---------------------------------------------------------------------------------------------------------------
// plan

const KIND_POD_POD = 0;
const KIND_POD_SVC = 1;
const KIND_POD_EXT = 2;
const KIND_EXT_POD = 3;
const P_TCP = 0;
const P_UDP = 1;
const P_ICMP = 2;

interface Endpoint {
  v4: Uint8Array | null;
  v6: Uint8Array | null;
  pod: Pod | null;
  /** pods: own MACs and their gateway's MACs per family (null for Services and external hosts) */
  mac4: Uint8Array | null;
  mac6: Uint8Array | null;
  gw4: Uint8Array | null;
  gw6: Uint8Array | null;
  text4?: string;
  text6?: string;
  tcpPorts: number[];
  udpPorts: number[];
}

const DEFAULT_PORTS = { tcp: [80, 443, 8080], udp: [53, 123, 8125] } as const;
const EXTERNAL_PORTS = { tcp: [443, 80], udp: [53, 123] } as const;
const TTL_POD = 64;
const TTL_EXTERNAL = 52;

function v4of(ips: readonly string[]): string | undefined {
  return ips.find((ip) => !ip.includes(':'));
}
function v6of(ips: readonly string[]): string | undefined {
  return ips.find((ip) => ip.includes(':'));
}

function externalEndpoints(): Endpoint[] {
  const out: Endpoint[] = [];
  for (let i = 0; i < 32; i++) {
    const t4 = i < 16 ? `203.0.113.${80 + i}` : `198.51.100.${10 + i}`;
    const t6 = `2001:db8:${(0x100 + i * 0x101).toString(16)}::${(i + 1).toString(16)}`;
    out.push({ v4: ipBytes(t4), v6: ipBytes(t6), pod: null, mac4: null, mac6: null, gw4: null, gw6: null, text4: t4, text6: t6, tcpPorts: [], udpPorts: [] });
  }
  return out;
}

const HASH_SEED = 0x67656e31; // "gen1"

/**
 * A set of 32-bit fingerprints (open addressing, linear probing) to keep flows' 5-tuples apart. Two tuples with
 * the same fingerprint count as one, which only costs a redrawn port.
 */
class FingerprintSet {
  private readonly t: Uint32Array;
  private readonly mask: number;
  constructor(n: number) {
    let size = 16;
    while (size < 2 * n) size *= 2;
    this.t = new Uint32Array(size);
    this.mask = size - 1;
  }
  /** Adds `h`; false when it was there already. */
  add(h: number): boolean {
    const v = h >>> 0 || 1;
    for (let i = v & this.mask; ; i = (i + 1) & this.mask) {
      const x = this.t[i]!;
      if (x === v) return false;
      if (x === 0) {
        this.t[i] = v;
        return true;
      }
    }
  }
}

/** Splits `total` by `weights` into integers summing to `total` (largest remainder). */
function apportion(total: number, weights: number[]): number[] {
  const w = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((x) => (w > 0 ? (total * x) / w : 0));
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++;
  return out;
}

/** Checks options; throws UsageError naming the problem. */
export function checkTrafficOptions(o: TrafficOptions): void {
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi} (got ${v})`);
  };
  int('packets', o.packets, 1, MAX_PACKETS);
  int('flows', o.flows, 1, MAX_PACKETS);
  int('frame-size', o.frameSize, MIN_FRAME_SIZE, MAX_FRAME_SIZE);
  int('seed', o.seed, 0, 0xffffffff);
  if (!(o.externalShare >= 0 && o.externalShare <= 1)) throw new UsageError(`--external-share must be between 0 and 1 (got ${o.externalShare})`);
  const m = o.mix;
  for (const [k, v] of Object.entries(m)) if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`--mix ${k} must be a number ≥ 0`);
  if (m.tcp + m.udp + m.icmp <= 0) throw new UsageError('--mix: at least one protocol needs a weight above 0');
}

/** The flows of a run: struct of arrays, one entry per flow, in start order. */
interface Plan {
  count: number;
  proto: Uint8Array;
  kind: Uint8Array;
  family: Uint8Array;
  client: Int32Array;
  server: Int32Array;
  cport: Uint16Array;
  sport: Uint16Array;
  budget: Uint32Array;
  endpoints: Endpoint[];
  summary: TrafficSummary;
}

function planFlows(cluster: Cluster, o: TrafficOptions, rng: Prng): Plan {
  const pods = cluster.pods.filter((p) => isPolicyEndpoint(p) && p.phase !== 'Pending');
  if (pods.length === 0) throw new UsageError('the cluster has no pods with IP addresses to generate traffic for');
  const eps: Endpoint[] = [];
  for (const p of pods) {
    const t4 = v4of(p.ips);
    const t6 = v6of(p.ips);
    const b4 = t4 ? ipBytes(t4) : null;
    const b6 = t6 ? ipBytes(t6) : null;
    eps.push({
      v4: b4, v6: b6, pod: p,
      mac4: b4 ? macOf(b4) : null, mac6: b6 ? macOf(b6) : null,
      gw4: b4 ? gatewayMac(cluster, p, 4) : null, gw6: b6 ? gatewayMac(cluster, p, 6) : null,
      ...(t4 ? { text4: t4 } : {}), ...(t6 ? { text6: t6 } : {}),
      tcpPorts: p.ports.filter((x) => x.protocol === 'TCP').map((x) => x.containerPort),
      udpPorts: p.ports.filter((x) => x.protocol === 'UDP').map((x) => x.containerPort),
    });
  }
  const nPods = eps.length;
  const svcStart = eps.length;
  for (const s of cluster.services) {
    const t4 = v4of(s.clusterIPs);
    const t6 = v6of(s.clusterIPs);
    if (!t4 && !t6) continue;
    const tcp = s.ports.filter((x) => x.protocol === 'TCP').map((x) => x.port);
    const udp = s.ports.filter((x) => x.protocol === 'UDP').map((x) => x.port);
    if (tcp.length + udp.length === 0) continue;
    eps.push({ v4: t4 ? ipBytes(t4) : null, v6: t6 ? ipBytes(t6) : null, pod: null, mac4: null, mac6: null, gw4: null, gw6: null, tcpPorts: tcp, udpPorts: udp });
  }
  const svcTcp: number[] = [];
  const svcUdp: number[] = [];
  for (let i = svcStart; i < eps.length; i++) {
    if (eps[i]!.tcpPorts.length) svcTcp.push(i);
    if (eps[i]!.udpPorts.length) svcUdp.push(i);
  }
  const extStart = eps.length;
  eps.push(...externalEndpoints());
  const nExt = eps.length - extStart;

  const mixW = [o.mix.tcp, o.mix.udp, o.mix.icmp];
  const pkts = apportion(o.packets, mixW);
  const flowsWanted = apportion(Math.min(o.flows, o.packets), mixW);
  const flowsP = flowsWanted.map((f, i) => (pkts[i]! === 0 ? 0 : Math.min(pkts[i]!, Math.max(1, f))));
  const count = flowsP[0]! + flowsP[1]! + flowsP[2]!;

  const plan: Plan = {
    count,
    proto: new Uint8Array(count),
    kind: new Uint8Array(count),
    family: new Uint8Array(count),
    client: new Int32Array(count),
    server: new Int32Array(count),
    cport: new Uint16Array(count),
    sport: new Uint16Array(count),
    budget: new Uint32Array(count),
    endpoints: eps,
    summary: {
      packets: o.packets, flows: count, bytes: 0, frameSize: o.frameSize,
      packetsByProtocol: { tcp: pkts[0]!, udp: pkts[1]!, icmp: pkts[2]! },
      flowsByProtocol: { tcp: flowsP[0]!, udp: flowsP[1]!, icmp: flowsP[2]! },
      flowsByKind: { podToPod: 0, podToService: 0, podToExternal: 0, externalToPod: 0 },
      ipv6Flows: 0, oversizeFrames: 0, lastTime: 0,
    },
  };
  // protocols of the flows, then shuffled start order (Fisher–Yates)
  let at = 0;
  for (let p = 0; p < 3; p++) for (let i = 0; i < flowsP[p]!; i++) plan.proto[at++] = p;
  for (let i = count - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = plan.proto[i]!;
    plan.proto[i] = plan.proto[j]!;
    plan.proto[j] = t;
  }
  // budgets: 1 each plus a share of the rest weighted by U[0.5, 1.5)
  const idxOf: number[][] = [[], [], []];
  for (let i = 0; i < count; i++) idxOf[plan.proto[i]!]!.push(i);
  for (let p = 0; p < 3; p++) {
    const idx = idxOf[p]!;
    if (idx.length === 0) continue;
    const rest = pkts[p]! - idx.length;
    const w = idx.map(() => 0.5 + rng.float());
    const wsum = w.reduce((a, b) => a + b, 0);
    let cum = 0;
    let prev = 0;
    for (let k = 0; k < idx.length; k++) {
      cum += w[k]!;
      const upto = k === idx.length - 1 ? rest : Math.round((rest * cum) / wsum);
      plan.budget[idx[k]!] = 1 + (upto - prev);
      prev = upto;
    }
  }
  // endpoints, kinds, families, ports
  const seen = new FingerprintSet(count);
  const pick = <T>(a: readonly T[]): T => a[rng.below(a.length)]!;
  const fk = plan.summary.flowsByKind;
  for (let i = 0; i < count; i++) {
    const proto = plan.proto[i]!;
    let kind: number;
    if (rng.float() < o.externalShare || nPods < 2 && (proto === P_ICMP || (proto === P_TCP ? svcTcp : svcUdp).length === 0)) {
      kind = rng.float() < 0.5 ? KIND_POD_EXT : KIND_EXT_POD;
    } else {
      const svcs = proto === P_TCP ? svcTcp : proto === P_UDP ? svcUdp : [];
      kind = svcs.length > 0 && (nPods < 2 || rng.float() < 0.5) ? KIND_POD_SVC : KIND_POD_POD;
    }
    let c = rng.below(nPods);
    let s: number;
    if (kind === KIND_POD_POD) {
      s = rng.below(nPods - 1);
      if (s >= c) s++;
    } else if (kind === KIND_POD_SVC) {
      s = pick(proto === P_TCP ? svcTcp : svcUdp);
    } else if (kind === KIND_POD_EXT) {
      s = extStart + rng.below(nExt);
    } else {
      s = c;
      c = extStart + rng.below(nExt);
    }
    const ce = eps[c]!;
    const se = eps[s]!;
    let family: number;
    const both4 = !!(ce.v4 && se.v4);
    const both6 = !!(ce.v6 && se.v6);
    if (both4 && both6) family = rng.float() < 0.5 ? 6 : 4;
    else if (both6) family = 6;
    else if (both4) family = 4;
    else {
      // no common family (a single-stack Service or pod of the other family): go outside instead
      kind = KIND_POD_EXT;
      s = extStart + rng.below(nExt);
      family = ce.v4 ? 4 : 6;
    }
    let dport: number;
    if (proto === P_ICMP) dport = 0;
    else {
      const tcp = proto === P_TCP;
      const server = eps[s]!;
      const own = tcp ? server.tcpPorts : server.udpPorts;
      dport = own.length ? pick(own) : kind === KIND_POD_EXT ? pick(tcp ? EXTERNAL_PORTS.tcp : EXTERNAL_PORTS.udp) : pick(tcp ? DEFAULT_PORTS.tcp : DEFAULT_PORTS.udp);
    }
    // client port (ICMP: echo identifier); redraw on a repeated 5-tuple
    let cport = 0;
    for (let tries = 0; tries < 16; tries++) {
      cport = proto === P_ICMP ? 1 + rng.below(65535) : 32768 + rng.below(28232);
      if (seen.add(fmix32(mix32(mix32(mix32(mix32(HASH_SEED, c), s), (proto << 24) | (family << 16) | dport), cport)))) break;
    }
    plan.kind[i] = kind;
    plan.family[i] = family;
    plan.client[i] = c;
    plan.server[i] = s;
    plan.cport[i] = cport;
    plan.sport[i] = dport;
    if (family === 6) plan.summary.ipv6Flows++;
    if (kind === KIND_POD_POD) fk.podToPod++;
    else if (kind === KIND_POD_SVC) fk.podToService++;
    else if (kind === KIND_POD_EXT) fk.podToExternal++;
    else fk.externalToPod++;
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------------------------
// emit

/** Template index within a slot: direction (0 client → server, 1 back) × 3 + {ctl, data, syn}. */
const T_CTL = 0;
const T_DATA = 1;
const T_SYN = 2;
const PCAP_HEADER_LEN = 24;
const CHUNK_SIZE = 4 << 20;

/**
 * The packet emitter: a window of active flows, each with six frame templates, filling chunks of pcap records.
 * @remarks {@link fill} is the hot loop: no allocation, no closures.
 */
class Emitter {
  private readonly W: number;
  private readonly T: number;
  private readonly arena: Uint8Array;
  /** full-size (T bytes) view of each template, for writing it */
  private readonly views: Uint8Array[];
  /** exact-length view of each template (its frame), for copying it out */
  private readonly tpl: Uint8Array[];
  private readonly tLen: Uint16Array;
  private readonly tIpBase: Uint16Array;
  private readonly tL4Base: Uint16Array;
  private readonly sFlow: Int32Array;
  private readonly sK: Uint32Array;
  private readonly sB: Uint32Array;
  private readonly sHs: Uint32Array;
  private readonly sData: Uint32Array;
  private readonly sSeq: Uint32Array; // [2 × slot + dir]: next sequence number of each side
  private readonly sIpId: Uint16Array; // [2 × slot + dir]
  private readonly sPay: Uint16Array; // [2 × slot + dir]: data payload length
  private readonly sProto: Uint8Array;
  private readonly sV6: Uint8Array;
  private active = 0;
  private nextFlow = 0;
  private usec = 0;
  private sec: number;
  emitted = 0;
  oversize = 0;
  private readonly spec = frameSpec();
  private readonly scaled4: boolean;
  private readonly scaled6: boolean;
  private readonly synOpts4: Uint8Array;
  private readonly synOpts6: Uint8Array;

  constructor(
    private readonly plan: Plan,
    private readonly o: TrafficOptions,
    private readonly rng: Prng,
  ) {
    this.W = Math.max(1, Math.min(o.concurrency ?? 512, plan.count));
    this.T = Math.max(o.frameSize, 128);
    const W = this.W;
    this.arena = new Uint8Array(W * 6 * this.T);
    this.views = [];
    this.tpl = [];
    for (let i = 0; i < W * 6; i++) {
      this.views.push(this.arena.subarray(i * this.T, i * this.T + this.T));
      this.tpl.push(this.views[i]!);
    }
    this.tLen = new Uint16Array(W * 6);
    this.tIpBase = new Uint16Array(W * 6);
    this.tL4Base = new Uint16Array(W * 6);
    this.sFlow = new Int32Array(W);
    this.sK = new Uint32Array(W);
    this.sB = new Uint32Array(W);
    this.sHs = new Uint32Array(W);
    this.sData = new Uint32Array(W);
    this.sSeq = new Uint32Array(W * 2);
    this.sIpId = new Uint16Array(W * 2);
    this.sPay = new Uint16Array(W * 2);
    this.sProto = new Uint8Array(W);
    this.sV6 = new Uint8Array(W);
    this.sec = o.startSec ?? LAB_CAPTURE_START;
    // SYN options: MSS, NOP, WS (8 bytes) when they fit the frame, else MSS alone (and unscaled windows)
    const mssBase = o.frameSize > 1514 ? o.frameSize : 1514;
    this.scaled4 = ETH_HLEN + IPV4_HLEN + TCP_HLEN + 8 <= o.frameSize;
    this.scaled6 = ETH_HLEN + IPV6_HLEN + TCP_HLEN + 8 <= o.frameSize;
    const o4 = synOptions(mssBase - ETH_HLEN - IPV4_HLEN - TCP_HLEN, 7, null);
    const o6 = synOptions(mssBase - ETH_HLEN - IPV6_HLEN - TCP_HLEN, 7, null);
    this.synOpts4 = this.scaled4 ? o4 : o4.subarray(0, 4);
    this.synOpts6 = this.scaled6 ? o6 : o6.subarray(0, 4);
    while (this.active < W && this.nextFlow < plan.count) this.start(this.active++, this.nextFlow++);
  }

  /** Fills slot `slot` with flow `f`: state and its six templates. */
  private start(slot: number, f: number): void {
    const p = this.plan;
    const rng = this.rng;
    const proto = p.proto[f]!;
    const v6 = p.family[f] === 6;
    const kind = p.kind[f]!;
    const ce = p.endpoints[p.client[f]!]!;
    const se = p.endpoints[p.server[f]!]!;
    const cIP = (v6 ? ce.v6 : ce.v4)!;
    const sIP = (v6 ? se.v6 : se.v4)!;
    // MACs as seen on the pod's veth (endpoints.ts nextHopMac, precomputed per endpoint)
    let cMac: Uint8Array;
    let sMac: Uint8Array;
    if (kind === KIND_EXT_POD) {
      sMac = (v6 ? se.mac6 : se.mac4)!;
      cMac = (v6 ? se.gw6 : se.gw4)!;
    } else {
      cMac = (v6 ? ce.mac6 : ce.mac4)!;
      const samePod = se.pod !== null && se.pod.nodeName === ce.pod!.nodeName && !se.pod.hostNetwork;
      sMac = (samePod ? (v6 ? se.mac6 : se.mac4) : v6 ? ce.gw6 : ce.gw4)!;
    }
    const cTtl = kind === KIND_EXT_POD ? TTL_EXTERNAL : TTL_POD;
    const sTtl = kind === KIND_POD_EXT ? TTL_EXTERNAL : TTL_POD;
    const B = p.budget[f]!;
    this.sFlow[slot] = f;
    this.sK[slot] = 0;
    this.sB[slot] = B;
    this.sProto[slot] = proto;
    this.sV6[slot] = v6 ? 1 : 0;
    if (proto === P_TCP) {
      const hs = B < 3 ? B : 3;
      this.sHs[slot] = hs;
      this.sData[slot] = B >= 6 ? B - 6 : B > 3 ? B - 3 : 0;
    } else {
      this.sHs[slot] = 0;
      this.sData[slot] = B;
    }
    this.sSeq[2 * slot] = rng.next();
    this.sSeq[2 * slot + 1] = rng.next();
    this.sIpId[2 * slot] = rng.next();
    this.sIpId[2 * slot + 1] = rng.next();
    const flowLabel = rng.next() & 0xfffff;

    const s = this.spec;
    const fs = this.o.frameSize;
    const l3 = v6 ? IPV6_HLEN : IPV4_HLEN;
    const scaled = v6 ? this.scaled6 : this.scaled4;
    const synOpts = v6 ? this.synOpts6 : this.synOpts4;
    for (let dir = 0; dir < 2; dir++) {
      const fromC = dir === 0;
      s.src = fromC ? cIP : sIP;
      s.dst = fromC ? sIP : cIP;
      s.srcMac = fromC ? cMac : sMac;
      s.dstMac = fromC ? sMac : cMac;
      s.ttl = fromC ? cTtl : sTtl;
      s.ipId = 0;
      s.df = true;
      s.flowLabel = fromC ? flowLabel : flowLabel ^ 0x5a5a5;
      s.sport = fromC ? p.cport[f]! : p.sport[f]!;
      s.dport = fromC ? p.sport[f]! : p.cport[f]!;
      s.frameLen = fs;
      s.payload = null;
      for (let t = 0; t < 3; t++) {
        const ti = slot * 6 + dir * 3 + t;
        if (proto === P_TCP) {
          s.proto = PROTO_TCP;
          s.seq = 0;
          s.ack = 0;
          s.flags = 0;
          s.window = t === T_SYN || !scaled ? (fromC ? 64240 : 65160) : fromC ? 502 : 509;
          s.tcpOpts = t === T_SYN ? synOpts : null;
          s.tcpOptLen = t === T_SYN ? synOpts.length : 0;
          s.payloadLen = t === T_DATA ? Math.max(1, fs - ETH_HLEN - l3 - TCP_HLEN) : 0;
        } else if (proto === P_UDP) {
          if (t !== T_DATA) continue;
          s.proto = PROTO_UDP;
          s.tcpOpts = null;
          s.tcpOptLen = 0;
          s.payloadLen = Math.max(0, fs - ETH_HLEN - l3 - UDP_HLEN);
        } else {
          if (t !== T_DATA) continue;
          s.proto = v6 ? PROTO_ICMPV6 : PROTO_ICMP;
          s.icmpType = v6 ? (fromC ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY) : fromC ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
          s.icmpCode = 0;
          s.icmpId = p.cport[f]!;
          s.icmpSeq = 0;
          s.tcpOpts = null;
          s.tcpOptLen = 0;
          s.payloadLen = Math.max(0, fs - ETH_HLEN - l3 - UDP_HLEN);
        }
        const v = this.views[ti]!;
        const n = writeFrame(v, 0, s);
        this.tLen[ti] = n;
        this.tpl[ti] = this.arena.subarray(ti * this.T, ti * this.T + n);
        // partial sums = complement of the checksums written with the variable fields at 0
        this.tIpBase[ti] = v6 ? 0 : ~((v[ETH_HLEN + 10]! << 8) | v[ETH_HLEN + 11]!) & 0xffff;
        const l4 = ETH_HLEN + l3;
        const at = proto === P_TCP ? l4 + 16 : l4 + (proto === P_UDP ? 6 : 2);
        this.tL4Base[ti] = ~((v[at]! << 8) | v[at + 1]!) & 0xffff;
        if (t === T_DATA) this.sPay[2 * slot + dir] = s.payloadLen;
      }
    }
  }

  /** True when every flow has been emitted. */
  get done(): boolean {
    return this.active === 0;
  }

  /**
   * Writes pcap records into `out` from `pos` until it is full or all flows are done; returns the new position.
   * @remarks hot path: no allocation, no closures.
   */
  fill(out: Uint8Array, dv: DataView, pos: number): number {
    const tpl = this.tpl;
    const tLen = this.tLen;
    const tIpBase = this.tIpBase;
    const tL4Base = this.tL4Base;
    const sK = this.sK;
    const sB = this.sB;
    const sHs = this.sHs;
    const sData = this.sData;
    const sSeq = this.sSeq;
    const sIpId = this.sIpId;
    const sPay = this.sPay;
    const sProto = this.sProto;
    const sV6 = this.sV6;
    const limit = out.length - 16 - this.T;
    const fs = this.o.frameSize;
    const rng = this.rng;
    let sec = this.sec;
    let usec = this.usec;
    let oversize = this.oversize;
    let emitted = this.emitted;
    while (this.active > 0 && pos <= limit) {
      const r = rng.next();
      const slot = Math.floor((r / 4294967296) * this.active);
      usec += 1 + ((r & 0xffff) % 19);
      if (usec >= 1000000) {
        usec -= 1000000;
        sec++;
      }
      const proto = sProto[slot]!;
      const k = sK[slot]!;
      const base = slot * 6;
      let ti: number;
      let dir: number;
      // 1. which packet of the flow
      if (proto === P_TCP) {
        const hs = sHs[slot]!;
        const nd = sData[slot]!;
        let flags: number;
        let seq: number;
        let ack: number;
        if (k < hs) {
          // handshake: SYN, SYN-ACK, ACK
          if (k === 0) {
            dir = 0;
            ti = base + T_SYN;
            flags = TCP_SYN;
            seq = sSeq[2 * slot]!;
            ack = 0;
          } else if (k === 1) {
            dir = 1;
            ti = base + 3 + T_SYN;
            flags = TCP_SYN | TCP_ACK;
            seq = sSeq[2 * slot + 1]!;
            ack = (sSeq[2 * slot]! + 1) >>> 0;
          } else {
            dir = 0;
            ti = base + T_CTL;
            sSeq[2 * slot] = sSeq[2 * slot]! + 1;
            sSeq[2 * slot + 1] = sSeq[2 * slot + 1]! + 1;
            flags = TCP_ACK;
            seq = sSeq[2 * slot]!;
            ack = sSeq[2 * slot + 1]!;
          }
        } else if (k < hs + nd) {
          // data, alternating client → server, server → client
          dir = (k - hs) & 1;
          ti = base + dir * 3 + T_DATA;
          flags = TCP_PSH | TCP_ACK;
          seq = sSeq[2 * slot + dir]!;
          ack = sSeq[2 * slot + 1 - dir]!;
          sSeq[2 * slot + dir] = seq + sPay[2 * slot + dir]!;
        } else {
          // teardown: FIN (client), FIN (server), ACK (client)
          const m = k - hs - nd;
          dir = m === 1 ? 1 : 0;
          ti = base + dir * 3 + T_CTL;
          flags = m === 2 ? TCP_ACK : TCP_FIN | TCP_ACK;
          seq = sSeq[2 * slot + dir]!;
          ack = sSeq[2 * slot + 1 - dir]!;
          if (m < 2) sSeq[2 * slot + dir] = seq + 1;
        }
        // 2. copy the template and patch seq, ack, flags, checksum
        const p = pos + 16;
        out.set(tpl[ti]!, p);
        const l4 = p + ETH_HLEN + (sV6[slot] ? IPV6_HLEN : IPV4_HLEN);
        out[l4 + 4] = seq >>> 24;
        out[l4 + 5] = (seq >>> 16) & 0xff;
        out[l4 + 6] = (seq >>> 8) & 0xff;
        out[l4 + 7] = seq & 0xff;
        out[l4 + 8] = ack >>> 24;
        out[l4 + 9] = (ack >>> 16) & 0xff;
        out[l4 + 10] = (ack >>> 8) & 0xff;
        out[l4 + 11] = ack & 0xff;
        out[l4 + 13] = flags;
        let c = tL4Base[ti]! + (seq >>> 16) + (seq & 0xffff) + (ack >>> 16) + (ack & 0xffff) + flags;
        c = (c & 0xffff) + (c >>> 16);
        c = (c & 0xffff) + (c >>> 16);
        c = ~c & 0xffff;
        out[l4 + 16] = c >>> 8;
        out[l4 + 17] = c & 0xff;
      } else {
        dir = k & 1;
        ti = base + dir * 3 + T_DATA;
        const p = pos + 16;
        out.set(tpl[ti]!, p);
        if (proto === P_ICMP) {
          const seqNo = ((k >>> 1) + 1) & 0xffff;
          const l4 = p + ETH_HLEN + (sV6[slot] ? IPV6_HLEN : IPV4_HLEN);
          out[l4 + 6] = seqNo >>> 8;
          out[l4 + 7] = seqNo & 0xff;
          let c = tL4Base[ti]! + seqNo;
          c = (c & 0xffff) + (c >>> 16);
          c = ~c & 0xffff;
          out[l4 + 2] = c >>> 8;
          out[l4 + 3] = c & 0xff;
        }
      }
      const len = tLen[ti]!;
      // 3. IPv4 identification and header checksum
      if (sV6[slot] === 0) {
        const idAt = 2 * slot + dir;
        const id = sIpId[idAt]!;
        sIpId[idAt] = id + 1;
        const p3 = pos + 16 + ETH_HLEN;
        out[p3 + 4] = id >>> 8;
        out[p3 + 5] = id & 0xff;
        let c = tIpBase[ti]! + id;
        c = (c & 0xffff) + (c >>> 16);
        c = ~c & 0xffff;
        out[p3 + 10] = c >>> 8;
        out[p3 + 11] = c & 0xff;
      }
      // 4. record header
      dv.setUint32(pos, sec, true);
      dv.setUint32(pos + 4, usec, true);
      dv.setUint32(pos + 8, len, true);
      dv.setUint32(pos + 12, len, true);
      if (len > fs) oversize++;
      pos += 16 + len;
      emitted++;
      // 5. next packet of the flow, or the next flow into this slot
      if (k + 1 < sB[slot]!) sK[slot] = k + 1;
      else if (this.nextFlow < this.plan.count) this.start(slot, this.nextFlow++);
      else this.remove(slot);
    }
    this.sec = sec;
    this.usec = usec;
    this.oversize = oversize;
    this.emitted = emitted;
    return pos;
  }

  /** Drops a finished slot by moving the last active slot into it. */
  private remove(slot: number): void {
    const last = --this.active;
    if (slot === last) return;
    this.sFlow[slot] = this.sFlow[last]!;
    this.sK[slot] = this.sK[last]!;
    this.sB[slot] = this.sB[last]!;
    this.sHs[slot] = this.sHs[last]!;
    this.sData[slot] = this.sData[last]!;
    this.sProto[slot] = this.sProto[last]!;
    this.sV6[slot] = this.sV6[last]!;
    for (let d = 0; d < 2; d++) {
      this.sSeq[2 * slot + d] = this.sSeq[2 * last + d]!;
      this.sIpId[2 * slot + d] = this.sIpId[2 * last + d]!;
      this.sPay[2 * slot + d] = this.sPay[2 * last + d]!;
    }
    for (let t = 0; t < 6; t++) {
      const a = slot * 6 + t;
      const b = last * 6 + t;
      this.views[a]!.set(this.views[b]!);
      this.tLen[a] = this.tLen[b]!;
      this.tpl[a] = this.arena.subarray(a * this.T, a * this.T + this.tLen[b]!);
      this.tIpBase[a] = this.tIpBase[b]!;
      this.tL4Base[a] = this.tL4Base[b]!;
    }
  }

  /** Seconds since 1970 of the last packet written. */
  get lastTime(): number {
    return this.sec + this.usec / 1e6;
  }
}

/** The 24-byte classic pcap header this generator writes (LE, µs, snaplen 262144 or larger, ETHERNET). */
export function pcapHeader(snaplen = 262144): Uint8Array {
  const h = new Uint8Array(PCAP_HEADER_LEN);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, 1, true);
  return h;
}

/**
 * Generates the traffic of `o` for `cluster` and hands the pcap stream (header first) to `sink` in chunks of up
 * to 4 MiB. Deterministic: the same cluster and options give the same bytes.
 */
export async function generateTraffic(cluster: Cluster, o: TrafficOptions, sink: ChunkSink): Promise<TrafficSummary> {
  checkTrafficOptions(o);
  const rng = new Prng(o.seed);
  const plan = planFlows(cluster, o, rng);
  const em = new Emitter(plan, o, rng);
  const chunk = new Uint8Array(Math.max(CHUNK_SIZE, 16 * (16 + Math.max(o.frameSize, 128))));
  const dv = new DataView(chunk.buffer);
  chunk.set(pcapHeader(), 0);
  let pos = PCAP_HEADER_LEN;
  let bytes = 0;
  for (;;) {
    pos = em.fill(chunk, dv, pos);
    if (pos > 0) {
      bytes += pos;
      const r = sink(chunk.subarray(0, pos));
      if (r) await r;
      pos = 0;
    }
    if (em.done) break;
  }
  const sum = plan.summary;
  sum.bytes = bytes;
  sum.oversizeFrames = em.oversize;
  sum.lastTime = em.lastTime;
  if (em.emitted !== o.packets) throw new Error(`internal: emitted ${em.emitted} of ${o.packets} packets`);
  return sum;
}
