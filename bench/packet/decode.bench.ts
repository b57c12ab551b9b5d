/**
 * packets/s of kpf's decoder (Ethernet/IPv4/TCP|UDP → FlowKey) over the 64-byte-frame capture held in memory,
 * beside the reader alone and `tcpdump -r F -w /dev/null` (read + write, no decode) in the same run.
 * Run: see bench/README.md.
 */
import { FlowKey } from '../../src/core/flow-key.js';
import { decode } from '../../src/packet/decode.js';
import { defaultDecodeOptions, type DecodeOptions } from '../../src/packet/options.js';
import { openCapture, type RecordBatch } from '../../src/sources/capture.js';
import { benchPcap, fileInfo, mpps, N, now, tcpdumpSeconds } from '../common.js';

const f = benchPcap();
const batches: RecordBatch[] = [];
const t0 = now();
for await (const b of await openCapture(f)) batches.push(b);
const readS = now() - t0;
const total = batches.reduce((s, b) => s + b.count, 0);
const key = new FlowKey();

function pass(opts: DecodeOptions): [number, number] {
  let bad = 0;
  const s = now();
  for (let j = 0; j < batches.length; j++) {
    const b = batches[j];
    const buf = b.buf, off = b.offsets, cap = b.capLens, wire = b.wireLens, lt = b.linkTypes;
    for (let i = 0; i < b.count; i++) if (decode(lt[i], buf, off[i], cap[i], wire[i], key, opts) !== 0) bad++;
  }
  return [now() - s, bad];
}

console.log(`# decode benchmark: ${fileInfo(f)}, ${total} packets, node ${process.version}`);
const [first, bad] = pass(defaultDecodeOptions);
const warm: number[] = [];
for (let i = 0; i < 5; i++) warm.push(pass(defaultDecodeOptions)[0]);
const ck: DecodeOptions = { ...defaultDecodeOptions, verifyChecksums: true };
const [ckS, ckBad] = pass(ck);
const w = warm.sort((a, b) => a - b)[2];
const td = tcpdumpSeconds(f, 3);
console.log(`reader into memory            ${mpps(total, readS)} Mrec/s (${readS.toFixed(3)} s)`);
console.log(`decode 1st pass               ${mpps(total, first)} Mpps (${first.toFixed(3)} s), non-OK ${bad}`);
console.log(`decode warm (median of 5)     ${mpps(total, w)} Mpps (${w.toFixed(3)} s)`);
console.log(`decode + verify checksums     ${mpps(total, ckS)} Mpps, bad checksums ${ckBad}`);
if (td !== null) console.log(`tcpdump -r F -w /dev/null     ${mpps(N, td)} Mpps (whole process, no decode)`);
console.log(`ratios: decode-warm/tcpdump = ${td !== null ? (td / w).toFixed(2) + 'x' : 'n/a'}, (read+decode 1st)/tcpdump = ${td !== null ? (td / (readS + first)).toFixed(2) + 'x' : 'n/a'}`);
