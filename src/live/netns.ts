/**
 * Network namespaces of `kpf live`: one per pod (`kpf-<10 hex of sha1(namespace/name)>`, 14 characters, also the
 * name of its TUN device) plus the outside world (`kpf-world`), each attached to kpf by one TUN.
 *
 * Inside a pod's namespace: lo up, the TUN up with the pod's IPs (/32, /128 nodad), default routes via the TUN
 * (no IPv6 link-local address unless the pod has an IPv6 address: `addrgenmode none`). The world's namespace holds
 * the external addresses kpf should answer for (e.g. the lab's 203.0.113.80) the same way.
 *
 * Everything created is tracked and removed on stop; an owner file `/run/kpf-live/<netns>` (`pid starttime`) marks
 * each namespace, so that a later start removes what a killed run left behind (its owner is dead) and refuses to
 * touch the namespaces of a `kpf live` still running.
 *
 * The devices are created in the root namespace (tun.ts) and moved in with `ip link set dev X netns NS`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { KpfError } from '../core/errors.js';
import { closeFd, openTun } from './tun.js';

export const NETNS_PREFIX = 'kpf-';
export const WORLD_NETNS = 'kpf-world';
export const OWNER_DIR = '/run/kpf-live';

/** Namespace (and TUN device) name of a pod: deterministic, ≤ 15 characters. */
export function podNetnsName(namespace: string, name: string): string {
  return NETNS_PREFIX + createHash('sha1').update(`${namespace}/${name}`).digest('hex').slice(0, 10);
}

