/**
 * `kpf gen lab|traffic`: write captures — the lab's traffic (src/gen/lab.ts) or deterministic synthetic traffic
 * for a cluster (src/gen/traffic.ts) — as classic pcap to a file or to stdout (`-o -`).
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { labCaptureBytes, labTraffic, loadLabCluster } from '../../gen/lab.js';
import {
  checkTrafficOptions,
  DEFAULT_TRAFFIC,
  generateTraffic,
  MAX_FRAME_SIZE,
  MIN_FRAME_SIZE,
  type ChunkSink,
  type TrafficMix,
  type TrafficOptions,
  type TrafficSummary,
} from '../../gen/traffic.js';
import { LOAD_OPTIONS, parse } from '../args.js';
import type { Io } from '../io.js';
import { loadFromFlags, printDiagnostics } from '../load.js';

export const HELP = `Generate packet captures.

Usage:
  kpf gen lab -o FILE|-
  kpf gen traffic -f FILE|DIR...|--lab -o FILE|- [--packets N] [--flows F] [--frame-size B]
                  [--mix tcp=70,udp=25,icmp=5] [--seed S] [--external-share P] [--quiet]

lab      the connectivity checks of the network-policies-by-example lab as full exchanges (DNS query and
         answer; TCP handshake, GET /, 200 OK, FIN teardown), from prod-nginx/debug and myhackns/othernspod, to
         the Service ClusterIP, the first nginx pod and cloudyuga.guru (203.0.113.80); addresses from the lab
         cluster built from examples/lab. Byte for byte the same on every run (captures/lab.pcap is this output).

traffic  deterministic synthetic traffic between the cluster's pods, Service ClusterIPs and the outside:
         TCP flows (SYN, SYN-ACK, ACK, data, FIN), UDP request/response, ICMP echo; IPv6 where pods have it.
  --packets N          packets to write, exactly (default ${DEFAULT_TRAFFIC.packets}; k and M suffixes: 5M)
  --flows F            flows to spread them over (default ${DEFAULT_TRAFFIC.flows})
  --frame-size B       bytes per frame as captured, FCS not included, ${MIN_FRAME_SIZE}-${MAX_FRAME_SIZE} (default ${DEFAULT_TRAFFIC.frameSize});
                       data fills the frame, other packets are zero-padded; IPv6 needs at least 75 (TCP) or 62 (UDP, ICMPv6)
  --mix tcp=T,udp=U,icmp=I   share of packets (and flows) per protocol; weights, missing ones are 0
                       (default tcp=70,udp=25,icmp=5)
  --seed S             PRNG seed, 0-4294967295 (default 1); same seed, same bytes
  --external-share P   fraction of flows to or from outside the cluster, 0-1 or a percentage (default 0.1)
  --quiet              no summary on stderr

Output is classic pcap (little-endian, microsecond timestamps, Ethernet) starting at 2026-11-26T10:00:00Z.
-o - writes to stdout (refused when stdout is a terminal).
`;

/** Parses `5000000`, `5M`, `500k`, `5_000_000`. */
function count(flag: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const m = /^(\d[\d_]*)([kKmM]?)$/.exec(String(v));
  if (!m) throw new UsageError(`invalid value for --${flag}: "${String(v)}" (expected a whole number, e.g. 5000000 or 5M)`);
  const n = Number(m[1]!.replace(/_/g, '')) * (m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6);
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid value for --${flag}: "${String(v)}"`);
  return n;
}

/** Parses `tcp=70,udp=25,icmp=5`. */
export function parseMix(s: string): TrafficMix {
  const mix: TrafficMix = { tcp: 0, udp: 0, icmp: 0 };
  const seen = new Set<string>();
  for (const part of s.split(',')) {
    const m = /^\s*(tcp|udp|icmp)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*$/i.exec(part);
    if (!m) throw new UsageError(`invalid --mix "${s}" (expected e.g. tcp=70,udp=25,icmp=5)`);
    const k = m[1]!.toLowerCase() as keyof TrafficMix;
    if (seen.has(k)) throw new UsageError(`invalid --mix "${s}": ${k} given twice`);
    seen.add(k);
    mix[k] = Number(m[2]);
  }
  if (mix.tcp + mix.udp + mix.icmp <= 0) throw new UsageError(`invalid --mix "${s}": at least one weight must be above 0`);
  return mix;
}

function share(v: unknown): number {
  if (v === undefined) return DEFAULT_TRAFFIC.externalShare;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(String(v).trim());
  const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(n >= 0 && n <= 1)) throw new UsageError(`invalid value for --external-share: "${String(v)}" (expected 0-1, e.g. 0.1, or 10%)`);
  return n;
}

type BinaryOut = { write(b: Uint8Array): boolean; once?(ev: 'drain', f: () => void): unknown };

/** A sink for `-o FILE` (synchronous writes to a file descriptor) or `-o -` (io.stdout, with back-pressure). */
function openOutput(target: string, io: Io): { sink: ChunkSink; close(): void; name: string } {
  if (target === '-') {
    if (io.stdout.isTTY) throw new UsageError('refusing to write a binary capture to a terminal; use -o FILE or a pipe');
    const out = io.stdout as unknown as BinaryOut;
    return {
      name: 'stdout',
      sink: (chunk) => {
        // the chunk is reused after we return: hand the stream a copy
        if (!out.write(Buffer.from(chunk)) && typeof out.once === 'function') {
          return new Promise<void>((resolve) => out.once!('drain', resolve));
        }
        return undefined;
      },
      close: () => {},
    };
  }
  const file = path.resolve(io.cwd ?? process.cwd(), target);
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw new UsageError(`cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return {
    name: target,
    sink: (chunk) => {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    close: () => closeSync(fd),
  };
}

function outputTarget(v: Record<string, unknown>): string {
  const o = v['output'];
  if (typeof o !== 'string' || o === '') throw new UsageError('-o FILE (or -o - for stdout) is required');
  return o;
}

async function runLab(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { help: { type: 'boolean', short: 'h' }, output: { type: 'string', short: 'o' }, quiet: { type: 'boolean', short: 'q' } }, false);
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const target = outputTarget(v);
  const lab = labTraffic(await loadLabCluster());
  const bytes = await labCaptureBytes(lab);
  const out = openOutput(target, io);
  try {
    const r = out.sink(bytes);
    if (r) await r;
  } finally {
    out.close();
  }
  if (!v['quiet']) {
    io.stderr.write(`wrote ${lab.frames.length} packets (${lab.exchanges.length} exchanges, ${bytes.length} bytes) to ${out.name}\n`);
  }
  return 0;
}

