/**
 * DNS wire format for the live cluster DNS (RFC 1035 §4, RFC 3596 AAAA, RFC 6891 EDNS(0)): parsing a query and
 * encoding a response. Written for kpf; builds on the name encoder of src/gen/dns.ts.
 *
 * Names are handled as lists of raw labels (latin1 strings, so any byte survives); matching is ASCII
 * case-insensitive (RFC 4343) and the question is echoed byte for byte, so a client's 0x20 case mixing comes back
 * unchanged. Answer owner names are compression pointers to the question (`c0 0c`).
 */
import { canonicalIP } from '../../core/ip.js';
import { DNS_CLASS_IN, DNS_TYPE_A, DnsFlag } from '../../gen/dns.js';

export { DnsFlag, DNS_CLASS_IN, DNS_TYPE_A };
export const DNS_TYPE_NS = 2;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_SOA = 6;
export const DNS_TYPE_AAAA = 28;
export const DNS_TYPE_OPT = 41;
export const DNS_TYPE_ANY = 255;
export const DNS_CLASS_ANY = 255;

/** Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS, an extended code). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** Header flag bits not in src/gen/dns.ts. */
export const DnsFlagExtra = { AD: 0x0020, CD: 0x0010 } as const;

/** The largest UDP answer without EDNS (RFC 1035 §4.2.1), and the largest kpf sends with it (DNS flag day 2020). */
export const UDP_PLAIN_MAX = 512;
export const UDP_EDNS_MAX = 1232;

export class DnsFormatError extends Error {}

export interface DnsQuestion {
  /** raw labels as received (latin1) */
  labels: string[];
  type: number;
  klass: number;
}

export interface DnsEdns {
  udpSize: number;
  version: number;
  /** DNSSEC OK bit */
  dnssecOk: boolean;
}

export interface DnsMessage {
  id: number;
  flags: number;
  opcode: number;
  rcode: number;
  questions: DnsQuestion[];
  /** the question section's bytes as received (to echo) */
  questionBytes: Uint8Array;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  /** the OPT pseudo-record of the additional section, when present */
  edns?: DnsEdns;
  /** decoded resource records of the answer section (responses; used by tests and clients) */
  answers: DnsRecord[];
  authority: DnsRecord[];
}

export interface DnsRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  /** A/AAAA: the address text; CNAME/NS: the target name; SOA: "mname rname serial …"; else hex */
  data: string;
}

/** Lower-cased dotted form of raw labels (no trailing dot; "" = root). */
export function nameKey(labels: readonly string[]): string {
  return labels.map((l) => l.replace(/[A-Z]/g, (c) => c.toLowerCase())).join('.');
}

/** Reads a (possibly compressed) name at `off`; returns labels and the offset after it in the original stream. */
export function readName(b: Uint8Array, off: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let p = off;
  let end = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (p >= b.length) throw new DnsFormatError('name runs past the message');
    const len = b[p]!;
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= b.length) throw new DnsFormatError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | b[p + 1]!;
      if (end < 0) end = p + 2;
      if (++jumps > 64 || target >= p) throw new DnsFormatError('bad compression pointer');
      p = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('unsupported label type');
    if (len === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if (p + 1 + len > b.length) throw new DnsFormatError('label runs past the message');
    total += len + 1;
    if (total > 255) throw new DnsFormatError('name longer than 255 bytes');
    labels.push(Buffer.from(b.buffer, b.byteOffset + p + 1, len).toString('latin1'));
    p += 1 + len;
  }
  return { labels, end };
}

