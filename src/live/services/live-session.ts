/**
 * Adapter over live-core's building blocks (../netns.ts LiveNetwork, ../dataplane.ts LiveDataplane), doing what
 * `kpf live` (src/cli/commands/live.ts) does at start and stop, as an API: one namespace per live pod (named by
 * podNetnsName) plus the outside world, the dataplane thread on their TUNs, revision swaps that resolve once the
 * thread has the new revision in force, and commands run inside a pod's namespace.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Pod } from '../../cluster/model.js';
import { KpfError } from '../../core/errors.js';
import { PacketVerdict, type ClassifierOptions } from '../../datapath/classify.js';
import type { Published } from '../../policy/revisions.js';
import { LiveDataplane } from '../dataplane.js';
import { LiveNetwork, NETNS_PREFIX, WORLD_NETNS, cleanupStale, listNetns, ownedByLiveProcess, podNetnsName } from '../netns.js';
import { execInNetns, type ExecResult } from './netns-exec.js';

export interface LiveSessionOptions {
  classifier?: ClassifierOptions;
  /** answer denied packets (TCP RST / ICMP admin-prohibited) instead of dropping them */
  reject?: boolean;
  /** external addresses the outside world's namespace holds */
  worldIps?: readonly string[];
  /**
   * When another kpf live (another process) holds `kpf-` namespaces, wait up to this long for it to finish before
   * starting (default 0: fail at once, as kpf live does). One machine runs one kpf live at a time.
   */
  waitForOtherMs?: number;
  /**
   * 'documented' (default): podNetnsName() and kpf-world, as kpf live, so `kpf live exec NS/POD` reaches them;
   * 'unique': names salted with this run (kpf-<10 hex>), so a concurrent run that tears down the documented names
   * cannot remove this run's namespaces (tests).
   */
  names?: 'documented' | 'unique';
}

/** The namespaces held by another running kpf live, with their owner pids. */
export function otherLiveRuns(): Array<{ netns: string; pid: number }> {
  const out: Array<{ netns: string; pid: number }> = [];
  for (const n of listNetns()) {
    if (!n.startsWith(NETNS_PREFIX)) continue;
    const o = ownedByLiveProcess(n);
    if (o) out.push({ netns: n, pid: o.pid });
  }
  return out;
}

/** Waits until no other kpf live holds namespaces; throws after `timeoutMs`. */
export async function waitForOtherLive(timeoutMs: number, pollMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = otherLiveRuns();
    if (others.length === 0) return;
    if (Date.now() >= deadline) {
      throw new KpfError('KPF_ERR_LIVE', `another kpf live is running (pid ${others[0]!.pid}, namespace ${others[0]!.netns}) after waiting ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The pods that get a namespace: live, with IPs of their own, not on the host network (as kpf live). */
export function livePods(cluster: Cluster): Pod[] {
  return cluster.pods.filter((p) => p.ips.length > 0 && !p.hostNetwork && p.ips.every((a) => cluster.podByIP.get(a) === p));
}

export class LiveSession {
  readonly net = new LiveNetwork();
  dp: LiveDataplane | undefined;
  /** `namespace/pod` → network namespace */
  readonly netnsByPod = new Map<string, string>();
  worldNetns: string = WORLD_NETNS;
  forwarded = 0;
  dropped = 0;
  /** set when the dataplane thread failed (traffic has stopped) */
  failure: Error | undefined;
  private revisionWaiters = new Map<number, () => void>();
  private inForce = 0;
  private stopped = false;

  private constructor(readonly opts: LiveSessionOptions) {}

  /**
   * Builds the namespaces of `cluster`'s live pods and the world, and starts forwarding under `published`.
   * Removes what a killed run left first; throws when another kpf live is running.
   */
  static async start(cluster: Cluster, published: Published, opts: LiveSessionOptions = {}): Promise<LiveSession> {
    const s = new LiveSession(opts);
    try {
      if (opts.waitForOtherMs) await waitForOtherLive(opts.waitForOtherMs);
      cleanupStale();
      const salt = `${process.pid}/${Date.now()}/${Math.random()}`;
      const nameOf = (key: string, documented: string): string =>
        opts.names === 'unique' ? NETNS_PREFIX + createHash('sha1').update(`${salt}/${key}`).digest('hex').slice(0, 10) : documented;
      s.worldNetns = nameOf('world', WORLD_NETNS);
      for (const p of livePods(cluster)) {
        const n = nameOf(`${p.namespace}/${p.name}`, podNetnsName(p.namespace, p.name));
        s.netnsByPod.set(`${p.namespace}/${p.name}`, n);
        s.net.attach(n, `${p.namespace}/${p.name}`, p.ips);
      }
      const taken = new Set(livePods(cluster).flatMap((p) => p.ips));
      const world = [...new Set(opts.worldIps ?? [])].filter((a) => !taken.has(a) && !cluster.serviceByIP.has(a));
      s.net.attach(s.worldNetns, 'world', world);
      const dp = new LiveDataplane(s.net.attachments, published, { ...(opts.classifier ? { classifier: opts.classifier } : {}), reject: opts.reject === true });
      s.dp = dp;
      dp.onBatch = (b) => {
        for (let i = 0; i < b.verdicts.count; i++) {
          if (b.verdicts.verdict[i] === PacketVerdict.FORWARDED) s.forwarded++;
          else s.dropped++;
        }
      };
      dp.onError = (e) => {
        s.failure = e;
      };
      dp.onRevision = (r) => {
        s.inForce = r;
        for (const [rev, f] of s.revisionWaiters) {
          if (rev <= r) {
            s.revisionWaiters.delete(rev);
            f();
          }
        }
      };
      s.inForce = published.revision;
      await dp.start();
      return s;
    } catch (e) {
      await s.stop();
      throw e;
    }
  }

  /** The namespace of `namespace/pod` (throws when the pod has none). */
  netnsOf(podKey: string): string {
    const n = this.netnsByPod.get(podKey);
    if (!n) throw new KpfError('KPF_ERR_LIVE', `no live namespace for ${podKey}`);
    return n;
  }

  /** Swaps in a new revision; resolves once the dataplane thread has it in force. */
  async setRevision(p: Published, timeoutMs = 5000): Promise<void> {
    if (!this.dp) throw new KpfError('KPF_ERR_LIVE', 'live session not started');
    if (this.failure) throw this.failure;
    if (this.inForce >= p.revision) return;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.revisionWaiters.delete(p.revision);
        reject(new KpfError('KPF_ERR_LIVE', `revision ${p.revision} not in force after ${timeoutMs} ms`));
      }, timeoutMs);
      this.revisionWaiters.set(p.revision, () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.dp.setRevision(p);
    await done;
  }

  /** Runs a command inside a pod's namespace (hard timeout). */
  exec(podKey: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    return execInNetns(this.netnsOf(podKey), argv, timeoutMs);
  }

  /** Stops the dataplane thread and removes every namespace (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.dp?.stop();
    } finally {
      this.net.destroy();
    }
  }

  /** Synchronous teardown for process exit handlers: removes the namespaces (the thread dies with the process). */
  destroySync(): void {
    this.stopped = true;
    this.net.destroy();
  }
}
