/**
 * Flow-log printers: one line per capture record.
 *   json     kpf's own record (replay/records.ts FlowRecord), the documented contract
 *   compact  Hubble's compact line: `TIME: SRC (ID) -> DST (ID) TYPE VERDICT (SUMMARY)`
 *   jsonpb   Hubble `GetFlowsResponse` JSON (flow.proto field names only), for `hubble observe --input-file`
 * Pure formatting: the record says what happened, these only print it (observability.md §1).
 */
import { DropReasonText } from '../core/enums.js';
import { reservedName } from '../policy/identity.js';
import type { FlowRecord } from '../replay/records.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's StampMilli (`Jan _2 15:04:05.000`) of an RFC 3339 UTC time. */
export function stampMilli(rfc: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)\.(\d{3})/.exec(rfc);
  if (!m) return 'N/A';
  const day = String(Number(m[3]));
  return `${MONTHS[Number(m[2]) - 1]} ${day.padStart(2, ' ')} ${m[4]}.${m[5]}`;
}

function hostPort(ip: string | undefined, port: number | undefined): string {
  if (!ip) return '?';
  if (port === undefined || port === 0) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function idText(id: number | undefined): string {
  if (id === undefined || id === 0) return '';
  const name = reservedName(id);
  return name ? ` (${name})` : ` (ID:${id})`;
}

function summaryText(r: FlowRecord): string {
  switch (r.protocol) {
    case 'TCP':
      return `TCP Flags: ${r.tcp_flags ?? ''}`;
    case 'UDP':
      return 'UDP';
    case 'SCTP':
      return 'SCTP';
    case 'ICMPv4':
      return `ICMPv4 ${icmp4Name(r.icmp_type)}`;
    case 'ICMPv6':
      return `ICMPv6 ${icmp6Name(r.icmp_type)}`;
    case undefined:
      return 'non-IP';
    default:
      return `IP protocol ${r.protocol}`;
  }
}

function icmp4Name(t: number | undefined): string {
  return ({ 0: 'EchoReply', 3: 'DestinationUnreachable', 8: 'EchoRequest', 11: 'TimeExceeded' } as Record<number, string>)[t ?? -1] ?? `Type${t}`;
}
function icmp6Name(t: number | undefined): string {
  return (
    ({ 1: 'DestinationUnreachable', 2: 'PacketTooBig', 3: 'TimeExceeded', 128: 'EchoRequest', 129: 'EchoReply', 133: 'RouterSolicitation', 134: 'RouterAdvertisement', 135: 'NeighborSolicitation', 136: 'NeighborAdvertisement' } as Record<number, string>)[
      t ?? -1
    ] ?? `Type${t}`
  );
}

export function jsonLine(r: FlowRecord): string {
  return JSON.stringify(r);
}

/** Hubble compact line (observability.md §1.2). Replies keep the client on the left with `<-`. */
export function compactLine(r: FlowRecord): string {
  const src = `${r.src_pod ?? hostPort(r.src_ip, r.src_port)}${r.src_pod && r.src_port ? `:${r.src_port}` : ''}${idText(r.src_identity)}`;
  const dstName = r.service && !r.is_reply ? r.service : (r.dst_pod ?? undefined);
  const dst = `${dstName ?? hostPort(r.dst_ip, r.dst_port)}${dstName && r.dst_port ? `:${r.dst_port}` : ''}${idText(r.dst_identity)}`;
  let type: string;
  let verdict: string;
  if (r.verdict === 'DROPPED') {
    type = DropReasonText[r.drop_reason_code ?? 0] ?? (r.drop_reason ?? 'Dropped');
    verdict = 'DROPPED';
  } else if (r.new_connection) {
    const dir = r.allowed_by?.some((a) => a.direction === 'ingress') ? 'INGRESS' : 'EGRESS';
    type = `policy-verdict:${r.allowed_by?.length ? 'L3-L4' : 'all'} ${dir}`;
    verdict = 'ALLOWED';
  } else {
    type = 'to-endpoint';
    verdict = 'FORWARDED';
  }
  const line = r.is_reply ? `${dst} <- ${src}` : `${src} -> ${dst}`;
  return `${stampMilli(r.time)}: ${line} ${type} ${verdict} (${summaryText(r)})`;
}

function endpointPb(pod: string | undefined, identity: number | undefined, labels: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (identity) out['identity'] = identity;
  if (pod) {
    const [ns, name] = pod.split('/');
    out['namespace'] = ns;
    out['pod_name'] = name;
  }
  if (labels && labels.length) out['labels'] = labels;
  return out;
}

/** Hubble `GetFlowsResponse` line (observability.md §1.3): flow.proto fields only. */
export function jsonpbLine(r: FlowRecord, labelsOf: (identity: number) => string[], nodeName = 'kpf'): string {
  const flow: Record<string, unknown> = {
    time: r.time,
    verdict: r.verdict,
  };
  if (r.verdict === 'DROPPED') flow['drop_reason_desc'] = r.drop_reason_code === 133 ? 'POLICY_DENIED' : (r.drop_reason ?? 'DROP_REASON_UNKNOWN');
  if (r.src_ip) flow['IP'] = { source: r.src_ip, destination: r.translated?.dst_ip ?? r.dst_ip, ipVersion: r.ip_version === 6 ? 'IPv6' : 'IPv4' };
  const dport = r.translated?.dst_port ?? r.dst_port;
  if (r.protocol === 'TCP') {
    const flags: Record<string, boolean> = {};
    for (const f of (r.tcp_flags ?? '').split(', ').filter(Boolean)) flags[f] = true;
    flow['l4'] = { TCP: { source_port: r.src_port, destination_port: dport, flags } };
  } else if (r.protocol === 'UDP') flow['l4'] = { UDP: { source_port: r.src_port, destination_port: dport } };
  else if (r.protocol === 'SCTP') flow['l4'] = { SCTP: { source_port: r.src_port, destination_port: dport } };
  else if (r.protocol === 'ICMPv4') flow['l4'] = { ICMPv4: { type: r.icmp_type, code: r.icmp_code } };
  else if (r.protocol === 'ICMPv6') flow['l4'] = { ICMPv6: { type: r.icmp_type, code: r.icmp_code } };
  flow['source'] = endpointPb(r.src_pod, r.src_identity, r.src_identity ? labelsOf(r.src_identity) : undefined);
  flow['destination'] = endpointPb(r.dst_pod, r.dst_identity, r.dst_identity ? labelsOf(r.dst_identity) : undefined);
  flow['Type'] = 'L3_L4';
  flow['node_name'] = nodeName;
  if (r.verdict === 'DROPPED') flow['event_type'] = { type: 1, sub_type: r.drop_reason_code ?? 0 };
  else if (r.new_connection) flow['event_type'] = { type: 5 };
  else flow['event_type'] = { type: 4 };
  const deniedDir = r.denied_by?.[0]?.direction;
  const dir = deniedDir ?? (r.allowed_by?.some((a) => a.direction === 'ingress') ? 'ingress' : r.allowed_by?.length ? 'egress' : undefined);
  flow['traffic_direction'] = dir === 'ingress' ? 'INGRESS' : dir === 'egress' ? 'EGRESS' : 'TRAFFIC_DIRECTION_UNKNOWN';
  flow['is_reply'] = r.is_reply;
  if (r.service) {
    const [ns, name] = r.service.split('/');
    flow['destination_service'] = { name, namespace: ns };
  }
  const policyRef = (p: string) => {
    const [namespace, name] = p.split('/');
    return { name, namespace, kind: 'NetworkPolicy' };
  };
  const ing = r.allowed_by?.filter((a) => a.direction === 'ingress') ?? [];
  const eg = r.allowed_by?.filter((a) => a.direction === 'egress') ?? [];
  if (ing.length) flow['ingress_allowed_by'] = ing.map((a) => policyRef(a.policy));
  if (eg.length) flow['egress_allowed_by'] = eg.map((a) => policyRef(a.policy));
  for (const d of r.denied_by ?? []) flow[`${d.direction}_denied_by`] = d.policies.map(policyRef);
  flow['Summary'] = summaryText(r);
  return JSON.stringify({ flow, node_name: nodeName, time: r.time });
}
