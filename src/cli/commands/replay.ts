/**
 * `kpf replay -f MANIFESTS… CAPTURE|-`: every record of a capture through the compiled dataplane on worker threads,
 * with its verdict and the policy and rule that decided it, in capture order.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../../core/errors.js';
import type { CtProfile } from '../../datapath/ct-timeouts.js';
import type { ReplayOptions } from '../../replay/engine.js';
import { MAX_WORKERS } from '../../replay/pool-limits.js';
import { COMMON_OPTIONS, LOAD_OPTIONS, SEMANTICS_OPTIONS, choice, parse, semanticsFrom, type Values } from '../args.js';
import type { Io } from '../io.js';
import { outputFormat } from '../output.js';

export const HELP = `Replay a capture against the manifests: a verdict for every packet, and why.

Usage: kpf replay -f FILE|DIR...|--lab CAPTURE|- [-o json|compact|jsonpb|summary] [flags]

Output (-o): json (one object per record, capture order; the default when stdout is not a terminal),
  compact (Hubble-style lines; the default on a terminal), jsonpb (Hubble GetFlowsResponse lines for
  \`hubble observe --input-file\`), summary (counts by verdict and reason, hits per rule, top dropped flows).
  --write-allowed FILE / --write-dropped FILE   the packets of each verdict as pcap files (with the capture's
                                                timestamp precision; nanoseconds for a pcapng capture)
  --metrics FILE                                Prometheus text exposition of kpf_* counters, written at the end
Workers: --workers N (default: cores - 1, at least 1), --batch-size N (default 16384, at least 1024),
  --fail-open (a worker failure forwards the packets it held instead of dropping them)
Datapath: --ct-pickup observed|either|off, --profile linux|cilium|calico, --ct-tcp-max N, --ct-any-max N,
  --verdict-cache-max N, --frag-max N, --no-frag-tracking, --verify-checksums,
  --on-policy-change keep|reevaluate (--strict = reevaluate)
Exit: 0 when the capture was read to the end (whatever the verdicts); 3 when it ended early on damage (the records
read before it have their verdicts) or when default verdicts were assigned; 1 on unusable input.
`;

export function int(v: Values, flag: string, min: number, dflt: number): number {
  const s = v[flag];
  if (s === undefined) return dflt;
  if (typeof s !== 'string' || !/^\d+$/.test(s) || Number(s) < min) throw new UsageError(`invalid --${flag} "${String(s)}" (a whole number ≥ ${min})`);
  return Number(s);
}

/** The per-packet pipeline's flags, shared by replay, live and watch (read by {@link replayOptionsFrom}). */
export const DATAPATH_OPTIONS = {
  'ct-pickup': { type: 'string' },
  profile: { type: 'string' },
  'ct-tcp-max': { type: 'string' },
  'ct-any-max': { type: 'string' },
  'verdict-cache-max': { type: 'string' },
  'frag-max': { type: 'string' },
  'no-frag-tracking': { type: 'boolean' },
  'verify-checksums': { type: 'boolean' },
} as const;

export const REPLAY_OPTIONS = {
  ...DATAPATH_OPTIONS,
  workers: { type: 'string' },
  'batch-size': { type: 'string' },
  'fail-open': { type: 'boolean' },
  'write-allowed': { type: 'string' },
  'write-dropped': { type: 'string' },
  metrics: { type: 'string' },
  'node-name': { type: 'string' },
  'policy-map-max': { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
} as const;

/** --workers: 1 to MAX_WORKERS (default: the cores but one). */
function workersFrom(v: Values): number {
  const n = int(v, 'workers', 1, Math.max(1, availableParallelism() - 1));
  if (n > MAX_WORKERS) throw new UsageError(`invalid --workers "${n}" (1 to ${MAX_WORKERS})`);
  return n;
}

/** Replay options from the flags (shared with `kpf bench` and `kpf lab`). */
export function replayOptionsFrom(v: Values): Partial<ReplayOptions> {
  const crash = process.env['KPF_TEST_CRASH_BATCH'];
  return {
    workers: workersFrom(v),
    batchSize: int(v, 'batch-size', 1024, 16384),
    failOpen: v['fail-open'] === true,
    classifier: {
      pickup: choice('ct-pickup', v['ct-pickup'], ['observed', 'either', 'off'] as const, 'observed'),
      fragTracking: v['no-frag-tracking'] !== true,
      verdictCacheMax: int(v, 'verdict-cache-max', 16, 65536),
      fragMax: int(v, 'frag-max', 16, 8192),
      conntrack: {
        tcpMax: int(v, 'ct-tcp-max', 16, 262144),
        anyMax: int(v, 'ct-any-max', 16, 131072),
        profile: choice('profile', v['profile'], ['linux', 'cilium', 'calico'] as const, 'linux') as CtProfile,
      },
      ...(v['verify-checksums'] ? { decode: { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 } } : {}),
    },
    ...(crash !== undefined && /^\d+$/.test(crash) ? { crashBatch: Number(crash) } : {}),
  };
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(argv, { ...COMMON_OPTIONS, ...LOAD_OPTIONS, ...SEMANTICS_OPTIONS, ...REPLAY_OPTIONS });
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('replay needs exactly one capture file (or - for stdin)');
  const capture = positionals[0]!;
  const fmt = outputFormat(v['output'], io.stdout.isTTY ? ['compact', 'json', 'jsonpb', 'summary'] : ['json', 'compact', 'jsonpb', 'summary']);
  const sem = semanticsFrom(v);
  const ropts = replayOptionsFrom(v);
  const nodeName = typeof v['node-name'] === 'string' ? v['node-name'] : 'kpf';
  // the worker threads boot on the other core while this one loads the rest of kpf and the manifests: the pool is
  // started before the replay's body is imported (a worker takes ~40 ms to boot, and then builds its tables). From a
  // built checkout both are in the replay's CLI bundle already (cli/boot.ts), and these imports only run their code.
  const { startPool } = await import('../../replay/pool-start.js');
  const pool = startPool(ropts);
  let run: typeof import('./replay-run.js');
  try {
    run = await import('./replay-run.js');
  } catch (e) {
    await pool.destroy();
    throw e;
  }
  return run.runReplay({ v, capture, fmt, sem, ropts, nodeName, pool, io });
}
