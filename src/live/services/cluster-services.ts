/**
 * The cluster's services in live mode: the cluster DNS inside the kube-dns pods' namespaces, an HTTP server for
 * each pod's TCP ports inside its namespace, the outside world's sites, and every pod's /etc/netns resolv.conf —
 * each server a process of its own started with `ip netns exec` (dns-main.ts, http-main.ts), stopped with the
 * session (and by itself when kpf dies: end of stdin).
 */
import { isIP } from 'node:net';
import type { Cluster, Pod, Service } from '../../cluster/model.js';
import { DNS_LABEL_KEY, DNS_LABEL_VALUE, DNS_NAMESPACE, DNS_SERVICE_NAME } from '../../cluster/dns.js';
import { KpfError } from '../../core/errors.js';
import { DEFAULT_EXTRA_NAMES, zoneFromCluster, type DnsZoneData } from './dns-server.js';
import type { DnsMainConfig } from './dns-main.js';
import type { HttpServerOptions } from './http-server.js';
import { NetnsService, entryCommand } from './netns-exec.js';
import { NetnsEtc, resolvConfText } from './resolv.js';

export interface ClusterServicesOptions {
  /** the namespace of a pod, or undefined when it has none */
  netnsOf: (pod: Pod) => string | undefined;
  /** the outside world's namespace (serves the extra names' addresses on port 80) */
  worldNetns?: string;
  /** external names → addresses (default cloudyuga.guru → 203.0.113.80) */
  extraNames?: Readonly<Record<string, readonly string[]>>;
  /** cluster domain (default cluster.local) */
  domain?: string;
  /** ms to wait for each server to be ready (default 20 s) */
  readyTimeoutMs?: number;
  /** progress lines */
  log?: (line: string) => void;
}

