/**
 * The body of `kpf replay` (commands/replay.ts parses the flags and starts the worker pool first, then imports this):
 * load and compile the manifests, replay the capture through the pool, write the outputs.
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { SemanticsOptions } from '../../core/options.js';
import { PacketVerdict } from '../../datapath/classify.js';
import type { Snapshot } from '../../datapath/snapshot.js';
import { compile, type Compiled } from '../../policy/compile.js';
import { buildSnapshot } from '../../policy/snapshot.js';
import { replay, type ReplayBatch, type ReplayOptions, type ReplaySink, type ReplaySummary } from '../../replay/engine.js';
import { RecordContext } from '../../replay/records.js';
import { ReplayStats, metricsText, summaryText } from '../../replay/stats.js';
import { compactLine, jsonLine, jsonpbLine } from '../../sinks/flow.js';
import { PcapWriter } from '../../sinks/pcap-writer.js';
import type { ShardedPool } from '../../workers/pool.js';
import { describeSemantics, type Values } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';
import { writeOut } from '../write.js';
import { UsageError } from '../../core/errors.js';
import { int } from './replay.js';

export interface ReplayRun {
  v: Values;
  capture: string;
  fmt: 'compact' | 'json' | 'jsonpb' | 'summary';
  sem: SemanticsOptions;
  ropts: Partial<ReplayOptions>;
  nodeName: string;
  /** started by the caller; destroyed here (also on errors) */
  pool: ShardedPool;
  io: Io;
}

