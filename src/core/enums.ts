/**
 * Protocol numbers and kpf status enums as `as const` tables, each with a name lookup.
 *
 * Sources:
 *  - LinkType: tcpdump.org LINKTYPE registry / pcap-linktype(7) (values as stored in files, not DLT_*).
 *  - IpProto: IANA "Assigned Internet Protocol Numbers".
 *  - EtherType: IEEE 802 / IANA ieee-802-numbers; VLAN TPIDs per 802.1Q/802.1ad (0x91xx legacy QinQ).
 *  - DropReason: Cilium `bpf/lib/common.h` DROP_* and `flow.proto` DropReason (reference/observability.md §2).
 *  - DecodeStatus: kpf's own, one per row of reference/capture-formats.md §8 (K-table); mapped to a DropReason by
 *    {@link dropReasonOf}.
 */

/** Builds a reverse (number → name) lookup for an `as const` table. */
function reverse<T extends Record<string, number>>(t: T): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(t)) if (!m.has(v)) m.set(v, k);
  return m;
}

/** LINKTYPE_* values kpf decodes (capture-formats.md §4), plus a few well-known ones for error messages. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  // not decoded; named so `unsupported link type 127 (IEEE802_11_RADIO)` can be printed
  IEEE802_5: 6,
  PPP: 9,
  FDDI: 10,
  PPP_HDLC: 50,
  PPP_ETHER: 51,
  ATM_RFC1483: 100,
  C_HDLC: 104,
  IEEE802_11: 105,
  FRELAY: 107,
  LOOP: 108,
  PFLOG: 117,
  IEEE802_11_PRISM: 119,
  IP_OVER_FC: 122,
  SUNATM: 123,
  IEEE802_11_RADIO: 127,
  ARCNET_LINUX: 129,
  IEEE802_11_AVS: 163,
  BLUETOOTH_HCI_H4: 187,
  USB_LINUX: 189,
  PPI: 192,
  IEEE802_15_4: 195,
  USB_LINUX_MMAPPED: 220,
  NFLOG: 239,
  NETANALYZER: 240,
  IPOIB: 242,
  USBPCAP: 249,
  NETLINK: 253,
  DOCSIS31_XRA31: 273,
  ETW: 290,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];
const linkTypeNames = reverse(LinkType);
/** Name of a link type (`ETHERNET`), or `LINKTYPE_<n>` when unknown. */
export function linkTypeToString(v: number): string {
  return linkTypeNames.get(v) ?? `LINKTYPE_${v}`;
}
/** True for the link types {@link decode} understands. */
export function isSupportedLinkType(v: number): boolean {
  return v === 0 || v === 1 || v === 101 || v === 113 || v === 228 || v === 229 || v === 276;
}

/** IP protocol / IPv6 next-header numbers used by the decoder. */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  IGMP: 2,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  VRRP: 112,
  SCTP: 132,
  MOBILITY: 135,
  UDPLITE: 136,
  HIP: 139,
  SHIM6: 140,
  EXP1: 253,
  EXP2: 254,
} as const;
export type IpProto = (typeof IpProto)[keyof typeof IpProto];
const ipProtoNames = reverse(IpProto);
/** Name of an IP protocol (`TCP`), or `PROTO_<n>`. */
export function ipProtoToString(v: number): string {
  return ipProtoNames.get(v) ?? `PROTO_${v}`;
}

/** EtherTypes and VLAN TPIDs. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  RARP: 0x8035,
  IPV6: 0x86dd,
  PPPOE_DISC: 0x8863,
  PPPOE_SESS: 0x8864,
  MPLS: 0x8847,
  QINQ: 0x88a8,
  LLDP: 0x88cc,
  QINQ_9100: 0x9100,
  QINQ_9200: 0x9200,
  QINQ_9300: 0x9300,
} as const;
export type EtherType = (typeof EtherType)[keyof typeof EtherType];
const etherTypeNames = reverse(EtherType);
/** Name of an EtherType (`IPV4`), `802.3` for length values, or hex. */
export function etherTypeToString(v: number): string {
  if (v <= 1500) return '802.3';
  return etherTypeNames.get(v) ?? `0x${v.toString(16).padStart(4, '0')}`;
}

/** Cilium drop reasons (bpf/lib/common.h; flow.proto). Only the ones kpf emits. */
export const DropReason = {
  NONE: 0,
  POLICY_DENIED: 133,
  INVALID_PACKET_DROPPED: 134,
  CT_TRUNCATED_OR_INVALID_HEADER: 135,
  UNSUPPORTED_L3_PROTOCOL: 139,
  CT_MAP_INSERTION_FAILED: 155,
  INVALID_IPV6_EXTENSION_HEADER: 156,
  IP_FRAGMENTATION_NOT_SUPPORTED: 157,
  SERVICE_BACKEND_NOT_FOUND: 158,
  UNSUPPORTED_L2_PROTOCOL: 166,
  FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND: 175,
  POLICY_DENY: 181,
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];
const dropReasonNames = reverse(DropReason);
/** flow.proto name of a drop reason (`POLICY_DENIED`), or `DROP_REASON_UNKNOWN`. */
export function dropReasonToString(v: number): string {
  return v === 0 ? 'DROP_REASON_UNKNOWN' : (dropReasonNames.get(v) ?? 'DROP_REASON_UNKNOWN');
}
/** Cilium printed text (`hubble/pkg/...drop.go`). */
export const DropReasonText: Readonly<Record<number, string>> = {
  133: 'Policy denied',
  134: 'Invalid packet',
  135: 'CT: Truncated or invalid header',
  139: 'Unsupported L3 protocol',
  155: 'CT: Map insertion failed',
  156: 'Invalid IPv6 extension header',
  157: 'IP fragmentation not supported',
  158: 'Service backend not found',
  166: 'Unsupported L2 protocol',
  175: 'First logical datagram fragment not found',
  181: 'Policy denied by denylist',
};

