/**
 * Shared by the generator tests: read a capture, decode every record with checksum verification, and run the
 * gen command in-process with binary-safe output capture.
 */
import { spawnSync } from 'node:child_process';
import { FlowKey } from '../../src/core/flow-key.js';
import { wordsToIP } from '../../src/core/flow-key.js';
import type { Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/commands/gen.js';
import { decode, type DecodeOptions } from '../../src/packet/decode.js';
import { readAll, type Rec } from '../fixtures/captures/read-all.js';

export const VERIFY: DecodeOptions = { verifyChecksums: true, vlanMaxTags: 2, ipv6MaxExtHeaders: 4 };

/** The fields of a decoded record the tests look at. */
export interface Decoded {
  status: number;
  family: number;
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack: number;
  icmpType: number;
  ipLen: number;
  payloadOff: number;
  wire: number;
  cap: number;
  sec: number;
  nsec: number;
  data: Uint8Array;
}

/** Reads and decodes a whole capture (checksums verified). Throws on a reader error. */
export async function decodeCapture(input: Uint8Array | string): Promise<Decoded[]> {
  const { recs, err } = await readAll(input);
  if (err) throw err;
  const k = new FlowKey();
  return recs.map((r: Rec) => {
    const status = decode(r.lt, r.data, 0, r.cap, r.wire, k, VERIFY);
    return {
      status, family: k.family, proto: k.proto,
      src: wordsToIP(k.family, k.src0, k.src1, k.src2, k.src3), dst: wordsToIP(k.family, k.dst0, k.dst1, k.dst2, k.dst3),
      sport: k.sport, dport: k.dport, flags: k.tcpFlags, seq: k.tcpSeq, ack: k.tcpAck, icmpType: k.icmpType,
      ipLen: k.ipLen, payloadOff: k.payloadOff, wire: r.wire, cap: r.cap, sec: r.sec, nsec: r.nsec, data: r.data,
    };
  });
}

export const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
export const requireLive = process.env['KPF_REQUIRE_LIVE'] === '1';
export const tcpdumpSkip = !haveTcpdump && !requireLive ? 'tcpdump not installed (apt-get install -y tcpdump); set KPF_REQUIRE_LIVE=1 to fail instead' : false;

/** `tcpdump -nn -r FILE`: exit status, stdout lines and stderr. */
export function tcpdump(file: string, ...extra: string[]): { status: number | null; lines: string[]; stderr: string } {
  const r = spawnSync('tcpdump', ['-nn', '-r', file, ...extra], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

/** Runs `kpf gen …` in-process; stdout is collected as bytes (it carries pcap with `-o -`). */
export async function gen(argv: string[], opts: { cwd?: string; tty?: boolean } = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const chunks: Buffer[] = [];
  let stderr = '';
  const io: Io = {
    stdout: {
      write: (s: string | Uint8Array) => {
        chunks.push(typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
        return true;
      },
      ...(opts.tty ? { isTTY: true } : {}),
    },
    stderr: { write: (s: string) => (stderr += s) },
    cwd: opts.cwd ?? process.cwd(),
  };
  let code: number;
  try {
    code = await run(argv, io);
  } catch (e) {
    // what src/cli/main.ts does with errors, reduced to the exit code and message
    const err = e as { exitCode?: number; message?: string };
    stderr += `error: ${err.message}\n`;
    code = typeof err.exitCode === 'number' ? err.exitCode : 1;
  }
  return { code, stdout: Buffer.concat(chunks), stderr };
}
