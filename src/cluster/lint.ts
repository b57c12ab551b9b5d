/**
 * Lint warnings that need the whole cluster (semantics.md §7). All are warnings: the API server accepts these
 * policies; they are most likely not what their author meant.
 *
 *   KPF_WARN_SELECTOR_MATCHES_NOTHING   a non-empty podSelector / namespaceSelector matches no pod / namespace (E35)
 *   KPF_WARN_SELECTS_ONLY_HOSTNETWORK   spec.podSelector matches only hostNetwork pods: the policy has no effect (E20)
 *   KPF_WARN_NAMED_PORT_UNDECLARED      a named port no pod it can apply to declares (E10)
 *   KPF_WARN_IPBLOCK_OVERLAPS_CLUSTER   an ipBlock covers pod CIDRs, the service CIDR or node IPs (E8)
 *
 * Empty selectors are never reported as matching nothing: `{}` means "all", also in a namespace that is empty now.
 */
import type { Diagnostic } from '../core/errors.js';
import { type Cidr, cidrContainsCidr, formatCIDR, parseCIDR, parseIP } from '../core/ip.js';
import {
  type LabelSelector,
  type NetworkPolicyObject,
  type NetworkPolicyPeer,
  objectRef,
  type Protocol,
} from '../manifests/types.js';
import type { Cluster, Namespace, Pod } from './model.js';
import { formatSelector, isEmptySelector, matchesSelector } from './selectors.js';

/** Extra inputs of the lint: the configured address ranges. */
export interface LintContext {
  podPools: readonly Cidr[];
  serviceCidrs: readonly Cidr[];
}

