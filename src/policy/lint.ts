/**
 * Lint rules that need the evaluator (semantics.md §7). Today: E23, egress isolation without DNS.
 *
 * The check runs the reference evaluator on real flows (pod → each cluster DNS pod, UDP and TCP), so it uses exactly
 * the semantics traffic gets: a rule naming the DNS ClusterIP does not help (E21), named ports resolve on the DNS pod,
 * `--ipblock-pods` is honoured, and so on.
 */
import type { Diagnostic } from '../core/errors.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../core/options.js';
import type { Cluster, Pod } from '../cluster/model.js';
import { isPolicyEndpoint, podKey } from '../cluster/model.js';
import { matchesSelector } from '../cluster/selectors.js';
import { resolveTargetPort } from '../cluster/services.js';
import { evaluate } from './reference.js';

/** Where the cluster DNS pods are: `kube-system`, `k8s-app=kube-dns` (CoreDNS keeps the kube-dns label). */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_LABEL = { key: 'k8s-app', value: 'kube-dns' } as const;

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** The live cluster DNS pods. */
export function dnsPods(cluster: Cluster): Pod[] {
  return cluster.pods.filter(
    (p) => p.namespace === DNS_NAMESPACE && p.labels[DNS_LABEL.key] === DNS_LABEL.value && isPolicyEndpoint(p),
  );
}

/**
 * The port DNS really listens on for one DNS pod and protocol: the targetPort of port 53 of a kube-system Service
 * selecting that pod (5353 on OpenShift), else 53.
 */
export function dnsTargetPort(cluster: Cluster, dns: Pod, protocol: 'UDP' | 'TCP'): number {
  for (const svc of cluster.services) {
    if (svc.namespace !== DNS_NAMESPACE || !svc.selector || Object.keys(svc.selector).length === 0) continue;
    if (!Object.entries(svc.selector).every(([k, v]) => dns.labels[k] === v)) continue;
    const sp = svc.ports.find((p) => p.port === 53 && p.protocol === protocol);
    if (!sp) continue;
    const port = resolveTargetPort(sp, dns);
    if (port !== null) return port;
  }
  return 53;
}

/**
 * E23: a warning (KPF_WARN_NO_DNS_EGRESS) per egress-isolated pod that cannot reach any cluster DNS pod on UDP 53
 * or cannot reach any on TCP 53 (each on the DNS pod's real targetPort). The warning carries the loc of the first
 * isolating policy and names all of them. Nothing is reported when the model has no DNS pods.
 */
export function lintCluster(cluster: Cluster, sem: SemanticsOptions = DEFAULT_SEMANTICS): Diagnostic[] {
  const out: Diagnostic[] = [];
  const dns = dnsPods(cluster);
  if (dns.length === 0) return out;
  for (const pod of cluster.pods) {
    if (!isPolicyEndpoint(pod)) continue;
    const isolating = cluster.policies.filter(
      (p) => p.namespace === pod.namespace && p.policyTypes.includes('Egress') && matchesSelector(p.podSelector, pod.labels),
    );
    if (isolating.length === 0) continue;
    const missing: string[] = [];
    const deniedAt = new Set<string>();
    for (const protocol of ['UDP', 'TCP'] as const) {
      let ok = false;
      for (const d of dns) {
        const srcIP = pod.ips[0]!;
        const dstIP = d.ips.find((ip) => familyOf(ip) === familyOf(srcIP));
        if (dstIP === undefined) continue;
        const dec = evaluate(
          cluster,
          { src: srcIP, dst: dstIP, protocol, srcPort: 53000, dstPort: dnsTargetPort(cluster, d, protocol) },
          sem,
        );
        if (dec.verdict !== 'DROP') {
          ok = true;
          break;
        }
        if (dec.deniedBy) deniedAt.add(dec.deniedBy === 'Egress' ? `egress of ${podKey(pod)}` : `ingress of ${podKey(d)}`);
      }
      if (!ok) missing.push(protocol);
    }
    if (missing.length === 0) continue;
    const names = isolating.map((p) => `${p.namespace}/${p.name}`).sort();
    const first = isolating[0]!;
    const diag: Diagnostic = {
      severity: 'warning',
      code: 'KPF_WARN_NO_DNS_EGRESS',
      message:
        `pod ${podKey(pod)} is isolated for egress (by ${names.join(', ')}) and cannot reach cluster DNS ` +
        `(${DNS_NAMESPACE} pods ${DNS_LABEL.key}=${DNS_LABEL.value}) on ${missing.map((p) => `${p} 53`).join(' and ')}` +
        (deniedAt.size ? ` (denied by ${[...deniedAt].sort().join(', ')})` : '') +
        `; allow egress to those pods on UDP and TCP 53 (a rule naming the DNS ClusterIP does not help)`,
      path: 'spec.egress',
      object: `NetworkPolicy ${first.namespace}/${first.name}`,
    };
    if (first.loc) diag.loc = first.loc;
    out.push(diag);
  }
  return out;
}
