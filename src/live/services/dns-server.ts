/**
 * The cluster DNS of live mode: an authoritative server for the cluster domain (CoreDNS's `kubernetes` plugin,
 * as far as the NetworkPolicy labs need it) plus a few configurable external names, on UDP and TCP.
 *
 *   SERVICE.NAMESPACE.svc.cluster.local        A/AAAA → the Service's ClusterIPs
 *                                              headless (clusterIP None, with a selector) → the ready pods' IPs
 *   A-B-C-D.NAMESPACE.pod.cluster.local        A → a.b.c.d (any namespace: kube-dns's "pods insecure" mode;
 *                                              IPv6: the 8 groups joined with '-', "::" as "--" allowed)
 *   extra names (cloudyuga.guru → 203.0.113.80) A/AAAA as configured
 *
 * Answers: AA set for names of the cluster domain and the extra names; RD and CD echoed; RA set (as CoreDNS, which
 * forwards; configurable). A name that exists without the asked type → NOERROR with no answer (NODATA), an empty
 * non-terminal (prod-nginx.svc.cluster.local) exists too; anything else → NXDOMAIN. Negative answers inside the
 * cluster domain carry its SOA (negative caching, RFC 2308). EDNS(0) is answered with an OPT record (UDP size 1232),
 * an EDNS version > 0 with BADVERS. UDP answers that do not fit (512 bytes, or the EDNS size) are truncated (TC)
 * so the client retries over TCP. Other opcodes → NOTIMP; QDCOUNT ≠ 1 → FORMERR; other classes than IN → REFUSED.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { isIP } from 'node:net';
import type { Cluster } from '../../cluster/model.js';
import { canonicalIP, ipToBytes, parseIP } from '../../core/ip.js';
import {
  DNS_CLASS_ANY,
  DNS_CLASS_IN,
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_ANY,
  DNS_TYPE_SOA,
  DnsFlag,
  DnsFlagExtra,
  DnsFormatError,
  Rcode,
  UDP_EDNS_MAX,
  UDP_PLAIN_MAX,
  encodeOpt,
  encodeRecord,
  encodeResponse,
  labelsOf,
  nameKey,
  parseMessage,
  soaRdata,
  type DnsMessage,
} from './dns-wire.js';

/** The external names of the lab (TEST-NET-3 stands in for the real site). */
export const DEFAULT_EXTRA_NAMES: Readonly<Record<string, readonly string[]>> = { 'cloudyuga.guru': ['203.0.113.80'] };

/** Serializable zone contents (what dns-main.ts receives). */
export interface DnsZoneData {
  /** cluster domain (default cluster.local) */
  domain: string;
  /** owner name (lower case, no trailing dot) → addresses (canonical text, IPv4 and/or IPv6) */
  hosts: Record<string, string[]>;
  /** answer A-B-C-D.NAMESPACE.pod.DOMAIN */
  podRecords: boolean;
  /** TTL of answers (CoreDNS: 30 s) */
  ttl: number;
  /** set RA in answers (default true, as CoreDNS) */
  recursionAvailable?: boolean;
}

