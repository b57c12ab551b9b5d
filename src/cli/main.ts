/**
 * kpf's command line: sub-command dispatch (the usage, the version, each command loaded when run). Errors become
 * messages and exit codes in cli/run-command.ts.
 */
import type { Io } from './io.js';
import { runCommand, type Command } from './run-command.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  validate: { summary: 'validate manifests as the API server would, and lint the policies', load: () => import('./commands/validate.js') },
  get: { summary: 'show pods, services, networkpolicies, namespaces as kpf models them', load: () => import('./commands/get.js') },
  explain: { summary: 'is this connection allowed, and why', load: () => import('./commands/explain.js') },
  compile: { summary: 'compile the policies: endpoints, identities, ipcache, per-pod policy maps (cilium-dbg style)', load: () => import('./commands/compile.js') },
  matrix: { summary: 'reachability truth table of pods and Services', load: () => import('./commands/matrix.js') },
  gen: { summary: "generate captures: the lab's traffic, or synthetic traffic for a cluster", load: () => import('./commands/gen.js') },
  replay: { summary: 'replay a pcap/pcapng capture: a verdict for every packet, and the rule that decided it', load: () => import('./commands/replay.js') },
  bench: { summary: 'generate a capture for a synthetic cluster and replay it: packets/s per worker count', load: () => import('./commands/bench.js') },
  live: { summary: 'run the policies on real traffic between network namespaces (TUN devices); exec into a pod', load: () => import('./commands/live.js') },
  watch: { summary: 'audit mode: the verdict the policies would give every packet seen on a device (libpcap)', load: () => import('./commands/watch.js') },
  probe: { summary: "reachability probes from the pod namespaces of kpf live, beside kpf matrix's truth table", load: () => import('./commands/probe.js') },
  lab: { summary: 'the network-policies-by-example lab, step by step, against its stated results', load: () => import('./commands/lab.js') },
};

export { VERSION } from '../version.js';
import { VERSION } from '../version.js';

function usage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return [
    'kpf — a userspace Kubernetes NetworkPolicy dataplane',
    '',
    'Usage: kpf <command> [flags]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    '',
    'Manifests are read like kubectl reads them: -f FILE|DIR|- (repeatable), -R to recurse, multi-document YAML,',
    'kind: List. Run `kpf <command> --help` for a command\'s flags.',
    '',
  ].join('\n');
}

/** Runs one command line; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    io.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'version' || cmd === '--version') {
    io.stdout.write(`kpf ${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    io.stderr.write(`error: unknown command "${cmd}" for "kpf"\nRun 'kpf --help' for usage.\n`);
    return 2;
  }
  return runCommand(cmd, entry.load, rest, io);
}
