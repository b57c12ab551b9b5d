/**
 * Test network namespaces for the watch and probe tests: two namespaces joined by a veth pair, addresses from the
 * benchmark range 198.18.0.0/15, no IPv6 chatter. Names start with `kpft-` (not `kpf-`: `kpf live` removes every
 * ownerless `kpf-` namespace at start, which would pull these away from under a test running beside a live test).
 * Everything is removed by the teardown registered before it is created.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Test } from 'tap';

export const PREFIX = 'kpft-';

export function ip(args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10_000 });
}

/** Why namespace tests cannot run here, or null. */
export function netnsUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip command (iproute2)';
  if (!existsSync('/proc/self/ns/net')) return 'no network namespaces';
  return null;
}

/**
 * Test options for a test that needs `why === null`: skipped with the reason, except with KPF_REQUIRE_LIVE=1, where
 * the test runs and must fail with {@link failUnless}.
 */
export function gate(why: string | null): { skip: string | false } {
  if (why === null || process.env['KPF_REQUIRE_LIVE'] === '1') return { skip: false };
  return { skip: why };
}

/** In a gated test: fails (KPF_REQUIRE_LIVE=1) when `why` is set; returns true when the test may go on. */
export function failUnless(t: Test, why: string | null): boolean {
  if (why === null) return true;
  t.fail(`KPF_REQUIRE_LIVE=1 but ${why}`);
  return false;
}

export interface Pair {
  nsA: string;
  nsB: string;
  devA: string;
  devB: string;
}

/**
 * Two namespaces A and B joined by a veth (devA in A, devB in B); `ipsA`/`ipsB` go on the veth ends as /24s (plus
 * `extraB` as /32s on B, with A routing them over the veth). `teardown` gets the cleanup before anything exists.
 */
export function makePair(teardown: (fn: () => void) => void, ipsA: string[], ipsB: string[], extraB: string[] = []): Pair {
  const tag = randomBytes(3).toString('hex');
  const p: Pair = { nsA: `${PREFIX}${tag}a`, nsB: `${PREFIX}${tag}b`, devA: `${PREFIX}${tag}x`, devB: `${PREFIX}${tag}y` };
  const remove = (): void => {
    for (const n of [p.nsA, p.nsB]) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
  };
  teardown(() => {
    remove();
    process.off('exit', remove);
  });
  // also when the test process is ended early (a timeout): 'exit' handlers still run for process.exit and signals tap sends
  process.on('exit', remove);
  ip(['netns', 'add', p.nsA]);
  ip(['netns', 'add', p.nsB]);
  ip(['-n', p.nsA, 'link', 'add', p.devA, 'type', 'veth', 'peer', 'name', p.devB, 'netns', p.nsB]);
  for (const [ns, dev, ips] of [
    [p.nsA, p.devA, ipsA],
    [p.nsB, p.devB, ipsB],
  ] as const) {
    ip(['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
    ip(['-n', ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none']);
    for (const a of ips) ip(['-n', ns, 'addr', 'add', `${a}/24`, 'dev', dev]);
    ip(['-n', ns, 'link', 'set', 'dev', dev, 'up']);
    // answers at once and every time: no ICMP rate limit inside the test namespaces
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0'], { stdio: 'ignore', timeout: 10_000 });
  }
  for (const a of extraB) {
    ip(['-n', p.nsB, 'addr', 'add', `${a}/32`, 'dev', p.devB]);
    ip(['-n', p.nsA, 'route', 'add', `${a}/32`, 'dev', p.devA]);
  }
  return p;
}

/** The node command line that runs a TypeScript file the way this test runs (tap's loader). */
export function nodeArgs(file: string): string[] {
  return [...process.execArgv, file];
}