export interface ZoneOptions {
  domain?: string;
  /** external names → addresses (default {@link DEFAULT_EXTRA_NAMES}) */
  extraNames?: Readonly<Record<string, readonly string[]>>;
  ttl?: number;
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The records of a cluster: Services (ClusterIP and headless) plus the extra names. */
export function zoneFromCluster(cluster: Cluster, opts: ZoneOptions = {}): DnsZoneData {
  const domain = (opts.domain ?? 'cluster.local').replace(/\.$/, '').toLowerCase();
  const hosts: Record<string, string[]> = {};
  const add = (name: string, ips: readonly string[]): void => {
    const key = name.replace(/\.$/, '').toLowerCase();
    const list = (hosts[key] ??= []);
    for (const a of ips) {
      const c = canonicalIP(a);
      if (c && !list.includes(c)) list.push(c);
    }
  };
  for (const s of cluster.services) {
    const name = `${s.name}.${s.namespace}.svc.${domain}`;
    if (s.clusterIPs.length > 0) add(name, s.clusterIPs);
    else if (s.type === 'ClusterIP' && s.selector && Object.keys(s.selector).length > 0) {
      const pods = cluster.pods.filter(
        (p) => p.namespace === s.namespace && p.ips.length > 0 && !p.hostNetwork && p.phase === 'Running' && selects(s.selector!, p.labels),
      );
      add(name, pods.flatMap((p) => p.ips));
    }
  }
  for (const [n, ips] of Object.entries(opts.extraNames ?? DEFAULT_EXTRA_NAMES)) add(n, ips);
  return { domain, hosts, podRecords: true, ttl: opts.ttl ?? 30 };
}

export interface Lookup {
  /** the name exists (records of some type, or an empty non-terminal) */
  exists: boolean;
  /** we are the authority for it (cluster domain or an extra name) */
  authoritative: boolean;
  /** inside the cluster domain (negative answers carry its SOA) */
  inDomain: boolean;
  a: string[];
  aaaa: string[];
  /** the zone apex itself */
  apex: boolean;
}

/** Parses the first label of A-B-C-D.NS.pod.DOMAIN into an address. */
function podLabelIP(label: string): string | null {
  if (/^\d{1,3}(-\d{1,3}){3}$/.test(label)) return canonicalIP(label.replace(/-/g, '.'));
  if (/^[0-9a-f-]+$/i.test(label) && label.includes('-')) {
    const a = parseIP(label.replace(/-/g, ':'));
    return a && a.family === 6 ? canonicalIP(label.replace(/-/g, ':')) : null;
  }
  return null;
}

/** Name lookups over a {@link DnsZoneData}. */
export class DnsZone {
  private readonly names = new Map<string, { a: string[]; aaaa: string[] }>();
  /** every proper suffix of an owner name (empty non-terminals) */
  private readonly ents = new Set<string>();
  private readonly extraNames = new Set<string>();
  readonly domainLabels: string[];

  constructor(readonly data: DnsZoneData) {
    this.domainLabels = labelsOf(data.domain);
    for (const [name, ips] of Object.entries(data.hosts)) {
      const rec = { a: ips.filter((x) => isIP(x) === 4), aaaa: ips.filter((x) => isIP(x) === 6) };
      this.names.set(name, rec);
      const ls = labelsOf(name);
      const inDomain = this.isInDomain(ls.map((l) => l.toLowerCase()));
      // empty non-terminals down to the apex (extra names have none: their parents are not ours)
      if (inDomain) for (let i = 1; ls.length - i >= this.domainLabels.length; i++) this.ents.add(ls.slice(i).join('.'));
      else this.extraNames.add(name);
    }
  }

  private isInDomain(lower: readonly string[]): boolean {
    const d = this.domainLabels;
    if (lower.length < d.length) return false;
    for (let i = 0; i < d.length; i++) if (lower[lower.length - d.length + i] !== d[i]) return false;
    return true;
  }

