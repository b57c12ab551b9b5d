/**
 * IPv4/IPv6 addresses and CIDRs for the model and the reference evaluator.
 *
 * Addresses are held as `{ family, value }` with `value` a bigint (32 or 128 bits): slow but exact, which is what the
 * control plane (validation, IPAM, the reference evaluator) wants. The per-packet path uses its own typed-array forms.
 * Canonical text: dotted quad for IPv4, RFC 5952 for IPv6 (lower case, longest zero run compressed).
 */
export type IpFamily = 4 | 6;

export interface IpAddr {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** Network address (host bits zero after normalisation). */
  value: bigint;
  prefix: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function familyBits(f: IpFamily): number {
  return BITS[f];
}

function parseV4(s: string, strict: boolean): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    if (strict && p.length > 1 && p[0] === '0') return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): { value: bigint; mapped: boolean } | null {
  if (s.includes('%')) return null; // zones are never valid here
  let mapped = false;
  let tail: number[] = [];
  let str = s;
  const lastColon = str.lastIndexOf(':');
  if (str.includes('.')) {
    const v4 = parseV4(str.slice(lastColon + 1), false);
    if (v4 === null) return null;
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    str = str.slice(0, lastColon + 1) + '0:0';
    mapped = true;
  }
  const dbl = str.indexOf('::');
  if (dbl !== str.lastIndexOf('::')) return null;
  let groups: string[];
  if (dbl >= 0) {
    const head = str.slice(0, dbl) ? str.slice(0, dbl).split(':') : [];
    const rest = str.slice(dbl + 2) ? str.slice(dbl + 2).split(':') : [];
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = str.split(':');
  }
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (mapped) {
    v = (v >> 32n) << 32n;
    v |= (BigInt(tail[0]!) << 16n) | BigInt(tail[1]!);
    // an IPv4-mapped address is ::ffff:a.b.c.d; other dotted forms (::a.b.c.d) are merely written that way
    mapped = v >> 32n === 0xffffn;
  } else {
    mapped = v >> 32n === 0xffffn;
  }
  return { value: v, mapped };
}

/**
 * Parses an IP address. `strict` refuses IPv4 octets with leading zeros (as the API server's strict IP
 * validation does); IPv4-mapped IPv6 addresses are accepted here and reported by {@link isV4Mapped}.
 */
export function parseIP(s: string, strict = false): IpAddr | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) return null;
  if (s.includes(':')) {
    const r = parseV6(s);
    return r ? { family: 6, value: r.value } : null;
  }
  const v = parseV4(s, strict);
  return v === null ? null : { family: 4, value: v };
}

export function isV4Mapped(a: IpAddr): boolean {
  return a.family === 6 && a.value >> 32n === 0xffffn;
}

/** Canonical text of an address. */
export function formatIP(a: IpAddr): string {
  if (a.family === 4) {
    const v = Number(a.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  // longest run of zero groups (length >= 2), first one on ties (RFC 5952 §4.2)
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** Canonical text of an address string, or null when it is not an address. */
export function canonicalIP(s: string): string | null {
  const a = parseIP(s);
  return a ? formatIP(a) : null;
}

export function ipEquals(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

function mask(f: IpFamily, prefix: number): bigint {
  const bits = BITS[f];
  if (prefix === 0) return 0n;
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** Result of parsing a CIDR: the value, or the upstream validation message. */
export type CidrParse = { ok: true; cidr: Cidr; normalised: boolean } | { ok: false; message: string };

export const CIDR_INVALID_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/**
 * Parses a CIDR as the API server does for NetworkPolicy ipBlock (V20/V21 of semantics.md).
 * strict: leading zeros, IPv4-mapped IPv6 and host bits set are errors. legacy: accepted and normalised
 * (`normalised: true` tells the caller to warn).
 */
export function parseCIDR(s: string, strict = true): CidrParse {
  if (typeof s !== 'string') return { ok: false, message: CIDR_INVALID_MSG };
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return { ok: false, message: CIDR_INVALID_MSG };
  const ipText = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return { ok: false, message: CIDR_INVALID_MSG };
  const addr = parseIP(ipText, false);
  if (!addr) return { ok: false, message: CIDR_INVALID_MSG };
  const prefix = Number(lenText);
  if (prefix > BITS[addr.family]) return { ok: false, message: CIDR_INVALID_MSG };
  const leadingZeroIP = addr.family === 4 && parseIP(ipText, true) === null;
  const leadingZeroLen = lenText.length > 1 && lenText[0] === '0';
  const net = addr.value & mask(addr.family, prefix);
  const hostBits = net !== addr.value;
  if (strict) {
    if (leadingZeroIP || leadingZeroLen) return { ok: false, message: 'must not have leading 0s in IP or prefix length' };
    if (isV4Mapped(addr)) return { ok: false, message: 'must not have an IPv4-mapped IPv6 address' };
    if (hostBits) return { ok: false, message: 'must not have bits set beyond the prefix length' };
  }
  return {
    ok: true,
    cidr: { family: addr.family, value: net, prefix },
    normalised: leadingZeroIP || leadingZeroLen || hostBits,
  };
}

export function formatCIDR(c: Cidr): string {
  return `${formatIP({ family: c.family, value: c.value })}/${c.prefix}`;
}

/** True when `ip` lies in `c` (never across families). */
export function cidrContains(c: Cidr, ip: IpAddr): boolean {
  return c.family === ip.family && (ip.value & mask(c.family, c.prefix)) === c.value;
}

/** True when `inner` lies entirely within `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && (inner.value & mask(outer.family, outer.prefix)) === outer.value;
}

/** The n-th address of a CIDR (0 = network address). */
export function cidrNth(c: Cidr, n: bigint): IpAddr {
  return { family: c.family, value: c.value + n };
}

/** Number of addresses in a CIDR. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefix);
}

/** Network-order bytes of an address (4 or 16). */
export function ipToBytes(a: IpAddr): Uint8Array {
  const n = a.family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = a.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The four big-endian 32-bit words of an address, as FlowKey holds them (IPv4 in word 3, the others 0). */
export function ipWords(a: IpAddr): [number, number, number, number] {
  if (a.family === 4) return [0, 0, 0, Number(a.value)];
  const w = (i: number): number => Number((a.value >> BigInt(96 - 32 * i)) & 0xffffffffn);
  return [w(0), w(1), w(2), w(3)];
}
