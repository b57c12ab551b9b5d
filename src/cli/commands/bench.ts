/**
 * `kpf bench`: generate a capture for a synthetic cluster and replay it, printing packets/s for the whole run and for
 * the steady state (from the first batch on), per worker count.
 */
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { buildCluster } from '../../cluster/build.js';
import { ManifestError, UsageError } from '../../core/errors.js';
import { benchCluster } from '../../gen/cluster.js';
import { DEFAULT_TRAFFIC, generateTraffic } from '../../gen/traffic.js';
import { compile } from '../../policy/compile.js';
import { buildSnapshot } from '../../policy/snapshot.js';
import { MAX_WORKERS } from '../../replay/pool-limits.js';
import { replay } from '../../replay/engine.js';
import { COMMON_OPTIONS, parse, type Values } from '../args.js';
import type { Io } from '../io.js';
import { outputFormat, toJson } from '../output.js';

export const HELP = `Benchmark replay: generate a capture for a synthetic cluster and replay it.

Usage: kpf bench [--packets 5M] [--flows 100k] [--frame-size 64] [--pods 200] [--policies 50]
                 [--workers 1,2] [--batch-size 16384] [--seed 1] [--capture FILE] [-o text|json]

--capture replays an existing capture instead (with the same synthetic cluster unless -f is added to kpf replay).
Prints, per worker count, packets/s over the whole run (start-up, reading, workers, merge) and from the first
batch on (steady state), and the share of packets denied.
`;

function count(v: Values, flag: string, dflt: number): number {
  const s = v[flag];
  if (s === undefined) return dflt;
  const m = typeof s === 'string' ? /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s) : null;
  if (!m) throw new UsageError(`invalid --${flag} "${String(s)}" (a number, optionally with k or M)`);
  const n = Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1e3 : m[2]!.toLowerCase() === 'm' ? 1e6 : 1);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`invalid --${flag} "${s}"`);
  return n;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(
    argv,
    {
      ...COMMON_OPTIONS,
      packets: { type: 'string' },
      flows: { type: 'string' },
      'frame-size': { type: 'string' },
      pods: { type: 'string' },
      policies: { type: 'string' },
      workers: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      capture: { type: 'string' },
    },
    false,
  );
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const fmt = outputFormat(v['output'], ['text', 'json']);
  const packets = count(v, 'packets', 5_000_000);
  const flows = count(v, 'flows', 100_000);
  const frameSize = count(v, 'frame-size', 64);
  const pods = count(v, 'pods', 200);
  const policies = count(v, 'policies', 50);
  const seed = count(v, 'seed', 1);
  const batchSize = count(v, 'batch-size', 16384);
  const workerCounts = (typeof v['workers'] === 'string' ? v['workers'] : '1,2').split(',').map((w) => {
    if (!/^\d+$/.test(w) || Number(w) < 1 || Number(w) > MAX_WORKERS) throw new UsageError(`invalid --workers "${v['workers']}" (e.g. 1,2; each 1 to ${MAX_WORKERS})`);
    return Number(w);
  });
  const built = buildCluster(benchCluster({ pods, policies, namespaces: Math.max(1, Math.round(pods / 20)) }), {});
  if (built.diagnostics.some((d) => d.severity === 'error')) throw new ManifestError(built.diagnostics);
  const compiled = compile(built.cluster);
  const snapshot = buildSnapshot(compiled, { shared: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-bench-'));
  try {
    let capture = typeof v['capture'] === 'string' ? v['capture'] : '';
    let genSeconds = 0;
    if (!capture) {
      capture = path.join(dir, 'bench.pcap');
      const out = createWriteStream(capture);
      const t0 = performance.now();
      await generateTraffic(built.cluster, { ...DEFAULT_TRAFFIC, packets, flows, frameSize, seed, externalShare: 0.1 }, async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      });
      out.end();
      await once(out, 'finish');
      genSeconds = (performance.now() - t0) / 1000;
      io.stderr.write(`generated ${packets} packets (${flows} flows, ${frameSize}-byte frames) in ${genSeconds.toFixed(2)} s; ${compiled.policies.length} policies over ${compiled.endpoints.length} pods\n`);
    }
    const results: Array<{ workers: number; records: number; denied: number; wallSeconds: number; steadySeconds: number; mppsWhole: number; mppsSteady: number }> = [];
    for (const workers of workerCounts) {
      const t0 = performance.now();
      // the verdicts are only counted (the engine's summary), as for -o summary: with several workers by the workers
      // themselves, with one the established packets by its module and the other records on this thread
      const s = await replay(capture, snapshot, { workers, batchSize }, { batch() {}, counts() {}, listed() {}, trackFlows: false });
      const wall = (performance.now() - t0) / 1000;
      if (s.error) throw s.error;
      const r = {
        workers,
        records: s.records,
        denied: s.dropped,
        wallSeconds: wall,
        steadySeconds: s.steadySeconds,
        mppsWhole: s.records / wall / 1e6,
        mppsSteady: s.steadySeconds > 0 ? s.records / s.steadySeconds / 1e6 : 0,
      };
      results.push(r);
      if (fmt === 'text') {
        io.stdout.write(
          `workers ${workers}: ${r.records} packets in ${wall.toFixed(3)} s: ${r.mppsWhole.toFixed(3)} Mpps whole run, ${r.mppsSteady.toFixed(3)} Mpps steady state; ${((100 * r.denied) / Math.max(1, r.records)).toFixed(1)}% denied\n`,
        );
      }
    }
    if (fmt === 'json') io.stdout.write(toJson({ packets, flows, frameSize, pods: compiled.endpoints.length, policies: compiled.policies.length, batchSize, generateSeconds: genSeconds, results }));
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
