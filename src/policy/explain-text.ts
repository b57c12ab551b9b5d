/**
 * Text rendering of a Decision, in the shape of observability.md §3.2 (netpol-analyzer wording, cyclonus' per-direction
 * table). Pure formatting: the Decision already holds the whole explanation.
 *
 *   Flow: 10.244.1.10:40000 -> 10.244.2.10:80 TCP
 *   Egress  x/a  ALLOWED  (not isolated for egress: no policy selects it with Egress)
 *   Ingress y/a  DENIED   policy_denied (133)
 *     isolated by: y/deny-all, y/allow-b
 *     y/allow-b ingress[0]: peer podSelector pod=b: pod x/a labels do not match pod=b
 *   Final verdict: DENIED
 */
import type { Decision, DirectionResult, Flow } from './types.js';

/** Cilium drop reason numbers of the reasons a Decision can carry (observability.md §2). */
const DROP_CODE: Record<string, number> = { POLICY_DENIED: 133, SERVICE_BACKEND_NOT_FOUND: 158 };

function hostPort(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `10.0.0.1:40000 -> 10.0.0.2:80 TCP`, `fd00::1 -> fd00::2 ICMPv6 type 128 code 0`. */
export function formatFlow(f: Flow): string {
  const proto = typeof f.protocol === 'number' ? `proto ${f.protocol}` : f.protocol;
  const icmp = f.icmpType !== undefined ? ` type ${f.icmpType} code ${f.icmpCode ?? 0}` : '';
  return `${hostPort(f.src, f.srcPort)} -> ${hostPort(f.dst, f.dstPort)} ${proto}${icmp}`;
}

function directionLines(r: DirectionResult, otherEnd: string, width: number): string[] {
  const name = (r.endpoint ?? otherEnd).padEnd(width);
  const dir = r.direction.padEnd(7);
  if (!r.evaluated) {
    const word = r.reason.startsWith('bypassed') ? 'BYPASS ' : 'ALLOWED';
    return [`${dir} ${name}  ${word}  (${r.reason})`];
  }
  if (!r.isolated) return [`${dir} ${name}  ALLOWED  (${r.reason})`];
  const lines: string[] = [];
  if (r.allowed) lines.push(`${dir} ${name}  ALLOWED  (${r.reason})`);
  else lines.push(`${dir} ${name}  DENIED   policy_denied (${DROP_CODE['POLICY_DENIED']}): ${r.reason}`);
  lines.push(`  isolated by: ${r.isolatedBy.join(', ')}`);
  if (r.allowed) {
    lines.push(`  allowed by: ${r.allowedBy.map((a) => `${a.policy} ${a.direction}[${a.index}]`).join(', ')}`);
  } else {
    for (const x of r.denials) lines.push(`  ${x.rule.policy} ${x.rule.direction}[${x.rule.index}]: ${x.why}`);
  }
  return lines;
}

/** Renders a Decision as the multi-line text of `kpf explain`. No trailing newline. */
export function renderDecision(d: Decision): string {
  const lines: string[] = [`Flow: ${formatFlow(d.flow)}`];
  lines.push(`From: ${d.src.kind} ${d.src.name}`);
  if (d.service) lines.push(`To:   ${d.service.kind} ${d.service.name}`);
  else lines.push(`To:   ${d.dst.kind} ${d.dst.name}`);
  if (d.nat) {
    lines.push(
      `DNAT: Service ${d.nat.service} ${hostPort(d.nat.clusterIP, d.nat.servicePort)}/${d.nat.protocol} -> backend ${d.nat.backend} ${hostPort(d.nat.backendIP, d.nat.backendPort)}`,
    );
  }
  if (d.verdict === 'BYPASS' && d.reason !== 'node_ingress') {
    lines.push(`Bypass: ${d.reason} (${d.detail})`);
  } else if (d.reason === 'SERVICE_BACKEND_NOT_FOUND') {
    lines.push(`Service: DROPPED service_backend_not_found (${DROP_CODE['SERVICE_BACKEND_NOT_FOUND']}): ${d.detail}`);
  } else {
    const width = Math.max((d.egress.endpoint ?? d.src.name).length, (d.ingress.endpoint ?? d.dst.name).length);
    lines.push(...directionLines(d.egress, d.src.name, width));
    lines.push(...directionLines(d.ingress, d.dst.name, width));
  }
  for (const n of d.notes) lines.push(`note: ${n}`);
  const final = d.verdict === 'DROP' ? 'DENIED' : d.verdict === 'BYPASS' ? `ALLOWED (bypass: ${d.reason})` : 'ALLOWED';
  lines.push(`Final verdict: ${final}`);
  return lines.join('\n');
}
