/**
 * Just enough DNS wire format (RFC 1035 §4) for the generated lab traffic: an A query with RD set, and its
 * answer with one A record whose owner name is a compression pointer to the question (`c0 0c`), as CoreDNS sends.
 * Setup-time code: allocates.
 */

/** DNS header flag bits (RFC 1035 §4.1.1). */
export const DnsFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080 } as const;
export const DNS_TYPE_A = 1;
export const DNS_CLASS_IN = 1;

/** Encodes a domain name as length-prefixed labels ending with the root label. */
export function encodeName(name: string): Uint8Array {
  const labels = name.replace(/\.$/, '').split('.');
  const out: number[] = [];
  for (const l of labels) {
    const bytes = new TextEncoder().encode(l);
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`bad DNS label in ${name}`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  if (out.length > 255) throw new Error(`DNS name too long: ${name}`);
  return Uint8Array.from(out);
}

function header(id: number, flags: number, qd: number, an: number): number[] {
  return [id >>> 8, id & 0xff, flags >>> 8, flags & 0xff, 0, qd, 0, an, 0, 0, 0, 0];
}

/** A standard query (opcode 0, RD) for the A record of `name`. */
export function dnsQueryA(id: number, name: string): Uint8Array {
  return Uint8Array.from([...header(id, DnsFlag.RD, 1, 0), ...encodeName(name), 0, DNS_TYPE_A, 0, DNS_CLASS_IN]);
}

/**
 * The response to {@link dnsQueryA}: same id and question, NOERROR, RD and RA set, AA when `authoritative` (CoreDNS
 * answers cluster.local names authoritatively), one A record `ttl` seconds long.
 */
export function dnsResponseA(id: number, name: string, ip: Uint8Array, ttl: number, authoritative: boolean): Uint8Array {
  if (ip.length !== 4) throw new Error('A records hold IPv4 addresses');
  const flags = DnsFlag.QR | DnsFlag.RD | DnsFlag.RA | (authoritative ? DnsFlag.AA : 0);
  return Uint8Array.from([
    ...header(id, flags, 1, 1),
    ...encodeName(name),
    0, DNS_TYPE_A, 0, DNS_CLASS_IN,
    0xc0, 0x0c, // name: pointer to the question at offset 12
    0, DNS_TYPE_A, 0, DNS_CLASS_IN,
    ttl >>> 24, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff,
    0, 4, ...ip,
  ]);
}