/**
 * Result of decoding one frame ({@link decode}). 0 = OK. `NON_IP` is not an error (BYPASS `non_ip`, K2).
 * Every other value is a DROP; {@link dropReasonOf} gives the Cilium reason. A short *capture* with all needed bytes
 * present is OK with `FlowKey.truncated = 1`, not a status.
 */
export const DecodeStatus = {
  OK: 0,
  /** K2: ARP, LLDP, 802.3/LLC, non-IP SLL protocols, NULL families other than IP → BYPASS */
  NON_IP: 1,
  /** link type not decoded (P17 guards files; a frame can still arrive with one) → 166 */
  UNSUPPORTED_LINKTYPE: 2,
  /** K1: frame shorter than its link-layer header on the wire → 134 */
  L2_MALFORMED: 3,
  /** K3: more VLAN tags than the bound → 134 */
  VLAN_TOO_MANY: 4,
  /** K3: VLAN tag cut short → 134 */
  VLAN_TRUNCATED: 5,
  /** K4: IP version nibble ≠ 4 under 0x0800 / ≠ 6 under 0x86DD (or RAW version ∉ {4,6}) → 134 */
  IP_BAD_VERSION: 6,
  /** K5: IHL < 5, or IHL×4 (or the 20/40 B fixed header) more than the bytes on the wire → 134 */
  IP_BAD_HEADER_LENGTH: 7,
  /** K6: IPv4 total length < IHL×4 → 134 */
  IPV4_BAD_TOTAL_LENGTH: 8,
  /** K7: IPv4 total length > wire length → 134 */
  IPV4_LENGTH_EXCEEDS_WIRE: 9,
  /** K9: IPv6 payload length 0 without jumbo, or more than the wire holds → 134 */
  IPV6_BAD_PAYLOAD_LENGTH: 10,
  /** K10: IPv6 extension chain longer than the bound / running past the packet / misplaced HBH → 156 */
  IPV6_BAD_EXT_HEADER: 11,
  /** K11: TCP data offset < 5, or header < 20 B on the wire → 134 */
  TCP_BAD_HEADER: 12,
  /** K12: UDP header < 8 B, UDP length < 8 or > IP payload → 134 */
  UDP_BAD_HEADER: 13,
  /** K12: SCTP common header < 12 B or no chunk header → 134 */
  SCTP_BAD_HEADER: 14,
  /** ICMP/ICMPv6 header < 8 B on the wire → 134 */
  ICMP_BAD_HEADER: 15,
  /** K13: ICMP error whose quoted IP header + 8 B are not all present / not a valid IP header → 135 */
  ICMP_INNER_TRUNCATED: 16,
  /** bytes needed for the policy decision (L3 header, ports) are beyond the capture (caplen < len) → 135 */
  TRUNCATED: 17,
  /** K15: tiny first fragment (L4 header not complete), TCP fragment at offset 8, IPv6 first fragment without the
   *  whole header chain → 134 */
  FRAGMENT_INVALID: 18,
  /** `verifyChecksums` on and an IPv4 header / TCP / UDP / ICMP / ICMPv6 / SCTP checksum is wrong → 134 */
  BAD_CHECKSUM: 19,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];
const decodeStatusNames = reverse(DecodeStatus);
/** Name of a decode status (`TCP_BAD_HEADER`). */
export function decodeStatusToString(v: number): string {
  return decodeStatusNames.get(v) ?? `DECODE_STATUS_${v}`;
}

const statusDrop = new Uint8Array(32);
statusDrop[DecodeStatus.UNSUPPORTED_LINKTYPE] = DropReason.UNSUPPORTED_L2_PROTOCOL;
for (const s of [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 18, 19]) statusDrop[s] = DropReason.INVALID_PACKET_DROPPED;
statusDrop[DecodeStatus.IPV6_BAD_EXT_HEADER] = DropReason.INVALID_IPV6_EXTENSION_HEADER;
statusDrop[DecodeStatus.ICMP_INNER_TRUNCATED] = DropReason.CT_TRUNCATED_OR_INVALID_HEADER;
statusDrop[DecodeStatus.TRUNCATED] = DropReason.CT_TRUNCATED_OR_INVALID_HEADER;

/**
 * Cilium drop reason for a decode status; 0 for OK and NON_IP (NON_IP becomes UNSUPPORTED_L3_PROTOCOL only with
 * `--non-ip=drop`, which is the caller's decision). Hot-path safe.
 */
export function dropReasonOf(status: number): number {
  return status >= 0 && status < 32 ? statusDrop[status] : DropReason.INVALID_PACKET_DROPPED;
}
