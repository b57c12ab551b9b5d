/** Decoder options. Pass one preallocated object per decoder (never a fresh literal per packet). */
export interface DecodeOptions {
  /** verify IPv4 header, TCP, UDP, ICMP/ICMPv6 and SCTP checksums (`--verify-checksums`; off by default, §9) */
  verifyChecksums: boolean;
  /** VLAN tags skipped before DROP(134) (`--vlan-max-tags`, default 2) */
  vlanMaxTags: number;
  /** IPv6 extension headers walked before DROP(156) (`--ipv6-max-ext-headers`, default 4 = Cilium IPV6_MAX_HEADERS) */
  ipv6MaxExtHeaders: number;
}

/** Defaults: checksums off, 2 VLAN tags, 4 IPv6 extension headers. */
export const defaultDecodeOptions: Readonly<DecodeOptions> = Object.freeze({
  verifyChecksums: false,
  vlanMaxTags: 2,
  ipv6MaxExtHeaders: 4,
});

/** Largest `len` trusted for the IP length checks (libpcap max snaplen, capture-formats.md P13). */
export const MAX_TRUSTED_WIRE_LEN = 262144;
