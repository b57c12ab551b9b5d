/**
 * `kpf replay -f MANIFESTS… CAPTURE|-`: every record of a capture through the compiled dataplane on worker threads,
 * with its verdict and the policy and rule that decided it, in capture order.
 */
import { availableParallelism } from 'node:os';
import { freshBundle, loadScriptBundle } from '../../core/bundle.js';
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
  --write-allowed FILE / --write-dropped FILE   the packets of each verdict as pcap files
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

/**
 * The replay body: its one-file bundle (scripts/bundle.mjs) when it is fresh (core/bundle.ts), run with V8's code
 * cache (~12 ms to load instead of ~40 for its ~75 modules, and ~15 ms less with the cache); else the module itself.
 * `saveCache` (bundle only) saves the code compiled during the run, when there was no usable cache.
 */
export async function loadRun(pool?: PoolStart): Promise<typeof import('./replay-run.js') & { saveCache?: () => void }> {
  const bundle = freshBundle(new URL('./replay-run.bundle.cjs', import.meta.url));
  if (!bundle) return import('./replay-run.js');
  // the replay body imports replay/pool-start (the engine starts a pool when handed none): the one loaded already
  const poolStart = new URL('../../replay/pool-start.js', import.meta.url).href;
  const b = await loadScriptBundle<typeof import('./replay-run.js')>(bundle, pool?.bundled ? new Map([[poolStart, pool.module]]) : undefined);
  return { ...b.exports, saveCache: b.saveCache };
}

/** replay/pool-start, and whether it came from its bundle (and how to save that bundle's code cache) */
export interface PoolStart {
  module: typeof import('../../replay/pool-start.js');
  bundled: boolean;
  saveCache?: () => void;
}

/**
 * replay/pool-start, which imports piscina: from its one-file bundle when fresh (dist/workers/pool-start.bundle.cjs,
 * piscina inlined, run with V8's code cache: ~4 ms instead of ~15 for piscina's modules one by one), else the module.
 */
export async function loadPoolStart(): Promise<PoolStart> {
  const bundle = freshBundle(new URL('../../workers/pool-start.bundle.cjs', import.meta.url));
  if (!bundle) return { module: await import('../../replay/pool-start.js'), bundled: false };
  const b = await loadScriptBundle<typeof import('../../replay/pool-start.js')>(bundle);
  return { module: b.exports, bundled: true, saveCache: b.saveCache };
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
  // started before anything else is imported (a worker takes ~40 ms to boot, and then builds its tables)
  const poolStart = await loadPoolStart();
  const pool = poolStart.module.startPool(ropts);
  let run: Awaited<ReturnType<typeof loadRun>>;
  try {
    run = await loadRun(poolStart);
  } catch (e) {
    await pool.destroy();
    throw e;
  }
  const code = await run.runReplay({ v, capture, fmt, sem, ropts, nodeName, pool, io });
  run.saveCache?.();
  poolStart.saveCache?.();
  return code;
}