/** Runs `ip ARGS…`; throws a KpfError with ip's message on failure. */
export function ip(args: string[], opts: { quiet?: boolean } = {}): string {
  try {
    return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10_000 });
  } catch (e) {
    if (opts.quiet) return '';
    const err = e as { stderr?: string; message: string; code?: string };
    if (err.code === 'ENOENT') throw new KpfError('KPF_ERR_LIVE', 'live mode needs the ip command (Debian package iproute2)');
    throw new KpfError('KPF_ERR_LIVE', `ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Names of the network namespaces in /run/netns (ip netns list). */
export function listNetns(): string[] {
  const out = ip(['netns', 'list'], { quiet: true });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Devices of the root namespace whose name starts with the kpf prefix. */
export function listKpfLinks(): string[] {
  const out = ip(['-o', 'link', 'show'], { quiet: true });
  const names: string[] = [];
  for (const l of out.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(l);
    if (m && m[1]!.startsWith(NETNS_PREFIX)) names.push(m[1]!);
  }
  return names;
}

/** Start time of a process (clock ticks since boot, /proc/PID/stat field 22), or null when it does not exist. */
export function processStart(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export interface Owner {
  pid: number;
  start: string;
}

export function readOwner(netns: string): Owner | null {
  try {
    const [pid, start] = readFileSync(`${OWNER_DIR}/${netns}`, 'utf8').trim().split(/\s+/);
    if (!pid || !/^\d+$/.test(pid)) return null;
    return { pid: Number(pid), start: start ?? '' };
  } catch {
    return null;
  }
}

/** True when the owner of `netns` is a process that is still running (and is not this one). */
export function ownedByLiveProcess(netns: string): Owner | null {
  const o = readOwner(netns);
  if (!o || o.pid === process.pid) return null;
  const st = processStart(o.pid);
  return st !== null && st === o.start ? o : null;
}

/**
 * Removes what a killed `kpf live` left: `kpf-` namespaces whose owner is gone, their owner files, and `kpf-`
 * devices in the root namespace. Throws when a namespace belongs to a `kpf live` that is still running.
 * Returns the names removed.
 */
export function cleanupStale(): string[] {
  const removed: string[] = [];
  const mine = listNetns().filter((n) => n.startsWith(NETNS_PREFIX));
  for (const n of mine) {
    const o = ownedByLiveProcess(n);
    if (o) throw new KpfError('KPF_ERR_LIVE', `another kpf live is running (pid ${o.pid}, namespace ${n}); stop it first`);
  }
  for (const n of mine) {
    ip(['netns', 'delete', n], { quiet: true });
    removed.push(n);
  }
  for (const d of listKpfLinks()) {
    ip(['link', 'delete', d], { quiet: true });
    removed.push(d);
  }
  if (existsSync(OWNER_DIR)) {
    for (const f of readdirSync(OWNER_DIR)) {
      if (!f.startsWith(NETNS_PREFIX)) continue;
      if (ownedByLiveProcess(f)) continue;
      rmSync(`${OWNER_DIR}/${f}`, { force: true });
    }
  }
  return removed;
}

/** Throws a clear error unless the process can build namespaces (root, /dev/net/tun, ip). */
export function checkLivePrivileges(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new KpfError('KPF_ERR_LIVE', 'kpf live needs root (it creates network namespaces and TUN devices): run it with sudo');
  }
  if (!existsSync('/dev/net/tun')) throw new KpfError('KPF_ERR_LIVE', 'kpf live needs /dev/net/tun (load the tun module: modprobe tun)');
  ip(['-V']);
}

/** One namespace attached to kpf by a TUN. */
export interface Attachment {
  /** namespace and TUN device name */
  netns: string;
  /** what it stands for: `namespace/pod`, or `world` */
  label: string;
  /** the IPs it owns (canonical text) */
  ips: string[];
  /** the TUN fd (in this process) */
  fd: number;
}

/**
 * The namespaces and devices of one `kpf live` run. Every creation is recorded before it is attempted, so that
 * {@link destroy} removes a half-built attachment too.
 */
export class LiveNetwork {
  readonly attachments: Attachment[] = [];
  private readonly netns = new Set<string>();
  private readonly fds = new Set<number>();
  private destroyed = false;

  /** Builds a namespace named `netns` with a TUN of the same name holding `ips`. */
  attach(netns: string, label: string, ips: readonly string[]): Attachment {
    if (this.destroyed) throw new KpfError('KPF_ERR_LIVE', 'live network already stopped');
    if (netns.length > 15) throw new KpfError('KPF_ERR_LIVE', `namespace name ${netns} is longer than 15 characters`);
    const v4 = ips.filter((a) => isIP(a) === 4);
    const v6 = ips.filter((a) => isIP(a) === 6);
    this.netns.add(netns);
    mkdirSync(OWNER_DIR, { recursive: true });
    writeFileSync(`${OWNER_DIR}/${netns}`, `${process.pid} ${processStart(process.pid) ?? ''}\n`);
    ip(['netns', 'add', netns]);
    const fd = openTun(netns);
    this.fds.add(fd);
    const dev = netns;
    ip(['link', 'set', 'dev', dev, 'netns', netns]);
    const n = ['-n', netns];
    ip([...n, 'link', 'set', 'dev', 'lo', 'up']);
    if (v6.length === 0) ip([...n, 'link', 'set', 'dev', dev, 'addrgenmode', 'none'], { quiet: true });
    for (const a of v4) ip([...n, 'addr', 'add', `${a}/32`, 'dev', dev]);
    for (const a of v6) ip([...n, 'addr', 'add', `${a}/128`, 'dev', dev, 'nodad']);
    ip([...n, 'link', 'set', 'dev', dev, 'up']);
    if (v4.length) ip([...n, '-4', 'route', 'add', 'default', 'dev', dev]);
    if (v6.length) ip([...n, '-6', 'route', 'add', 'default', 'dev', dev]);
    const a: Attachment = { netns, label, ips: [...v4, ...v6], fd };
    this.attachments.push(a);
    return a;
  }

  /** Closes every TUN and deletes every namespace and owner file of this run (idempotent, synchronous). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const fd of this.fds) {
      try {
        closeFd(fd);
      } catch {
        /* best effort */
      }
    }
    this.fds.clear();
    for (const n of this.netns) ip(['netns', 'delete', n], { quiet: true });
    // a device not yet moved into its namespace (a start that failed half-way) is in the root namespace
    const links = listKpfLinks();
    for (const n of this.netns) {
      if (links.includes(n)) ip(['link', 'delete', n], { quiet: true });
      rmSync(`${OWNER_DIR}/${n}`, { force: true });
    }
    this.netns.clear();
  }
}