  lookup(labels: readonly string[]): Lookup {
    const key = nameKey(labels);
    const lower = key === '' ? [] : key.split('.');
    const inDomain = this.isInDomain(lower);
    const apex = inDomain && lower.length === this.domainLabels.length;
    const rec = this.names.get(key);
    let a = rec?.a ?? [];
    let aaaa = rec?.aaaa ?? [];
    let exists = rec !== undefined || this.ents.has(key) || apex;
    const rel = inDomain ? lower.slice(0, lower.length - this.domainLabels.length) : [];
    // pods: IP.NAMESPACE.pod.DOMAIN
    if (inDomain && this.data.podRecords && rel.length === 3 && rel[2] === 'pod') {
      const ipText = podLabelIP(rel[0]!);
      if (ipText) {
        exists = true;
        if (isIP(ipText) === 4) a = [ipText];
        else aaaa = [ipText];
      }
    }
    if (inDomain && rel.length === 1 && (rel[0] === 'svc' || rel[0] === 'pod')) exists = true;
    const authoritative = inDomain || this.extraNames.has(key);
    return { exists, authoritative, inDomain, a, aaaa, apex };
  }
}

export interface AnswerOptions {
  /** 'udp' applies the size limit and truncation; 'tcp' answers up to 65535 bytes */
  transport: 'udp' | 'tcp';
}

const SOA_SERIAL = 1;

/**
 * The response to one query message, or null when the message must not be answered (shorter than a header, or a
 * response itself).
 */
export function answerQuery(zone: DnsZone, query: Uint8Array, opts: AnswerOptions): Uint8Array | null {
  if (query.length < 12) return null;
  const id = (query[0]! << 8) | query[1]!;
  const qflags = (query[2]! << 8) | query[3]!;
  if (qflags & DnsFlag.QR) return null;
  const opcode = (qflags >>> 11) & 0xf;
  const ra = zone.data.recursionAvailable === false ? 0 : DnsFlag.RA;
  const baseFlags = DnsFlag.QR | (opcode << 11) | (qflags & (DnsFlag.RD | DnsFlagExtra.CD)) | ra;
  let msg: DnsMessage;
  try {
    msg = parseMessage(query);
  } catch (e) {
    if (!(e instanceof DnsFormatError)) throw e;
    return encodeResponse(id, baseFlags | Rcode.FORMERR, new Uint8Array(0), 0, [], [], []);
  }
  const opt = msg.edns ? [encodeOpt(UDP_EDNS_MAX, 0)] : [];
  const echo = (flags: number, answers: Uint8Array[] = [], authority: Uint8Array[] = [], additional = opt): Uint8Array =>
    encodeResponse(id, flags, msg.questionBytes, msg.questions.length, answers, authority, additional);
  if (opcode !== 0) return echo(baseFlags | Rcode.NOTIMP);
  if (msg.questions.length !== 1) return echo(baseFlags | Rcode.FORMERR);
  if (msg.edns && msg.edns.version > 0) {
    // BADVERS = 16: upper 8 bits in the OPT record, lower 4 (0) in the header
    return echo(baseFlags, [], [], [encodeOpt(UDP_EDNS_MAX, Rcode.BADVERS)]);
  }
  const q = msg.questions[0]!;
  if (q.klass !== DNS_CLASS_IN && q.klass !== DNS_CLASS_ANY) return echo(baseFlags | Rcode.REFUSED);
  const l = zone.lookup(q.labels);
  const ttl = zone.data.ttl;
  const answers: Uint8Array[] = [];
  const wantA = q.type === DNS_TYPE_A || q.type === DNS_TYPE_ANY;
  const wantAAAA = q.type === DNS_TYPE_AAAA || q.type === DNS_TYPE_ANY;
  if (wantA) for (const a of l.a) answers.push(encodeRecord({ name: null, type: DNS_TYPE_A, ttl, rdata: ipToBytes(parseIP(a)!) }));
  if (wantAAAA) for (const a of l.aaaa) answers.push(encodeRecord({ name: null, type: DNS_TYPE_AAAA, ttl, rdata: ipToBytes(parseIP(a)!) }));
  const soa = (): Uint8Array =>
    encodeRecord({
      name: zone.domainLabels,
      type: DNS_TYPE_SOA,
      ttl,
      rdata: soaRdata(['ns', 'dns', ...zone.domainLabels], ['hostmaster', ...zone.domainLabels], SOA_SERIAL, 7200, 1800, 86400, ttl),
    });
  if (l.apex && (q.type === DNS_TYPE_SOA || q.type === DNS_TYPE_ANY)) answers.push(soa());
  const aa = l.authoritative ? DnsFlag.AA : 0;
  let flags = baseFlags | aa | (l.exists ? Rcode.NOERROR : Rcode.NXDOMAIN);
  const authority = answers.length === 0 && l.inDomain ? [soa()] : [];
  let out = echo(flags, answers, authority);
  if (opts.transport === 'udp') {
    const max = msg.edns ? Math.max(UDP_PLAIN_MAX, Math.min(msg.edns.udpSize, UDP_EDNS_MAX)) : UDP_PLAIN_MAX;
    if (out.length > max) {
      flags |= DnsFlag.TC;
      out = echo(flags);
    }
  } else if (out.length > 65535) {
    out = echo((flags & ~0xf) | Rcode.SERVFAIL);
  }
  return out;
}

export interface DnsServerOptions {
  /** addresses to bind (each on UDP and TCP) */
  addresses: readonly string[];
  /** port (53; 0 = any, for tests) */
  port?: number;
  /** TCP idle timeout (ms, default 10 s) */
  tcpIdleMs?: number;
  /** called for every query answered (tests, logs) */
  onQuery?: (q: { transport: 'udp' | 'tcp'; from: string; bytes: number }) => void;
}

export interface BoundAddress {
  address: string;
  udpPort: number;
  tcpPort: number;
}

/** UDP and TCP listeners answering from a {@link DnsZone} (replaceable with {@link setZone}). */
export class DnsServer {
  private zone: DnsZone;
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: Server[] = [];
  private readonly conns = new Set<Socket>();
  readonly bound: BoundAddress[] = [];
  queries = 0;

