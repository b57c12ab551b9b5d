/**
 * Flow records: one per capture record, built on the main thread from the record's bytes and its verdict, with the
 * compile result as the dictionary (endpoints, identities, rules, Services). Printing is elsewhere (sinks/): this
 * module only says what happened.
 */
import { DecodeStatus, DropReason, decodeStatusToString, dropReasonToString } from '../core/enums.js';
import { FlowKey, wordsToIP } from '../core/flow-key.js';
import { ForwardReasonName, PacketFlag, PacketVerdict, RuleRef, type VerdictBatch } from '../datapath/classify.js';
import { MatchType } from '../datapath/policy-map.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { decode } from '../packet/decode.js';
import { DIR_INGRESS, type Compiled } from '../policy/compile.js';
import type { RecordBatch } from '../sources/capture.js';
import { WORKER_FAILED } from './engine.js';

export interface RuleOrigin {
  direction: 'ingress' | 'egress';
  policy: string;
  rule: number;
}

export interface DenyOrigin {
  direction: 'ingress' | 'egress';
  /** the policies that isolate the endpoint in that direction (no rule of theirs allows the flow) */
  policies: string[];
}

export interface EndpointInfo {
  /** `namespace/name` of a pod, else absent */
  pod?: string;
  namespace?: string;
  name?: string;
  identity: number;
  /** endpoint id (pods only) */
  id?: number;
  labels: string[];
}

/** One capture record's verdict and context — the `-o json` contract (see README "Flow records"). */
export interface FlowRecord {
  index: number;
  time: string;
  verdict: 'FORWARDED' | 'DROPPED';
  drop_reason?: string;
  drop_reason_code?: number;
  forward_reason?: string;
  ip_version?: 4 | 6;
  src_ip?: string;
  dst_ip?: string;
  protocol?: string;
  src_port?: number;
  dst_port?: number;
  icmp_type?: number;
  icmp_code?: number;
  tcp_flags?: string;
  length: number;
  src_pod?: string;
  dst_pod?: string;
  src_identity?: number;
  dst_identity?: number;
  service?: string;
  translated?: { dst_ip: string; dst_port: number };
  is_reply: boolean;
  new_connection: boolean;
  mid_flow_pickup?: boolean;
  allowed_by?: RuleOrigin[];
  denied_by?: DenyOrigin[];
  decode_status?: string;
  truncated?: boolean;
  revision: number;
}

const PROTO_NAMES: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMPv4', 58: 'ICMPv6' };
const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

export function tcpFlagsText(f: number): string {
  const out: string[] = [];
  // Hubble's order: SYN, ACK, FIN, RST, PSH, URG, ECE, CWR
  for (const bit of [1, 4, 0, 2, 3, 5, 6, 7]) if (f & (1 << bit)) out.push(TCP_FLAG_NAMES[bit]!);
  return out.join(', ');
}

/** the whole second {@link rfc3339} formatted last, and its text up to the fraction */
let lastSec = NaN;
let lastSecText = '';

/**
 * RFC 3339 with nanoseconds, UTC. The date and time of the second are formatted once for the records that follow in
 * the same second (a `Date` and its ISO text a record took ~1.6 µs, a sixth of a `-o json` replay's main thread).
 */
export function rfc3339(sec: number, nsec: number): string {
  const s = Math.floor(sec);
  if (s !== lastSec) {
    lastSecText = `${new Date(s * 1000).toISOString().slice(0, 19)}.`; // …T10:00:00.000Z
    lastSec = s;
  }
  return `${lastSecText}${String(nsec).padStart(9, '0')}Z`;
}

export function dropReasonName(code: number): string {
  if (code === WORKER_FAILED) return 'WORKER_FAILED';
  if (code === DropReason.FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND) return 'FRAG_NOT_FOUND';
  if (code === DropReason.INVALID_PACKET_DROPPED || code === DropReason.CT_TRUNCATED_OR_INVALID_HEADER || code === DropReason.INVALID_IPV6_EXTENSION_HEADER) {
    return 'MALFORMED';
  }
  return dropReasonToString(code);
}

/** Dictionary for turning verdict numbers into names; built once per compiled revision. */
export class RecordContext {
  /** backend index → frontend index */
  private readonly backendFrontend: Int32Array;
  private readonly key = new FlowKey();

  constructor(
    readonly compiled: Compiled,
    readonly snapshot: Snapshot,
  ) {
    const s = snapshot.services;
    this.backendFrontend = new Int32Array(s.beAddr.length / 4);
    for (let f = 0; f < s.feStart.length; f++) for (let b = 0; b < s.feCount[f]!; b++) this.backendFrontend[s.feStart[f]! + b] = f;
  }

  endpointOfIP(family: number, w0: number, w1: number, w2: number, w3: number): { ep: number; identity: number } {
    const v = this.snapshot.ipcache.lookup(family, w0, w1, w2, w3);
    return { ep: this.snapshot.ipEndpoint[v]!, identity: this.snapshot.ipIdentity[v]! };
  }

  endpoint(ep: number, identity: number): EndpointInfo {
    const e = ep > 0 ? this.compiled.endpoints[ep - 1] : undefined;
    const labels = this.compiled.identityById.get(identity)?.labels ?? [];
    if (!e) return { identity, labels };
    return { pod: e.key, namespace: e.pod.namespace, name: e.pod.name, identity, id: e.id, labels };
  }