function describe(s: TrafficSummary, seconds: number, name: string): string {
  const pps = seconds > 0 ? Math.round(s.packets / seconds) : 0;
  const k = s.flowsByKind;
  return (
    `wrote ${s.packets} packets in ${s.flows} flows (${s.bytes} bytes) to ${name} in ${seconds.toFixed(2)} s (${pps} packets/s)\n` +
    `  packets: tcp ${s.packetsByProtocol.tcp}, udp ${s.packetsByProtocol.udp}, icmp ${s.packetsByProtocol.icmp}; ` +
    `flows: pod→pod ${k.podToPod}, pod→service ${k.podToService}, pod→external ${k.podToExternal}, external→pod ${k.externalToPod}, IPv6 ${s.ipv6Flows}` +
    (s.oversizeFrames ? `\n  ${s.oversizeFrames} frames are longer than --frame-size ${s.frameSize} (their headers do not fit)` : '') +
    '\n'
  );
}

async function runTraffic(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(
    argv,
    {
      help: { type: 'boolean', short: 'h' },
      output: { type: 'string', short: 'o' },
      ...LOAD_OPTIONS,
      packets: { type: 'string' },
      flows: { type: 'string' },
      'frame-size': { type: 'string' },
      mix: { type: 'string' },
      seed: { type: 'string' },
      'external-share': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (v['help']) {
    io.stdout.write(HELP);
    return 0;
  }
  const target = outputTarget(v);
  const opts: TrafficOptions = {
    packets: count('packets', v['packets'], DEFAULT_TRAFFIC.packets),
    flows: count('flows', v['flows'], DEFAULT_TRAFFIC.flows),
    frameSize: count('frame-size', v['frame-size'], DEFAULT_TRAFFIC.frameSize),
    mix: typeof v['mix'] === 'string' ? parseMix(v['mix']) : { ...DEFAULT_TRAFFIC.mix },
    seed: count('seed', v['seed'], DEFAULT_TRAFFIC.seed),
    externalShare: share(v['external-share']),
  };
  checkTrafficOptions(opts);
  const loaded = await loadFromFlags(v, io);
  if (!v['quiet']) printDiagnostics(io, loaded.diagnostics, false);
  const out = openOutput(target, io);
  const t0 = process.hrtime.bigint();
  let summary: TrafficSummary;
  try {
    summary = await generateTraffic(loaded.cluster, opts, out.sink);
  } catch (e) {
    out.close();
    // no half-written capture left behind
    if (target !== '-') rmSync(path.resolve(io.cwd ?? process.cwd(), target), { force: true });
    throw e;
  }
  out.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!v['quiet']) io.stderr.write(describe(summary, seconds, out.name));
  return 0;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'lab') return runLab(rest, io);
  if (sub === 'traffic') return runTraffic(rest, io);
  throw new UsageError(`unknown generator "${sub}" (choose lab or traffic)`);
}
