/**
 * Resolves the endpoints people name on the command line: `NS/POD`, `POD` (with -n), `NS/svc/NAME`,
 * `svc/NAME` (with -n), or an IP address.
 */
import { UsageError } from '../core/errors.js';
import { canonicalIP } from '../core/ip.js';
import type { Cluster, Pod, Service } from '../cluster/model.js';

export type Named =
  | { kind: 'pod'; pod: Pod; ip: string }
  | { kind: 'service'; service: Service; ip: string }
  | { kind: 'ip'; ip: string };

function pickIP(ips: readonly string[], family: 4 | 6 | undefined, what: string): string {
  const want = family === 6 ? ips.filter((ip) => ip.includes(':')) : family === 4 ? ips.filter((ip) => !ip.includes(':')) : ips;
  const ip = want[0];
  if (!ip) throw new UsageError(`${what} has no ${family ? `IPv${family} ` : ''}address`);
  return ip;
}

export function resolveEndpoint(c: Cluster, spec: string, defaultNs: string, family?: 4 | 6): Named {
  const ip = canonicalIP(spec);
  if (ip) return { kind: 'ip', ip };
  const parts = spec.split('/');
  let ns = defaultNs;
  let name: string;
  let svc = false;
  if (parts.length === 3 && /^(svc|service|services)$/.test(parts[1]!)) [ns, , name] = parts as [string, string, string];
  else if (parts.length === 2 && /^(svc|service|services)$/.test(parts[0]!)) [, name] = parts as [string, string];
  else if (parts.length === 2) [ns, name] = parts as [string, string];
  else if (parts.length === 1) name = parts[0]!;
  else throw new UsageError(`cannot read "${spec}": expected NAMESPACE/POD, NAMESPACE/svc/NAME or an IP address`);
  if (parts.length === 3 || (parts.length === 2 && /^(svc|service|services)$/.test(parts[0]!))) svc = true;
  if (svc) {
    const s = c.services.find((x) => x.namespace === ns && x.name === name);
    if (!s) throw new UsageError(`service "${name}" not found in namespace "${ns}"`);
    return { kind: 'service', service: s, ip: pickIP(s.clusterIPs, family, `service ${ns}/${name}`) };
  }
  const p = c.pods.find((x) => x.namespace === ns && x.name === name);
  if (!p) {
    const s = c.services.find((x) => x.namespace === ns && x.name === name);
    const hint = s ? ` (there is a service of that name: use ${ns}/svc/${name})` : '';
    throw new UsageError(`pod "${name}" not found in namespace "${ns}"${hint}`);
  }
  return { kind: 'pod', pod: p, ip: pickIP(p.ips, family, `pod ${ns}/${name}`) };
}

export function describeNamed(n: Named): string {
  switch (n.kind) {
    case 'pod':
      return `${n.pod.namespace}/${n.pod.name} (${n.ip})`;
    case 'service':
      return `${n.service.namespace}/svc/${n.service.name} (${n.ip})`;
    case 'ip':
      return n.ip;
  }
}