  origins(entry: number): RuleOrigin[] {
    const c = this.compiled;
    const e = c.entries[entry];
    if (!e) return [];
    return e.rows.map((r) => {
      const row = c.rows[r]!;
      return { direction: row.dir === DIR_INGRESS ? 'ingress' : 'egress', policy: c.policyNames[row.policy]!, rule: row.rule };
    });
  }

  /** policies isolating endpoint `ep` in a direction */
  isolating(ep: number, direction: 'ingress' | 'egress'): string[] {
    const e = this.compiled.endpoints[ep - 1];
    if (!e) return [];
    const type = direction === 'ingress' ? 'Ingress' : 'Egress';
    return e.selectedBy.filter((i) => this.compiled.policies[i]!.policyTypes.includes(type)).map((i) => this.compiled.policyNames[i]!);
  }

  /** Hubble policy match type of the deciding entry. */
  matchType(entry: number): number {
    if (entry === RuleRef.NOT_ISOLATED) return MatchType.ALL;
    if (entry < 0) return MatchType.NONE;
    return this.snapshot.policy.entryMatch[entry]!;
  }

  /** The FlowRecord of record `i` of a batch. */
  record(records: RecordBatch, v: VerdictBatch, i: number): FlowRecord {
    const k = this.key;
    const st = decode(records.linkTypes[i]!, records.buf, records.offsets[i]!, records.capLens[i]!, records.wireLens[i]!, k);
    const verdict = v.verdict[i] === PacketVerdict.FORWARDED ? 'FORWARDED' : 'DROPPED';
    const flags = v.flags[i]!;
    const reason = v.reason[i]!;
    const r: FlowRecord = {
      index: records.firstIndex + i,
      time: rfc3339(records.tsSec[i]!, records.tsNsec[i]!),
      verdict,
      length: records.wireLens[i]!,
      is_reply: (flags & PacketFlag.REPLY) !== 0,
      new_connection: (flags & PacketFlag.NEW) !== 0,
      revision: this.snapshot.revision,
    };
    if (verdict === 'DROPPED') {
      r.drop_reason = dropReasonName(reason);
      r.drop_reason_code = reason;
    } else r.forward_reason = reason === WORKER_FAILED ? 'WORKER_FAILED' : (ForwardReasonName[reason] ?? String(reason));
    if (st !== DecodeStatus.OK && st !== DecodeStatus.NON_IP) r.decode_status = decodeStatusToString(st);
    if (k.truncated) r.truncated = true;
    if (flags & PacketFlag.PICKUP) r.mid_flow_pickup = true;
    if (k.family === 4 || k.family === 6) {
      r.ip_version = k.family;
      r.src_ip = wordsToIP(k.family, k.src0, k.src1, k.src2, k.src3);
      r.dst_ip = wordsToIP(k.family, k.dst0, k.dst1, k.dst2, k.dst3);
      r.protocol = PROTO_NAMES[k.proto] ?? String(k.proto);
      if (k.proto === 6 || k.proto === 17 || k.proto === 132) {
        r.src_port = k.sport;
        r.dst_port = k.dport;
      } else if (k.proto === 1 || k.proto === 58) {
        r.icmp_type = k.icmpType;
        r.icmp_code = k.icmpCode;
      }
      if (k.proto === 6) r.tcp_flags = tcpFlagsText(k.tcpFlags);
      let se = v.srcEp[i]!;
      let si = v.srcId[i]!;
      if (si === 0) ({ ep: se, identity: si } = this.endpointOfIP(k.family, k.src0, k.src1, k.src2, k.src3));
      let de = v.dstEp[i]!;
      let di = v.dstId[i]!;
      const b = v.backend[i]!;
      if (b >= 0) {
        const s = this.snapshot.services;
        const f = this.backendFrontend[b]!;
        const fe = this.compiled.frontends[f]!;
        r.service = fe.service;
        r.translated = { dst_ip: wordsToIP(k.family, s.beAddr[b * 4]!, s.beAddr[b * 4 + 1]!, s.beAddr[b * 4 + 2]!, s.beAddr[b * 4 + 3]!), dst_port: s.bePort[b]! };
      } else if (di === 0) ({ ep: de, identity: di } = this.endpointOfIP(k.family, k.dst0, k.dst1, k.dst2, k.dst3));
      if (se > 0) r.src_pod = this.compiled.endpoints[se - 1]!.key;
      if (de > 0) r.dst_pod = this.compiled.endpoints[de - 1]!.key;
      r.src_identity = si;
      r.dst_identity = di;
      const allowed: RuleOrigin[] = [];
      const eg = v.egress[i]!;
      const ing = v.ingress[i]!;
      if (eg >= 0) allowed.push(...this.origins(eg));
      if (ing >= 0) allowed.push(...this.origins(ing));
      if (allowed.length) r.allowed_by = allowed;
      if (verdict === 'DROPPED' && reason === DropReason.POLICY_DENIED) {
        const denied: DenyOrigin[] = [];
        if (eg === RuleRef.DENIED && se > 0) denied.push({ direction: 'egress', policies: this.isolating(se, 'egress') });
        if (ing === RuleRef.DENIED && de > 0) denied.push({ direction: 'ingress', policies: this.isolating(de, 'ingress') });
        if (denied.length) r.denied_by = denied;
      }
      if (verdict === 'DROPPED' && reason === DropReason.CT_TRUNCATED_OR_INVALID_HEADER && r.decode_status === undefined) r.drop_reason = 'CT_INVALID';
    }
    return r;
  }
}
