// Test helpers for the datapath tables: build FlowKeys from text.
import { FlowKey } from '../../src/core/flow-key.js';
import { parseIP } from '../../src/core/ip.js';

export const S = 1e9;
export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const ICMPV6 = 58;
export const SCTP = 132;

export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

/** Four address words of an IPv4/IPv6 literal. */
export function words(ip: string): [number, number, number, number] {
  const a = parseIP(ip);
  if (!a) throw new Error(`bad ip ${ip}`);
  if (a.family === 4) return [0, 0, 0, Number(a.value)];
  const v = a.value;
  return [Number((v >> 96n) & 0xffffffffn), Number((v >> 64n) & 0xffffffffn), Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
}

export interface KeySpec {
  proto: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  flags?: number;
  icmpType?: number;
  icmpCode?: number;
  chunk?: number;
  frag?: number;
  fragId?: number;
  ipLen?: number;
}

/** Fills (or creates) a FlowKey. */
export function key(s: KeySpec, k: FlowKey = new FlowKey()): FlowKey {
  k.reset();
  const fam = s.src.includes(':') ? 6 : 4;
  k.family = fam;
  k.etherType = fam === 4 ? 0x0800 : 0x86dd;
  k.proto = s.proto;
  [k.src0, k.src1, k.src2, k.src3] = words(s.src);
  [k.dst0, k.dst1, k.dst2, k.dst3] = words(s.dst);
  k.sport = s.sport ?? 0;
  k.dport = s.dport ?? 0;
  k.tcpFlags = s.flags ?? 0;
  k.icmpType = s.icmpType ?? 0;
  k.icmpCode = s.icmpCode ?? 0;
  k.sctpChunk = s.chunk ?? 0;
  k.frag = s.frag ?? 0;
  k.fragId = s.fragId ?? 0;
  k.ipLen = s.ipLen ?? 60;
  k.wireLen = k.ipLen + 14;
  k.capLen = k.wireLen;
  return k;
}

/** TCP packet helper: a → b with flags. */
export function tcp(src: string, sport: number, dst: string, dport: number, flags: number, k?: FlowKey): FlowKey {
  return key({ proto: TCP, src, dst, sport, dport, flags }, k);
}
