/**
 * Pod DNS configuration: `ip netns exec NS` bind-mounts every file of /etc/netns/NS/ over the file of the same name
 * in /etc, so each pod namespace gets the resolv.conf of a Kubernetes pod (ClusterFirst):
 *
 *   nameserver 10.96.0.10
 *   search <namespace>.svc.cluster.local svc.cluster.local cluster.local
 *   options ndots:5
 *
 * and an nsswitch.conf with `hosts: files dns`, so that a host resolving through systemd-resolved or mDNS (which
 * would bypass the namespace's network) still asks the cluster DNS from inside the pod.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { KpfError } from '../../core/errors.js';

export const NETNS_ETC = '/etc/netns';

export function resolvConfText(nameservers: readonly string[], podNamespace: string, domain = 'cluster.local', extraOptions: readonly string[] = []): string {
  return (
    nameservers.map((n) => `nameserver ${n}`).join('\n') +
    `\nsearch ${podNamespace}.svc.${domain} svc.${domain} ${domain}\noptions ndots:5${extraOptions.length ? ' ' + extraOptions.join(' ') : ''}\n`
  );
}

export const NSSWITCH_TEXT = 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\n';

/** Tracks the /etc/netns/NAME directories written, to remove them all on stop. */
export class NetnsEtc {
  private readonly dirs = new Set<string>();

  /** Writes /etc/netns/NETNS/resolv.conf (+ nsswitch.conf when the host has one). */
  write(netns: string, resolvConf: string): void {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(netns)) throw new KpfError('KPF_ERR_LIVE', `invalid namespace name ${netns}`);
    if (!existsSync('/etc/resolv.conf')) {
      throw new KpfError('KPF_ERR_LIVE', 'pod DNS needs an /etc/resolv.conf on the host (ip netns exec bind-mounts over it): create an empty one');
    }
    const dir = `${NETNS_ETC}/${netns}`;
    this.dirs.add(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/resolv.conf`, resolvConf);
    if (existsSync('/etc/nsswitch.conf')) writeFileSync(`${dir}/nsswitch.conf`, NSSWITCH_TEXT);
  }

  /** Removes every directory written (idempotent). */
  removeAll(): void {
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs.clear();
  }

  get written(): string[] {
    return [...this.dirs];
  }
}
