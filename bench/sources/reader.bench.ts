/**
 * records/s of kpf's pcap reader vs pcap-parser 0.2.1 vs `tcpdump -r F -w /dev/null`, same file, same run.
 * Run: see bench/README.md.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { openCapture } from '../../src/sources/capture.js';
import { benchPcap, fileInfo, mpps, N, now, tcpdumpSeconds } from '../common.js';

const f = benchPcap();
const RUNS = Number(process.env.RUNS ?? 5);

async function kpf(reuse: boolean): Promise<[number, number]> {
  const t0 = now();
  let n = 0;
  let acc = 0;
  const r = await openCapture(f, { reuse });
  for await (const b of r) {
    n += b.count;
    acc += b.capLens[b.count - 1];
  }
  if (acc < 0) console.log(acc);
  return [n, now() - t0];
}

function pcapParser(): Promise<[number, number]> {
  const require = createRequire(import.meta.url);
  const pp = require('pcap-parser') as { parse(s: string): EventEmitter };
  return new Promise((res, rej) => {
    const t0 = now();
    let n = 0;
    const p = pp.parse(f);
    p.on('packet', () => n++);
    p.on('end', () => res([n, now() - t0]));
    p.on('error', rej);
  });
}

const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`# reader benchmark: ${fileInfo(f)}, ${N} records of 64 B, node ${process.version}`);
const first = await kpf(false);
const k: number[] = [];
const kr: number[] = [];
for (let i = 0; i < RUNS; i++) k.push((await kpf(false))[1]);
for (let i = 0; i < RUNS; i++) kr.push((await kpf(true))[1]);
const pp: number[] = [];
let ppN = 0;
for (let i = 0; i < Math.min(RUNS, 3); i++) {
  const [n, s] = await pcapParser();
  ppN = n;
  pp.push(s);
}
const td = tcpdumpSeconds(f, RUNS);
const kS = med(k);
console.log(`kpf reader (fresh batches)   1st ${mpps(first[0], first[1])} Mrec/s, median ${mpps(first[0], kS)} Mrec/s (${kS.toFixed(3)} s)`);
console.log(`kpf reader (reuse buffers)   median ${mpps(first[0], med(kr))} Mrec/s (${med(kr).toFixed(3)} s)`);
console.log(`pcap-parser 0.2.1            median ${mpps(ppN, med(pp))} Mrec/s (${med(pp).toFixed(3)} s), ${ppN} records`);
if (td !== null) console.log(`tcpdump -r F -w /dev/null    median ${mpps(N, td)} Mrec/s (${td.toFixed(3)} s, whole process)`);
else console.log('tcpdump not installed: skipped');
console.log(`ratios: kpf/pcap-parser = ${(med(pp) / kS).toFixed(2)}x` + (td !== null ? `, kpf/tcpdump = ${(td / kS).toFixed(2)}x` : ''));