function selects(sel: Readonly<Record<string, string>> | null, labels: Readonly<Record<string, string>>): boolean {
  return !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** kube-system/kube-dns, when the cluster has it. */
export function dnsService(cluster: Cluster): Service | undefined {
  return cluster.services.find((s) => s.namespace === DNS_NAMESPACE && s.name === DNS_SERVICE_NAME);
}

/** The pods the cluster DNS runs in: kube-dns's backends, else pods labelled k8s-app=kube-dns. */
export function dnsPods(cluster: Cluster): Pod[] {
  const svc = dnsService(cluster);
  return cluster.pods.filter((p) =>
    svc ? p.namespace === svc.namespace && selects(svc.selector, p.labels) : p.labels[DNS_LABEL_KEY] === DNS_LABEL_VALUE,
  );
}

/** The DNS port of the DNS pods: the targetPort of kube-dns's UDP port 53 when numeric, else 53. */
function dnsTargetPort(cluster: Cluster): number {
  const p = dnsService(cluster)?.ports.find((x) => x.protocol === 'UDP' && x.port === 53);
  return typeof p?.targetPort === 'number' ? p.targetPort : 53;
}

/** TCP ports a pod serves: its TCP container ports plus numeric targetPorts of the Services selecting it. */
export function podTcpPorts(cluster: Cluster, pod: Pod): number[] {
  const ports = new Set<number>();
  for (const cp of pod.ports) if (cp.protocol === 'TCP') ports.add(cp.containerPort);
  for (const s of cluster.services) {
    if (s.namespace !== pod.namespace || !selects(s.selector, pod.labels)) continue;
    for (const sp of s.ports) if (sp.protocol === 'TCP' && typeof sp.targetPort === 'number') ports.add(sp.targetPort);
  }
  return [...ports].sort((a, b) => a - b);
}

export class ClusterServices {
  readonly services: NetnsService[] = [];
  readonly etc = new NetnsEtc();
  private dns: NetnsService[] = [];
  private stopped = false;

  private constructor(readonly opts: ClusterServicesOptions) {}

  /** Starts every server and writes every pod's resolv.conf; on failure removes what it started and throws. */
  static async start(cluster: Cluster, opts: ClusterServicesOptions): Promise<ClusterServices> {
    const cs = new ClusterServices(opts);
    try {
      await cs.startAll(cluster);
      return cs;
    } catch (e) {
      await cs.stop();
      throw e;
    }
  }

  zone(cluster: Cluster): DnsZoneData {
    return zoneFromCluster(cluster, { ...(this.opts.domain ? { domain: this.opts.domain } : {}), extraNames: this.opts.extraNames ?? DEFAULT_EXTRA_NAMES });
  }

  private async startAll(cluster: Cluster): Promise<void> {
    const log = this.opts.log ?? (() => undefined);
    const domain = this.opts.domain ?? 'cluster.local';
    const timeout = this.opts.readyTimeoutMs ?? 20_000;
    const svc = dnsService(cluster);
    const nameservers = (svc?.clusterIPs ?? []).slice().sort((a, b) => isIP(a) - isIP(b));
    if (nameservers.length === 0) throw new KpfError('KPF_ERR_LIVE', 'the cluster has no kube-system/kube-dns Service with a ClusterIP: pods would have no DNS');
    const zone = this.zone(cluster);
    const dnsSet = new Set(dnsPods(cluster));
    const dnsPort = dnsTargetPort(cluster);
    const starts: Array<Promise<unknown>> = [];
    for (const p of cluster.pods) {
      const netns = this.opts.netnsOf(p);
      if (!netns) continue;
      this.etc.write(netns, resolvConfText(nameservers, p.namespace, domain));
      if (dnsSet.has(p)) {
        const s = new NetnsService(netns, `dns ${p.namespace}/${p.name}`, entryCommand('dns-main'));
        this.services.push(s);
        this.dns.push(s);
        const cfg: DnsMainConfig = { addresses: [...p.ips], port: dnsPort, zone };
        starts.push(s.start(cfg, timeout).then(() => log(`dns   ${p.namespace}/${p.name} ${p.ips.join(' ')}:${dnsPort} (udp, tcp)`)));
      }
      const ports = podTcpPorts(cluster, p).filter((x) => !(dnsSet.has(p) && x === dnsPort));
      if (ports.length === 0) continue;
      const s = new NetnsService(netns, `http ${p.namespace}/${p.name}`, entryCommand('http-main'));
      this.services.push(s);
      const cfg: HttpServerOptions = { label: `${p.namespace}/${p.name}`, binds: p.ips.flatMap((address) => ports.map((port) => ({ address, port }))) };
      starts.push(s.start(cfg, timeout).then(() => log(`http  ${p.namespace}/${p.name} ${p.ips.join(' ')} port ${ports.join(',')}`)));
    }
    if (this.opts.worldNetns) {
      const sites = Object.entries(this.opts.extraNames ?? DEFAULT_EXTRA_NAMES);
      const ips = [...new Set(sites.flatMap(([, a]) => a))];
      if (ips.length) {
        const s = new NetnsService(this.opts.worldNetns, 'http world', entryCommand('http-main'));
        this.services.push(s);
        const cfg: HttpServerOptions = { label: sites.map(([n]) => n).join(', '), binds: ips.map((address) => ({ address, port: 80 })) };
        starts.push(s.start(cfg, timeout).then(() => log(`http  world ${ips.join(' ')} port 80 (${cfg.label})`)));
      }
    }
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Replaces the DNS records (e.g. after a change of Services). */
  updateZone(cluster: Cluster): void {
    const zone = this.zone(cluster);
    for (const s of this.dns) s.send({ zone });
  }

  /** Stops every server and removes every /etc/netns directory written (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await Promise.all(this.services.map((s) => s.stop()));
    } finally {
      this.etc.removeAll();
    }
  }

  /** Synchronous last resort (process exit handlers). */
  killNow(): void {
    for (const s of this.services) s.killNow();
    this.etc.removeAll();
  }
}