/** Encodes labels (latin1) as an uncompressed wire name. */
export function writeName(labels: readonly string[]): Uint8Array {
  const parts: number[] = [];
  for (const l of labels) {
    const bytes = Buffer.from(l, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new DnsFormatError(`bad label "${l}"`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > 255) throw new DnsFormatError('name longer than 255 bytes');
  return Uint8Array.from(parts);
}

/** Splits a dotted name into labels (trailing dot optional; "" or "." = root). */
export function labelsOf(name: string): string[] {
  const n = name.replace(/\.$/, '');
  return n === '' ? [] : n.split('.');
}

function rd16(b: Uint8Array, p: number): number {
  if (p + 2 > b.length) throw new DnsFormatError('message truncated');
  return (b[p]! << 8) | b[p + 1]!;
}
function rd32(b: Uint8Array, p: number): number {
  if (p + 4 > b.length) throw new DnsFormatError('message truncated');
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function ipText(rdata: Uint8Array): string {
  if (rdata.length === 4) return [...rdata].join('.');
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((rdata[i]! << 8) | rdata[i + 1]!).toString(16));
  const full = w.join(':');
  return canonicalIP(full) ?? full;
}

function readRecord(b: Uint8Array, off: number): { rec: DnsRecord; end: number; rawClass: number; rawTtl: number } {
  const { labels, end: ne } = readName(b, off);
  const type = rd16(b, ne);
  const klass = rd16(b, ne + 2);
  const ttl = rd32(b, ne + 4);
  const rdlen = rd16(b, ne + 8);
  const rs = ne + 10;
  if (rs + rdlen > b.length) throw new DnsFormatError('record data runs past the message');
  const rdata = b.subarray(rs, rs + rdlen);
  let data: string;
  if ((type === DNS_TYPE_A && rdlen === 4) || (type === DNS_TYPE_AAAA && rdlen === 16)) data = ipText(rdata);
  else if (type === DNS_TYPE_CNAME || type === DNS_TYPE_NS) data = nameKey(readName(b, rs).labels);
  else if (type === DNS_TYPE_SOA) {
    const m = readName(b, rs);
    const r = readName(b, m.end);
    const nums = [0, 1, 2, 3, 4].map((i) => rd32(b, r.end + 4 * i));
    data = [nameKey(m.labels), nameKey(r.labels), ...nums].join(' ');
  } else data = Buffer.from(rdata).toString('hex');
  return { rec: { name: nameKey(labels), type, klass, ttl, data }, end: rs + rdlen, rawClass: klass, rawTtl: ttl };
}

/**
 * Parses a DNS message (query or response). Throws {@link DnsFormatError} for anything malformed; a message
 * shorter than the 12-byte header cannot even be answered.
 */
export function parseMessage(b: Uint8Array): DnsMessage {
  if (b.length < 12) throw new DnsFormatError('shorter than a DNS header');
  const id = rd16(b, 0);
  const flags = rd16(b, 2);
  const qd = rd16(b, 4);
  const an = rd16(b, 6);
  const ns = rd16(b, 8);
  const ar = rd16(b, 10);
  let p = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const { labels, end } = readName(b, p);
    questions.push({ labels, type: rd16(b, end), klass: rd16(b, end + 2) });
    p = end + 4;
  }
  const questionBytes = b.slice(12, p);
  const answers: DnsRecord[] = [];
  const authority: DnsRecord[] = [];
  let edns: DnsEdns | undefined;
  for (let i = 0; i < an + ns + ar; i++) {
    const r = readRecord(b, p);
    p = r.end;
    if (i < an) answers.push(r.rec);
    else if (i < an + ns) authority.push(r.rec);
    else if (r.rec.type === DNS_TYPE_OPT) {
      if (edns || r.rec.name !== '') throw new DnsFormatError('bad OPT record');
      edns = { udpSize: r.rawClass, version: (r.rawTtl >>> 16) & 0xff, dnssecOk: (r.rawTtl & 0x8000) !== 0 };
    }
  }
  return {
    id,
    flags,
    opcode: (flags >>> 11) & 0xf,
    rcode: flags & 0xf,
    questions,
    questionBytes,
    answerCount: an,
    authorityCount: ns,
    additionalCount: ar,
    ...(edns ? { edns } : {}),
    answers,
    authority,
  };
}

/** One resource record to encode; `name` null = a pointer to the question name (offset 12). */
export interface RecordOut {
  name: string[] | null;
  type: number;
  ttl: number;
  rdata: Uint8Array;
}

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function encodeRecord(r: RecordOut, klass = DNS_CLASS_IN): Uint8Array {
  const name = r.name === null ? [0xc0, 0x0c] : [...writeName(r.name)];
  return Uint8Array.from([...name, ...u16(r.type), ...u16(klass), ...u32(r.ttl >>> 0), ...u16(r.rdata.length), ...r.rdata]);
}

/** The OPT pseudo-record of a response (RFC 6891 §6.1.2): our UDP size, extended rcode high bits, version 0. */
export function encodeOpt(udpSize: number, extendedRcode: number): Uint8Array {
  return Uint8Array.from([0, ...u16(DNS_TYPE_OPT), ...u16(udpSize), (extendedRcode >>> 4) & 0xff, 0, 0, 0, 0, 0]);
}

/** SOA RDATA (RFC 1035 §3.3.13). */
export function soaRdata(mname: string[], rname: string[], serial: number, refresh: number, retry: number, expire: number, minimum: number): Uint8Array {
  return Uint8Array.from([...writeName(mname), ...writeName(rname), ...u32(serial), ...u32(refresh), ...u32(retry), ...u32(expire), ...u32(minimum)]);
}

/** A DNS query message, for tests and clients: one question, RD unless `rd` is false, optional EDNS. */
export function encodeQuery(id: number, name: string, type: number, opts: { rd?: boolean; edns?: number; ednsVersion?: number; klass?: number; opcode?: number } = {}): Uint8Array {
  const flags = (opts.rd === false ? 0 : DnsFlag.RD) | (((opts.opcode ?? 0) & 0xf) << 11);
  const ar = opts.edns !== undefined ? 1 : 0;
  const parts = [...u16(id), ...u16(flags), 0, 1, 0, 0, 0, 0, ...u16(ar), ...writeName(labelsOf(name)), ...u16(type), ...u16(opts.klass ?? DNS_CLASS_IN)];
  if (opts.edns !== undefined) parts.push(0, ...u16(DNS_TYPE_OPT), ...u16(opts.edns), 0, opts.ednsVersion ?? 0, 0, 0, 0, 0);
  return Uint8Array.from(parts);
}

/** Assembles a response: header, echoed question bytes, then the sections. */
export function encodeResponse(
  id: number,
  flags: number,
  questionBytes: Uint8Array,
  qdCount: number,
  answers: readonly Uint8Array[],
  authority: readonly Uint8Array[],
  additional: readonly Uint8Array[],
): Uint8Array {
  const head = [...u16(id), ...u16(flags), ...u16(qdCount), ...u16(answers.length), ...u16(authority.length), ...u16(additional.length)];
  const size = 12 + questionBytes.length + [...answers, ...authority, ...additional].reduce((a, r) => a + r.length, 0);
  const out = new Uint8Array(size);
  out.set(head, 0);
  out.set(questionBytes, 12);
  let p = 12 + questionBytes.length;
  for (const r of [...answers, ...authority, ...additional]) {
    out.set(r, p);
    p += r.length;
  }
  return out;
}
