/**
 * Default cluster DNS. Almost every egress policy has to allow DNS (E23), and a cluster without a DNS endpoint makes
 * those rules untestable, so when the input has no cluster DNS kpf adds what kubeadm/kind clusters have:
 *
 *   Pod     kube-system/coredns-<suffix>   k8s-app=kube-dns   ports dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP
 *   Service kube-system/kube-dns           10.96.0.10 (offset 10 of the service CIDR), selector k8s-app=kube-dns
 *
 * "Has cluster DNS" = a Service kube-system/kube-dns, or any pod (given or derived) labelled k8s-app=kube-dns.
 */
import type { Diagnostic } from '../core/errors.js';
import type { PodDraft } from './draft.js';
import type { ServiceDraft } from './ipam.js';
import { nameSuffix } from './workloads.js';

export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE_NAME = 'kube-dns';
export const DNS_LABEL_KEY = 'k8s-app';
export const DNS_LABEL_VALUE = 'kube-dns';

/** True when the input already has cluster DNS (see the module comment). */
export function hasClusterDns(
  pods: readonly { labels: Readonly<Record<string, string>> }[],
  services: readonly { namespace: string; name: string }[],
): boolean {
  if (services.some((s) => s.namespace === DNS_NAMESPACE && s.name === DNS_SERVICE_NAME)) return true;
  return pods.some((p) => p.labels[DNS_LABEL_KEY] === DNS_LABEL_VALUE);
}

/** Name of the added DNS pod: `coredns-<5-char suffix>`, the same on every run. */
export function dnsPodName(): string {
  return `coredns-${nameSuffix(`${DNS_NAMESPACE}/coredns`)}`;
}

/**
 * The pod and Service to add.
 * @param dnsIP the ClusterIP for kube-dns (10.96.0.10 unless taken or the service CIDR differs)
 */
export function defaultDnsObjects(dnsIP: string | null): { pod: PodDraft; service: ServiceDraft } {
  const pod: PodDraft = {
    namespace: DNS_NAMESPACE,
    name: dnsPodName(),
    labels: { [DNS_LABEL_KEY]: DNS_LABEL_VALUE },
    phase: 'Running',
    hostNetwork: false,
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
    ],
    statusIPs: [],
    origin: 'default-dns',
    ips: [],
    ipSource: 'none',
  };
  const service: ServiceDraft = {
    namespace: DNS_NAMESPACE,
    name: DNS_SERVICE_NAME,
    type: 'ClusterIP',
    givenIPs: dnsIP ? [dnsIP] : [],
    clusterIPs: [],
    selector: { [DNS_LABEL_KEY]: DNS_LABEL_VALUE },
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
      { name: 'metrics', protocol: 'TCP', port: 9153, targetPort: 9153 },
    ],
    origin: 'default-dns',
  };
  return { pod, service };
}

/** The notice printed when DNS was added, naming the ClusterIP it got. */
export function dnsNotice(ip: string | undefined): Diagnostic {
  return {
    severity: 'notice',
    code: 'KPF_NOTICE_DEFAULT_DNS',
    message: `added cluster DNS (${DNS_NAMESPACE}/${DNS_SERVICE_NAME} at ${ip ?? 'no ClusterIP'}); --no-default-dns turns this off`,
  };
}