  constructor(
    zone: DnsZone | DnsZoneData,
    readonly opts: DnsServerOptions,
  ) {
    this.zone = zone instanceof DnsZone ? zone : new DnsZone(zone);
  }

  setZone(zone: DnsZone | DnsZoneData): void {
    this.zone = zone instanceof DnsZone ? zone : new DnsZone(zone);
  }

  private answer(q: Uint8Array, transport: 'udp' | 'tcp', from: string): Uint8Array | null {
    let r: Uint8Array | null;
    try {
      r = answerQuery(this.zone, q, { transport });
    } catch {
      r = q.length >= 12 ? encodeResponse((q[0]! << 8) | q[1]!, DnsFlag.QR | Rcode.SERVFAIL, new Uint8Array(0), 0, [], [], []) : null;
    }
    if (r) {
      this.queries++;
      this.opts.onQuery?.({ transport, from, bytes: r.length });
    }
    return r;
  }

  async start(): Promise<void> {
    for (const address of this.opts.addresses) {
      const fam = isIP(address);
      if (!fam) throw new Error(`invalid bind address ${address}`);
      const u = createSocket({ type: fam === 6 ? 'udp6' : 'udp4' });
      this.udp.push(u);
      u.on('message', (m, rinfo) => {
        const r = this.answer(m, 'udp', `${rinfo.address}:${rinfo.port}`);
        if (r) u.send(r, rinfo.port, rinfo.address);
      });
      u.on('error', () => {
        /* a send to a vanished client; keep serving */
      });
      await new Promise<void>((resolve, reject) => {
        u.once('error', reject);
        u.bind({ address, port: this.opts.port ?? 53, exclusive: true }, () => {
          u.off('error', reject);
          resolve();
        });
      });
      const udpPort = u.address().port;
      const s = createServer((c) => this.serveTcp(c));
      this.tcp.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host: address, port: this.opts.port ?? 53, exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const addr = s.address();
      this.bound.push({ address, udpPort, tcpPort: typeof addr === 'object' && addr ? addr.port : 0 });
    }
  }

  /** TCP: 2-byte length-prefixed messages (RFC 1035 §4.2.2, RFC 7766), pipelined, answered in order. */
  private serveTcp(c: Socket): void {
    this.conns.add(c);
    c.setTimeout(this.opts.tcpIdleMs ?? 10_000, () => c.destroy());
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => c.destroy());
    let pending: Buffer = Buffer.alloc(0);
    const from = `${c.remoteAddress}:${c.remotePort}`;
    c.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const q = new Uint8Array(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        const r = this.answer(q, 'tcp', from);
        if (!r) {
          c.destroy();
          return;
        }
        const frame = Buffer.alloc(2 + r.length);
        frame.writeUInt16BE(r.length, 0);
        frame.set(r, 2);
        c.write(frame);
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await Promise.all([
      ...this.udp.map((u) => new Promise<void>((r) => u.close(() => r()))),
      ...this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
    this.udp.length = 0;
    this.tcp.length = 0;
  }
}