export async function runReplay({ v, capture, fmt, sem, ropts, nodeName, pool, io }: ReplayRun): Promise<number> {
  let compiled: Compiled;
  let snapshot: Snapshot;
  try {
    const loaded = await loadFromFlags(v, io);
    printDiagnostics(io, loaded.diagnostics, false);
    compiled = compile(loaded.cluster, { semantics: sem, policyMapMax: int(v, 'policy-map-max', 1, 16384) });
    snapshot = buildSnapshot(compiled, { shared: true });
    if (capture === '-' && !io.stdin) throw new UsageError('no standard input to read the capture from');
  } catch (e) {
    await pool.destroy();
    throw e;
  }
  const ctx = new RecordContext(compiled, snapshot);
  const stats = new ReplayStats(fmt === 'summary');
  const labelsOf = (id: number) => compiled.identityById.get(id)?.labels ?? [];
  let allowedW: PcapWriter | undefined;
  let droppedW: PcapWriter | undefined;
  let writersLinkType = -1;
  // the pcap outputs have the timestamps' precision of a classic pcap capture (nanoseconds for pcapng's), so that a
  // record is written as it was read (PcapWriter.writeHeld copies runs of such records whole)
  let nanos = true;
  const openWriters = (linkType: number) => {
    writersLinkType = linkType;
    if (typeof v['write-allowed'] === 'string') allowedW = new PcapWriter(v['write-allowed'], { linkType, nanos });
    if (typeof v['write-dropped'] === 'string') droppedW = new PcapWriter(v['write-dropped'], { linkType, nanos });
  };
  const progress = (v['progress'] === true || (io.stderr.isTTY === true && v['no-progress'] !== true)) && fmt !== 'summary';
  const t0 = performance.now();
  let lastProgress = 0;
  let mixedLinkTypes = false;

  let input: string | Readable = capture;
  if (capture === '-') input = io.stdin as Readable;
  const writers = typeof v['write-allowed'] === 'string' || typeof v['write-dropped'] === 'string';
  /** Writes the batch's records to --write-allowed / --write-dropped by verdict. */
  const writePackets = async ({ records, verdicts }: ReplayBatch): Promise<void> => {
    const { buf, offsets, capLens, wireLens, tsSec, tsNsec, linkTypes } = records;
    const verdict = verdicts.verdict;
    for (let i = 0; i < verdicts.count; i++) {
      const lt = linkTypes[i]!;
      if (lt !== writersLinkType) {
        if (writersLinkType >= 0) {
          mixedLinkTypes = true;
          continue;
        }
        openWriters(lt);
      }
      const w = verdict[i] === PacketVerdict.FORWARDED ? allowedW : droppedW;
      if (w !== undefined && !w.writeHeld(buf, offsets[i]!, capLens[i]!, wireLens[i]!, tsSec[i]!, tsNsec[i]!)) await w.drain();
    }
    // the batch's memory is reused once this returns
    allowedW?.settle();
    droppedW?.settle();
  };
  const sink: ReplaySink = {
    opened(reader) {
      if (reader.format === 'pcap') nanos = reader.nanos;
    },
    async batch(b) {
      const { records, verdicts } = b;
      stats.addBatch(records, verdicts);
      if (writers) await writePackets(b);
      if (fmt !== 'summary') {
        const lines: string[] = [];
        for (let i = 0; i < verdicts.count; i++) {
          const r = ctx.record(records, verdicts, i);
          lines.push(fmt === 'json' ? jsonLine(r) : fmt === 'compact' ? compactLine(r) : jsonpbLine(r, labelsOf, nodeName));
        }
        await writeOut(io.stdout, lines.join('\n') + '\n');
      }
      if (progress) {
        const now = performance.now();
        if (now - lastProgress > 250) {
          lastProgress = now;
          const pps = stats.records / ((now - t0) / 1000);
          io.stderr.write(`\r${stats.records} records  ${(pps / 1e6).toFixed(2)} Mpps  forwarded ${stats.forwarded}  dropped ${stats.dropped}   `);
        }
      }
    },
  };
  // -o summary needs counts only: with several workers they count their own records (unless the pcap outputs need
  // every record's verdict here), with one worker its module counts the established packets (the pcap outputs then
  // take every record's verdict from the batch, which the module wrote for all of them)
  if (fmt === 'summary') {
    if (!writers) {
      sink.trackFlows = true;
      sink.counts = (parts) => {
        for (const c of parts) stats.merge(c);
      };
    }
    sink.listed = async (b) => {
      const { records, verdicts, counts, list, desc } = b;
      stats.merge(counts);
      stats.add(records.buf, records.offsets, records.capLens, records.wireLens, records.linkTypes, verdicts, 0, list.length, list, desc);
      if (writers) await writePackets(b);
    };
  }
  // (the pool's threads exit while the output is written: ~5 ms of the replay's end)
  const summary: ReplaySummary = await replay(input, snapshot, { ...ropts, deferDestroy: true }, sink, pool);
  try {
    if (progress) io.stderr.write('\r\u001b[K');
    await allowedW?.close();
    await droppedW?.close();
    if (mixedLinkTypes) io.stderr.write('Warning: the capture has several link types; --write-allowed/--write-dropped kept only the first one\'s packets\n');
    // (node:fs/promises loaded only here: ~1 ms of every replay's start-up otherwise; by require: in the script bundle
    // import() has no loader)
    if (typeof v['metrics'] === 'string') {
      const { writeFile } = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
      await writeFile(v['metrics'], metricsText(stats, compiled, summary));
    }
    const header = `kpf replay: ${summary.records} records, ${stats.forwarded} forwarded, ${stats.dropped} dropped, ${summary.wallSeconds.toFixed(3)} s, ${ropts.workers} worker(s); switches ${Object.entries(describeSemantics(sem)).map(([k, x]) => `--${k}=${x}`).join(' ')}`;
    if (fmt === 'summary') await writeOut(io.stdout, summaryText(stats, compiled, summary));
    else io.stderr.write(header + '\n');
    if (summary.defaultVerdicts) io.stderr.write(`Warning: ${summary.defaultVerdicts} records got the default verdict (${ropts.failOpen ? 'FORWARDED' : 'DROPPED'}, WORKER_FAILED) after ${summary.workerFailures} worker failure(s)\n`);
    if (summary.error) {
      io.stderr.write(`error: ${summary.error.message}\n`);
      return 3;
    }
    return summary.defaultVerdicts ? 3 : 0;
  } finally {
    await summary.destroyed;
  }
}
