/**
 * Cluster-independent lint warnings (semantics.md §7) on a valid NetworkPolicy, as written (before defaulting):
 * `egress: []` without policyTypes (E5), rules for a direction not in policyTypes (E32), a repeated policy type,
 * overlapping `except` entries, egress named ports whose peers are only ipBlocks (E10). Warnings never block. Lint that needs the cluster (selectors matching nothing, DNS,
 * named ports, hostNetwork) lives in the policy stage.
 */
import type { Diagnostic } from '../core/errors.js';
import { cidrContainsCidr, parseCIDR } from '../core/ip.js';
import type { RawNetworkPolicy } from './decode.js';
import type { LineOf } from './validate.js';

export function lintNetworkPolicy(o: RawNetworkPolicy, lineOf: LineOf, file: string, doc: number | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (code: string, path: string, message: string): void => {
    out.push({ severity: 'warning', code, message, path, loc: { file, line: lineOf(path), ...(doc === undefined ? {} : { doc }) } });
  };
  const spec = o.spec ?? {};
  const types = spec.policyTypes ?? [];
  // E5
  if (types.length === 0 && spec.egress !== undefined && spec.egress.length === 0) {
    warn('KPF_WARN_EMPTY_EGRESS', 'spec.egress', 'egress: [] does not isolate egress without policyTypes: [Egress]');
  }
  // E32
  if (types.length > 0) {
    if (!types.includes('Ingress') && (spec.ingress ?? []).length > 0) {
      warn('KPF_WARN_UNLISTED_DIRECTION', 'spec.ingress', 'ingress rules have no effect: policyTypes does not include Ingress');
    }
    if (!types.includes('Egress') && (spec.egress ?? []).length > 0) {
      warn('KPF_WARN_UNLISTED_DIRECTION', 'spec.egress', 'egress rules have no effect: policyTypes does not include Egress');
    }
  }
  // [Ingress, Ingress]: valid upstream (only the length is checked)
  types.forEach((t, i) => {
    if (types.indexOf(t) !== i) warn('KPF_WARN_DUPLICATE_POLICY_TYPE', `spec.policyTypes[${i}]`, `duplicate policy type "${t}"`);
  });
  // overlapping except entries of one ipBlock
  for (const [dir, key] of [['ingress', 'from'], ['egress', 'to']] as const) {
    (spec[dir] ?? []).forEach((rule, i) => {
      (rule[key] ?? []).forEach((peer, j) => {
        const ex = peer.ipBlock?.except ?? [];
        const parsed = ex.map((x) => parseCIDR(x, false));
        for (let b = 1; b < ex.length; b++) {
          for (let a = 0; a < b; a++) {
            const pa = parsed[a]!;
            const pb = parsed[b]!;
            if (!pa.ok || !pb.ok) continue;
            if (cidrContainsCidr(pa.cidr, pb.cidr) || cidrContainsCidr(pb.cidr, pa.cidr)) {
              warn(
                'KPF_WARN_OVERLAPPING_EXCEPT',
                `spec.${dir}[${i}].${key}[${j}].ipBlock.except[${b}]`,
                `except ${ex[b]} overlaps except[${a}] ${ex[a]}`,
              );
              break;
            }
          }
        }
      });
    });
  }
  // E10: an egress named port resolves on the destination pod; peers that are only ipBlocks name addresses, which
  // are pods only under --ipblock-pods=match and only when a pod holds one of them
  (spec.egress ?? []).forEach((rule, i) => {
    const peers = rule.to ?? [];
    if (peers.length === 0 || !peers.every((p) => p.ipBlock)) return;
    (rule.ports ?? []).forEach((pp, j) => {
      if (typeof pp.port === 'string') {
        warn(
          'KPF_WARN_NAMED_PORT_IPBLOCK',
          `spec.egress[${i}].ports[${j}].port`,
          `named port "${pp.port}" resolves on the destination pod, but the peers of this rule are only ipBlocks: it matches only pods inside them (--ipblock-pods=match), never other addresses`,
        );
      }
    });
  });
  return out;
}
