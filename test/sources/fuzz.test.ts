import t from 'tap';
import fc from 'fast-check';
import { CaptureFormatError } from '../../src/sources/errors.js';
import { openCapture } from '../../src/sources/capture.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { decode } from '../../src/packet/decode.js';
import * as B from '../fixtures/captures/builders.js';

const eth = [...B.sampleIPv4().map((p) => B.ethernet(0x0800, p)), ...B.sampleIPv6().map((p) => B.ethernet(0x86dd, p))];
const seeds = [
  B.pcapFile(eth.map((data, i) => ({ data, sec: i }))),
  B.pcapFile(eth.map((data, i) => ({ data, sec: i })), { le: false, nanos: true }),
  B.cat(B.ngShb(true), B.ngIdb(true, 1, { tsresol: 9 }), ...eth.map((d, i) => B.ngEpb(true, 0, BigInt(i), d)), B.ngSpb(true, eth[0])),
  B.cat(B.ngShb(false), B.ngIdb(false, 1), ...eth.map((d, i) => B.ngEpb(false, 0, BigInt(i), d)), B.ngShb(true), B.ngIdb(true, 101)),
];
const key = new FlowKey();

/** Reads the whole capture and decodes every packet; returns the record count or the CaptureFormatError. */
async function consume(data: Uint8Array): Promise<number> {
  let n = 0;
  try {
    const r = await openCapture(data, { bufferSize: 65536, maxBufferSize: 1 << 20 });
    for await (const b of r) {
      for (let i = 0; i < b.count; i++) decode(b.linkTypes[i], b.buf, b.offsets[i], b.capLens[i], b.wireLens[i], key);
      n += b.count;
    }
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
  }
  return n;
}

const mutation = fc.record({
  seed: fc.nat(seeds.length - 1),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
  absurd: fc.option(fc.tuple(fc.nat(), fc.constantFrom(0xffffffff, 0x7fffffff, 0x00fffff0, 0x10000000, 12, 0))),
  cut: fc.option(fc.nat()),
});

t.test('corrupted captures: only CaptureFormatError, no hang, bounded memory', async (t) => {
  const before = process.memoryUsage().rss;
  await fc.assert(
    fc.asyncProperty(mutation, async (m) => {
      const d = new Uint8Array(seeds[m.seed]);
      for (const [at, v] of m.flips) d[at % d.length] = v;
      if (m.absurd) new DataView(d.buffer).setUint32((m.absurd[0] % (d.length - 4)) & ~3, m.absurd[1], true);
      const input = m.cut === null ? d : d.subarray(0, m.cut % (d.length + 1));
      await consume(input);
    }),
    { numRuns: 1500, seed: 42, interruptAfterTimeLimit: 60_000 },
  );
  const grown = process.memoryUsage().rss - before;
  t.ok(grown < 256 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MiB`);
});
t.test('every truncation point of every seed', async (t) => {
  for (const s of seeds) for (let n = 0; n <= s.length; n++) await consume(s.subarray(0, n));
  t.pass('no throw other than CaptureFormatError');
});
