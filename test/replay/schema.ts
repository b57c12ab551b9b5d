/**
 * The documented `kpf replay -o json` record (README "Flow records"), as a checker. Every field kpf prints must be
 * listed here with its type; required fields must be present; nothing else may appear.
 */
type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

interface Field {
  kind: Kind;
  required?: boolean;
  oneOf?: readonly (string | number)[];
  check?: (v: unknown) => string | null;
}

const ruleList = (v: unknown): string | null => {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty array';
  for (const r of v as Array<Record<string, unknown>>) {
    if (r['direction'] !== 'ingress' && r['direction'] !== 'egress') return 'direction must be ingress or egress';
    if (typeof r['policy'] !== 'string' || !r['policy'].includes('/')) return 'policy must be namespace/name';
    if (!Number.isInteger(r['rule'])) return 'rule must be an integer';
  }
  return null;
};

const denyList = (v: unknown): string | null => {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty array';
  for (const r of v as Array<Record<string, unknown>>) {
    if (r['direction'] !== 'ingress' && r['direction'] !== 'egress') return 'direction must be ingress or egress';
    if (!Array.isArray(r['policies'])) return 'policies must be an array';
  }
  return null;
};

export const FLOW_RECORD_FIELDS: Record<string, Field> = {
  index: { kind: 'number', required: true },
  time: { kind: 'string', required: true, check: (v) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(String(v)) ? null : 'RFC 3339 with nanoseconds') },
  verdict: { kind: 'string', required: true, oneOf: ['FORWARDED', 'DROPPED'] },
  drop_reason: { kind: 'string' },
  drop_reason_code: { kind: 'number' },
  forward_reason: { kind: 'string' },
  ip_version: { kind: 'number', oneOf: [4, 6] },
  src_ip: { kind: 'string' },
  dst_ip: { kind: 'string' },
  protocol: { kind: 'string' },
  src_port: { kind: 'number' },
  dst_port: { kind: 'number' },
  icmp_type: { kind: 'number' },
  icmp_code: { kind: 'number' },
  tcp_flags: { kind: 'string' },
  length: { kind: 'number', required: true },
  src_pod: { kind: 'string' },
  dst_pod: { kind: 'string' },
  src_identity: { kind: 'number' },
  dst_identity: { kind: 'number' },
  service: { kind: 'string' },
  translated: { kind: 'object', check: (v) => (typeof (v as Record<string, unknown>)['dst_ip'] === 'string' && typeof (v as Record<string, unknown>)['dst_port'] === 'number' ? null : 'needs dst_ip and dst_port') },
  is_reply: { kind: 'boolean', required: true },
  new_connection: { kind: 'boolean', required: true },
  mid_flow_pickup: { kind: 'boolean' },
  allowed_by: { kind: 'array', check: ruleList },
  denied_by: { kind: 'array', check: denyList },
  decode_status: { kind: 'string' },
  truncated: { kind: 'boolean' },
  revision: { kind: 'number', required: true },
};

export function validateFlowRecord(rec: Record<string, unknown>): string[] {
  const errors: string[] = [];
  for (const [name, f] of Object.entries(FLOW_RECORD_FIELDS)) {
    const v = rec[name];
    if (v === undefined) {
      if (f.required) errors.push(`${name}: required`);
      continue;
    }
    const kind: Kind = Array.isArray(v) ? 'array' : (typeof v as Kind);
    if (kind !== f.kind) errors.push(`${name}: ${kind}, expected ${f.kind}`);
    else if (f.oneOf && !f.oneOf.includes(v as string | number)) errors.push(`${name}: ${String(v)} not one of ${f.oneOf.join(', ')}`);
    else if (f.check) {
      const e = f.check(v);
      if (e) errors.push(`${name}: ${e}`);
    }
  }
  for (const k of Object.keys(rec)) if (!(k in FLOW_RECORD_FIELDS)) errors.push(`${k}: not a documented field`);
  if (rec['verdict'] === 'DROPPED' && rec['drop_reason'] === undefined) errors.push('drop_reason: required when DROPPED');
  if (rec['verdict'] === 'FORWARDED' && rec['forward_reason'] === undefined) errors.push('forward_reason: required when FORWARDED');
  return errors;
}