function live(p: Pod): boolean {
  return p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/** Pods a selector can match: live and not on the host network (E20). */
function selectable(p: Pod): boolean {
  return live(p) && !p.hostNetwork;
}

function overlapOf(a: Cidr, b: Cidr): Cidr | null {
  if (cidrContainsCidr(a, b)) return b;
  if (cidrContainsCidr(b, a)) return a;
  return null;
}

/** Runs every cluster-level lint over the policies of `cluster`. */
export function lintCluster(cluster: Cluster, ctx: LintContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const namespaces = [...cluster.namespaces.values()];
  const podsByNs = new Map<string, Pod[]>();
  for (const p of cluster.pods) {
    const list = podsByNs.get(p.namespace) ?? [];
    list.push(p);
    podsByNs.set(p.namespace, list);
  }
  const clusterRanges = rangesOf(cluster, ctx);

  for (const pol of cluster.policies) {
    const warn = (code: string, path: string, message: string): void => {
      out.push({ severity: 'warning', code, message, path, loc: pol.loc, object: objectRef(pol) });
    };
    const own = podsByNs.get(pol.namespace) ?? [];

    // spec.podSelector
    const chosen = own.filter((p) => live(p) && matchesSelector(pol.podSelector, p.labels));
    const targets = chosen.filter((p) => !p.hostNetwork);
    if (chosen.length > 0 && targets.length === 0) {
      warn(
        'KPF_WARN_SELECTS_ONLY_HOSTNETWORK',
        'spec.podSelector',
        `selects only hostNetwork pods (${chosen.map((p) => p.name).join(', ')}); NetworkPolicy does not apply to them, so this policy has no effect`,
      );
    } else if (chosen.length === 0 && !isEmptySelector(pol.podSelector)) {
      warn(
        'KPF_WARN_SELECTOR_MATCHES_NOTHING',
        'spec.podSelector',
        `podSelector ${formatSelector(pol.podSelector)} matches no pod in namespace ${pol.namespace}`,
      );
    }

    const directions = [
      { rules: pol.ingress, field: 'ingress', peerField: 'from' },
      { rules: pol.egress, field: 'egress', peerField: 'to' },
    ] as const;
    for (const dir of directions) {
      dir.rules.forEach((rule, i) => {
        const peerPods: Pod[] = [];
        let selectorPeers = 0;
        rule.peers.forEach((peer, j) => {
          const at = `spec.${dir.field}[${i}].${dir.peerField}[${j}]`;
          if (peer.ipBlock) {
            const msg = ipBlockOverlap(peer.ipBlock.cidr, peer.ipBlock.except, clusterRanges);
            if (msg) warn('KPF_WARN_IPBLOCK_OVERLAPS_CLUSTER', `${at}.ipBlock.cidr`, msg);
            return;
          }
          selectorPeers++;
          const r = peerMatches(peer, pol, namespaces, podsByNs);
          peerPods.push(...r.pods);
          if (r.message) warn('KPF_WARN_SELECTOR_MATCHES_NOTHING', `${at}.${r.field}`, r.message);
        });
        // named ports: resolved on the destination (E10)
        rule.ports.forEach((port, k) => {
          if (typeof port.port !== 'string') return;
          let dests: Pod[];
          if (dir.field === 'ingress') dests = targets;
          else if (rule.peers.length === 0) dests = cluster.pods.filter(selectable);
          else if (selectorPeers === 0) return; // ipBlock-only peers: a manifest-stage lint
          else dests = peerPods;
          const declares = (p: Pod): boolean => declaresPort(p, port.port as string, port.protocol);
          const path = `spec.${dir.field}[${i}].ports[${k}].port`;
          if (!cluster.pods.some(declares)) {
            warn('KPF_WARN_NAMED_PORT_UNDECLARED', path, `named port "${port.port}" (${port.protocol}) is declared by no pod`);
          } else if (dests.length > 0 && !dests.some(declares)) {
            const side = dir.field === 'ingress' ? 'the selected pods' : 'the peer pods';
            warn(
              'KPF_WARN_NAMED_PORT_UNDECLARED',
              path,
              `named port "${port.port}" (${port.protocol}) is declared by none of ${side}, so this port matches nothing`,
            );
          }
        });
      });
    }
  }
  return out;
}

function declaresPort(p: Pod, name: string, protocol: Protocol): boolean {
  return p.ports.some((cp) => cp.name === name && cp.protocol === protocol);
}

function peerMatches(
  peer: NetworkPolicyPeer,
  pol: NetworkPolicyObject,
  namespaces: readonly Namespace[],
  podsByNs: ReadonlyMap<string, Pod[]>,
): { pods: Pod[]; message?: string; field: string } {
  let nsNames: string[];
  if (peer.namespaceSelector) {
    const sel: LabelSelector = peer.namespaceSelector;
    nsNames = namespaces.filter((n) => matchesSelector(sel, n.labels)).map((n) => n.name);
    if (nsNames.length === 0 && !isEmptySelector(sel)) {
      return { pods: [], field: 'namespaceSelector', message: `namespaceSelector ${formatSelector(sel)} matches no namespace` };
    }
  } else {
    nsNames = [pol.namespace];
  }
  const podSel = peer.podSelector;
  const pods: Pod[] = [];
  let hostOnly = 0;
  for (const ns of nsNames) {
    for (const p of podsByNs.get(ns) ?? []) {
      if (!live(p) || (podSel && !matchesSelector(podSel, p.labels))) continue;
      if (p.hostNetwork) hostOnly++;
      else pods.push(p);
    }
  }
  if (podSel && pods.length === 0 && !isEmptySelector(podSel)) {
    const where = peer.namespaceSelector ? `namespaces matching ${formatSelector(peer.namespaceSelector)}` : `namespace ${pol.namespace}`;
    const extra = hostOnly > 0 ? ' (only hostNetwork pods, which selectors never match)' : '';
    return { pods, field: 'podSelector', message: `podSelector ${formatSelector(podSel)} matches no pod in ${where}${extra}` };
  }
  return { pods, field: 'podSelector' };
}

interface NamedRange {
  label: string;
  cidr: Cidr;
}

function rangesOf(cluster: Cluster, ctx: LintContext): NamedRange[] {
  const out: NamedRange[] = [];
  const seen = new Set<string>();
  const add = (label: string, c: Cidr): void => {
    const key = `${label}|${formatCIDR(c)}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ label, cidr: c });
    }
  };
  for (const c of ctx.podPools) add('pod CIDR', c);
  for (const n of cluster.nodes) {
    for (const t of n.podCIDRs) {
      const r = parseCIDR(t, false);
      if (r.ok && !ctx.podPools.some((p) => cidrContainsCidr(p, r.cidr))) add('pod CIDR', r.cidr);
    }
  }
  for (const c of ctx.serviceCidrs) add('service CIDR', c);
  for (const n of cluster.nodes) {
    for (const ip of n.ips) {
      const a = parseIP(ip);
      if (!a) continue;
      const host: Cidr = { family: a.family, value: a.value, prefix: a.family === 4 ? 32 : 128 };
      // a gateway inside a pod CIDR is already reported with that CIDR
      if (out.some((r) => cidrContainsCidr(r.cidr, host))) continue;
      add(`node ${n.name} IP`, host);
    }
  }
  return out;
}

/** The warning text when `cidr` (minus its excepts) reaches into a cluster range, else null. */
function ipBlockOverlap(cidrText: string, except: readonly string[], ranges: readonly NamedRange[]): string | null {
  const p = parseCIDR(cidrText, false);
  if (!p.ok) return null;
  const excepts = except.flatMap((e) => {
    const r = parseCIDR(e, false);
    return r.ok ? [r.cidr] : [];
  });
  const hits: string[] = [];
  let nodeHits = 0;
  for (const r of ranges) {
    const inter = overlapOf(p.cidr, r.cidr);
    if (!inter || excepts.some((e) => cidrContainsCidr(e, inter))) continue;
    if (r.label.startsWith('node ')) {
      nodeHits++;
      if (nodeHits <= 3) hits.push(`${r.label} ${formatCIDR(r.cidr).replace(/\/(32|128)$/, '')}`);
    } else hits.push(`${r.label} ${formatCIDR(r.cidr)}`);
  }
  if (nodeHits > 3) hits.push(`${nodeHits - 3} more node IPs`);
  if (hits.length === 0) return null;
  return `ipBlock ${cidrText} overlaps ${hits.join(', ')}: it also matches pods and nodes there (--ipblock-pods=match), while Service ClusterIPs never match a rule (E21)`;
}
