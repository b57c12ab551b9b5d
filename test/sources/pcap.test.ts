import t from 'tap';
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { CaptureFormatError } from '../../src/sources/errors.js';
import { openCapture } from '../../src/sources/capture.js';
import * as B from '../fixtures/captures/builders.js';
import { readAll } from '../fixtures/captures/read-all.js';
import { Arena, DESC_WORDS, Describer } from '../../src/datapath/wasm-core.js';

type Test = Pick<typeof t, 'ok' | 'match' | 'equal'>;
const CAPS = new URL('../../captures/', import.meta.url).pathname;
const frames = B.sampleIPv4().map((p) => B.ethernet(0x0800, p));
const recs = frames.map((data, i) => ({ data, sec: 1700000000 + i, frac: 500 + i }));

t.test('all four magics, same records', async (t) => {
  for (const le of [true, false])
    for (const nanos of [false, true]) {
      const { recs: got, err } = await readAll(B.pcapFile(recs, { le, nanos }));
      t.equal(err, null);
      t.equal(got.length, 4);
      t.same([...got[1].data], [...frames[1]]);
      t.equal(got[2].sec, 1700000002);
      t.equal(got[2].nsec, nanos ? 502 : 502000, `le=${le} nanos=${nanos} (P4, P5)`);
      t.equal(got[3].index, 3);
      t.equal(got[1].fileOff, 24 + 16 + frames[0].length);
    }
});
t.test('fixtures: every committed capture reads without error', async (t) => {
  const want: Record<string, number> = { 'eth-le-usec.pcap': 9, 'eth-be-nsec.pcap': 9, 'sll.pcap': 6, 'sll2.pcap': 6, 'null.pcap': 4, 'raw.pcap': 7, 'ipv4.pcap': 4, 'ipv6.pcap': 3, 'vlan-qinq.pcap': 3, 'multi-section.pcapng': 6 };
  for (const f of readdirSync(CAPS).filter((f) => /\.pcap(ng)?$/.test(f))) {
    const { recs: got, err } = await readAll(CAPS + f, { bufferSize: 65536 });
    t.equal(err, null, f);
    if (want[f] !== undefined) t.equal(got.length, want[f], f);
  }
});
t.test('stream input and tiny buffers/batches give the same records', async (t) => {
  const file = B.pcapFile(Array.from({ length: 3000 }, (_, i) => ({ data: frames[i % 4], sec: i })));
  const a = await readAll(file);
  const chunks = [];
  for (let i = 0; i < file.length; i += 777) chunks.push(Buffer.from(file.subarray(i, i + 777)));
  const b = await readAll(Readable.from(chunks), { bufferSize: 1, maxBatch: 7 });
  t.equal(b.err, null);
  t.equal(b.recs.length, 3000);
  t.same(b.recs.map((r) => r.sec), a.recs.map((r) => r.sec));
  t.same([...b.recs[2999].data], [...a.recs[2999].data]);
  const c = await readAll(file, { reuse: true, maxBatch: 100 });
  t.equal(c.recs.length, 3000);
});
t.test('batches are transferable', async (t) => {
  const r = await openCapture(B.pcapFile(recs));
  const { batchTransferList } = await import('../../src/sources/reader.js');
  for await (const b of r) {
    const list = batchTransferList(b);
    t.ok(list.every((x) => x instanceof ArrayBuffer));
    const { port1 } = new MessageChannel();
    port1.postMessage(b, list);
    port1.close();
    t.equal(b.buf.byteLength, 0, 'detached after transfer');
  }
});

const fail = async (t: Test, input: Uint8Array, re: RegExp, idx: number, off: number, kept: number) => {
  const { recs: got, err } = await readAll(input);
  t.ok(err instanceof CaptureFormatError, 'CaptureFormatError');
  const e = err as CaptureFormatError;
  t.match(e.message, re);
  t.match(e.message, `record index ${idx} at byte offset ${off}`);
  t.equal(e.recordIndex, idx);
  t.equal(e.byteOffset, off);
  t.equal(got.length, kept, 'records before the damage delivered');
  return e;
};
const good = B.pcapFile(recs);
const recOff = (i: number) => 24 + frames.slice(0, i).reduce((s, f) => s + 16 + f.length, 0);

t.test('P1 shorter than 4 bytes', (t) => fail(t, new Uint8Array([0xd4, 0xc3]), /tried to read 4 file header bytes, only got 2/, 0, 0, 0).then(() => t.end()));
t.test('P2 unknown magic', (t) => fail(t, new Uint8Array(100), /^unknown file format/, 0, 0, 0).then(() => t.end()));
t.test('P3 header < 24', (t) => fail(t, good.subarray(0, 20), /tried to read 24 file header bytes, only got 20/, 0, 0, 0).then(() => t.end()));
t.test('P6 Kuznetzov', async (t) => {
  const { recs: got, err } = await readAll(B.pcapFile(recs, { kuznetzov: true }));
  t.equal(err, null);
  t.equal(got.length, 4);
  t.same([...got[3].data], [...frames[3]]);
});
t.test('P7 versions', async (t) => {
  await fail(t, B.pcapFile(recs, { major: 1 }), /archaic pcap savefile format/, 0, 0, 0);
  await fail(t, B.pcapFile(recs, { major: 3 }), /unsupported pcap savefile version 3.4/, 0, 0, 0);
  await fail(t, B.pcapFile(recs, { minor: 5 }), /unsupported pcap savefile version 2.5/, 0, 0, 0);
  t.equal((await readAll(B.pcapFile(recs, { major: 543, minor: 0, swapLengths: true }))).recs.length, 4, '543.0');
});
t.test('P8 length swap', async (t) => {
  const trunc = [{ data: frames[0].subarray(0, 40), wire: frames[0].length }];
  for (const minor of [0, 1, 2, 3]) {
    const { recs: got } = await readAll(B.pcapFile(trunc, { minor, swapLengths: true }));
    t.match(got[0], { cap: 40, wire: frames[0].length }, `2.${minor}`);
  }
});
t.test('P9 snaplen 0 / huge ⇒ 262144', async (t) => {
  for (const snaplen of [0, 0x80000000]) {
    const r = await openCapture(B.pcapFile(recs, { snaplen }));
    t.equal((r as import('../../src/sources/pcap.js').PcapReader).snaplen, 262144);
    await r.close();
  }
});
t.test('P10 caplen > 262144', async (t) => {
  const bad = B.cat(good, B.pcapRecord({ data: new Uint8Array(8), caplen: 0x7fffffff }));
  await fail(t, bad, /invalid packet capture length 2147483647, bigger than maximum of 262144/, 4, good.length, 4);
  await fail(t, B.cat(B.pcapFile(recs, { snaplen: 100 }), B.pcapRecord({ data: new Uint8Array(8), caplen: 300000 })), /bigger than snaplen of 100/, 4, good.length, 4);
});
t.test('P11 snaplen < caplen ≤ max: cut to snaplen', async (t) => {
  const w: string[] = [];
  const f = B.pcapFile([...recs, { data: frames[0] }], { snaplen: 30 });
  const { recs: got, err } = await readAll(f, { onWarning: (x) => w.push(x.kind) });
  t.equal(err, null);
  t.equal(got.length, 5);
  t.equal(got[4].cap, 30);
  t.equal(got[4].wire, frames[0].length);
  t.ok(w.includes('snaplen_cut'));
});
t.test('P12 caplen > len, P13 absurd len', async (t) => {
  const w: string[] = [];
  const f = B.pcapFile([{ data: frames[0], wire: 10 }, { data: frames[1], wire: 5_000_000 }]);
  const { recs: got } = await readAll(f, { onWarning: (x) => w.push(x.kind) });
  t.equal(got[0].wire, frames[0].length);
  t.equal(got[1].wire, 5_000_000);
  t.same(w, ['caplen_gt_len', 'len_absurd']);
});
t.test('P14 partial record header', (t) => fail(t, B.cat(good, new Uint8Array(9)), /tried to read 16 header bytes, only got 9/, 4, good.length, 4).then(() => t.end()));
t.test('P15 data past EOF', (t) =>
  fail(t, good.subarray(0, good.length - 5), new RegExp(`tried to read ${frames[3].length} captured bytes, only got ${frames[3].length - 5}`), 3, recOff(3), 3).then(() => t.end()));
t.test('P16 link-type extension bits masked, FCS length kept', async (t) => {
  const r = (await openCapture(B.pcapFile(recs, { linkType: 1 | 0x04000000 | (2 << 28) }))) as import('../../src/sources/pcap.js').PcapReader;
  t.equal(r.linkType, 1);
  t.equal(r.fcsLen, 4);
  await r.close();
});
t.test('P17 unsupported link type', async (t) => {
  await fail(t, B.pcapFile(recs, { linkType: 127 }), /unsupported link type 127 \(IEEE802_11_RADIO\)/, 0, 20, 0);
  await fail(t, B.pcapFile(recs, { linkType: 1 | 0x00010000 }), /unsupported link type 65537/, 0, 20, 0);
});
t.test('timestamp fraction ≥ 1 s is carried; P30 regressions counted', async (t) => {
  const w: string[] = [];
  const r = await openCapture(B.pcapFile([{ data: frames[0], sec: 10, frac: 2_500_000 }, { data: frames[0], sec: 5 }]), { onWarning: (x) => w.push(x.kind) });
  const got = [];
  for await (const b of r) for (let i = 0; i < b.count; i++) got.push([b.tsSec[i], b.tsNsec[i]]);
  t.same(got, [[12, 500_000_000], [5, 0]]);
  t.same(w, ['ts_fraction', 'time_regression']);
  t.equal(r.stats.warnings.time_regression, 1);
});
t.test('pcap-parser oracle (classic µs files)', async (t) => {
  const require = createRequire(import.meta.url);
  const pcapParser = require('pcap-parser') as { parse(s: Readable | string): import('node:events').EventEmitter };
  for (const f of ['eth-le-usec.pcap', 'eth-be-usec.pcap', 'vlan-qinq.pcap', 'sll2.pcap', 'raw.pcap']) {
    const theirs: { sec: number; usec: number; cap: number; wire: number; data: number[] }[] = [];
    await new Promise<void>((res, rej) => {
      const p = pcapParser.parse(CAPS + f);
      p.on('packet', (pk: { header: Record<string, number>; data: Buffer }) =>
        theirs.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, cap: pk.header.capturedLength, wire: pk.header.originalLength, data: [...pk.data] }));
      p.on('end', res);
      p.on('error', rej);
    });
    const { recs: ours } = await readAll(CAPS + f);
    t.same(ours.map((r) => ({ sec: r.sec, usec: r.nsec / 1000, cap: r.cap, wire: r.wire, data: [...r.data] })), theirs, f);
  }
});

t.test('an arena: batches in the memory it gives, the same records, a record larger than the chunk', async (t) => {
  const { PcapReader } = await import('../../src/sources/pcap.js');
  const { PcapngReader } = await import('../../src/sources/pcapng.js');
  const big = B.ethernet(0x0800, new Uint8Array(200_000));
  const many = Array.from({ length: 5000 }, (_, i) => ({ data: i === 2500 ? big : frames[i % 4], sec: 1700000000 + i, frac: i }));
  const ng = B.cat(B.ngShb(true), B.ngIdb(true, 1), ...many.map((r, i) => B.ngEpb(true, 0, BigInt(i) * 1000n, r.data)));
  for (const [name, file] of [['pcap', B.pcapFile(many)], ['pcapng', ng]] as const) {
    const given: Uint8Array[] = [];
    const arena = {
      take(bytes: number, records: number) {
        const m = {
          buf: new Uint8Array(new SharedArrayBuffer(bytes + 3)),
          offsets: new Uint32Array(records),
          capLens: new Uint32Array(records),
          wireLens: new Uint32Array(records),
          tsSec: new Float64Array(records),
          tsNsec: new Uint32Array(records),
          linkTypes: new Uint16Array(records),
          ifaces: new Uint16Array(records),
          fileOffsets: new Float64Array(records),
        };
        given.push(m.buf);
        return m;
      },
    };
    const want = await readAll(file);
    t.equal(want.err, null);
    const got = await readAll(file, { arena, bufferSize: 65536, maxBatch: 300, reuse: true });
    t.equal(got.err, null, name);
    t.equal(got.recs.length, 5000, name);
    t.same(got.recs.map((r) => [r.sec, r.nsec, r.cap, r.wire, r.fileOff, r.index]), want.recs.map((r) => [r.sec, r.nsec, r.cap, r.wire, r.fileOff, r.index]), name);
    t.same([...got.recs[2500]!.data], [...want.recs[2500]!.data], `${name}: the large record`);
    t.same([...got.recs[4999]!.data], [...want.recs[4999]!.data], name);
    // every batch's chunk is one the arena gave (and the reader asked for a larger one for the large record)
    const r = await openCapture(file, { arena, bufferSize: 65536, maxBatch: 300 });
    t.ok(r instanceof PcapReader || r instanceof PcapngReader);
    const before = given.length;
    let batches = 0;
    for await (const b of r) {
      batches++;
      t.ok(given.includes(b.buf), `${name}: batch ${batches} in arena memory`);
    }
    t.ok(given.length - before >= batches, `${name}: a fresh chunk per batch`);
    t.ok(given.some((g) => g.length > 200_000), `${name}: grown for the large record`);
  }
});

/** calls in which the module walked records, batches it described, descriptors unlike describe's */
const walked = { calls: 0, described: 0, mismatches: 0 };
/**
 * batches in a module memory, whose plain records the module walks (wasm-core.ts Describer.walkPcap), describing
 * them as it goes
 */
const compiledArena = () => {
  const a = new Arena(8 << 20);
  const d = Describer.over(a.memory)!;
  const m = a.buffer;
  const check = new Uint32Array(m, a.alloc(4 * DESC_WORDS * 4096), DESC_WORDS * 4096);
  return {
    /** a batch the walk described: its descriptors are what Describer.describe writes for it */
    verify(b: { buf: Uint8Array; count: number; offsets: Uint32Array; capLens: Uint32Array; wireLens: Uint32Array; linkTypes: Uint16Array; desc?: Uint32Array | null; described?: boolean }) {
      if (b.described !== true) return;
      walked.described++;
      d.describe(b.buf, b.offsets, b.capLens, b.wireLens, b.linkTypes, b.count, check);
      const n = DESC_WORDS * b.count;
      for (let k = 0; k < n; k++) if (b.desc![k] !== check[k]) walked.mismatches++;
    },
    take(bytes: number, records: number) {
      return {
        buf: new Uint8Array(m, a.alloc(bytes), bytes),
        offsets: new Uint32Array(m, a.alloc(4 * records), records),
        capLens: new Uint32Array(m, a.alloc(4 * records), records),
        wireLens: new Uint32Array(m, a.alloc(4 * records), records),
        tsSec: new Float64Array(m, a.alloc(8 * records), records),
        tsNsec: new Uint32Array(m, a.alloc(4 * records), records),
        linkTypes: new Uint16Array(m, a.alloc(2 * records), records),
        ifaces: new Uint16Array(records).fill(9),
        fileOffsets: new Float64Array(records).fill(-1),
        desc: new Uint32Array(m, a.alloc(4 * DESC_WORDS * records), DESC_WORDS * records).fill(0xdeadbeef),
      };
    },
    walker: {
      walkPcap(...args: Parameters<typeof d.walkPcap>) {
        const n = d.walkPcap(...args);
        if (n > args[4]) walked.calls++;
        return n;
      },
      walkEnd: () => d.walkEnd(),
      walkTruncated: () => d.walkTruncated(),
      walkMaxSec: () => d.walkMaxSec(),
      walkMaxNsec: () => d.walkMaxNsec(),
    },
  };
};
t.test('the module walks and describes IPv4 TCP/UDP records as describe does, every batch in the module memory', async (t) => {
  const before = { ...walked };
  const many = Array.from({ length: 3000 }, (_, i) => {
    const tcp = i % 3 !== 0;
    // some TCP flag combinations describe leaves to the general path, and some IPv4 options
    const l4 = tcp ? B.tcp({ sport: 30000 + i, dport: 80 + (i % 7), flags: i % 50 === 0 ? 0x03 : 0x10 }) : B.udp(5000 + i, 53);
    const ip = B.ipv4({ src: `10.${i % 5}.0.${(i * 7) % 250}`, dst: `192.168.${i % 3}.${i % 200}`, proto: tcp ? 6 : 17, ...(i % 97 === 0 ? { options: new Uint8Array(4) } : {}) }, l4);
    return { data: B.ethernet(0x0800, ip), sec: 1700000000 + i, frac: i };
  });
  for (const le of [true, false]) {
    const arena = compiledArena();
    const r = await openCapture(B.pcapFile(many, { le }), { arena, bufferSize: 65536, maxBatch: 500 });
    let records = 0;
    let nonzero = 0;
    for await (const b of r) {
      t.equal(b.described, true, `batch at ${b.firstIndex}: described by the walk`);
      arena.verify(b);
      records += b.count;
      for (let k = 0; k < b.count; k++) if (b.desc![DESC_WORDS * k + 3] !== 0) nonzero++;
    }
    t.equal(records, 3000, `${le ? 'little' : 'big'}-endian: every record`);
    t.ok(nonzero > 2800 && nonzero < 3000, `${nonzero} records with a descriptor, the rest zeros`);
  }
  t.equal(walked.mismatches, before.mismatches, 'the walk wrote what describe writes');
  t.ok(walked.described - before.described >= 12, `${walked.described - before.described} batches compared`);
});

t.test('the plain-record loop, in JavaScript and in the module, delivers what the general loop does, anomalies and their warnings included (property)', async (t) => {
  const fc = (await import('fast-check')).default;
  const { PcapReader } = await import('../../src/sources/pcap.js');
  const { openCapture } = await import('../../src/sources/capture.js');
  const { CaptureFormatError } = await import('../../src/sources/errors.js');
  const read = async (bytes: Uint8Array, plain: boolean | 'compiled', bufferSize: number) => {
    PcapReader.plainLoop = plain !== false;
    const warnings: string[] = [];
    const rows: string[] = [];
    let error = '';
    let stats = '';
    try {
      const arena = plain === 'compiled' ? compiledArena() : undefined;
      const r = await openCapture(bytes, { bufferSize, maxBatch: 37, onWarning: (w) => warnings.push(`${w.kind}@${w.recordIndex}/${w.byteOffset}`), ...(arena ? { arena } : {}) });
      try {
        for await (const b of r) {
          arena?.verify(b);
          for (let i = 0; i < b.count; i++) {
            const data = Array.from(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.capLens[i]!)).join('.');
            rows.push(`${b.firstIndex + i} ${b.capLens[i]} ${b.wireLens[i]} ${b.tsSec[i]} ${b.tsNsec[i]} ${b.linkTypes[i]} ${b.ifaces[i]} ${b.fileOffsets[i]} ${data}`);
          }
        }
      } finally {
        stats = JSON.stringify(r.stats);
      }
    } catch (e) {
      if (!(e instanceof CaptureFormatError)) throw e;
      error = `${e.code} ${e.message} ${e.recordIndex} ${e.byteOffset}`;
    } finally {
      PcapReader.plainLoop = true;
    }
    return { warnings, rows, error, stats };
  };
  const record = fc.record({
    len: fc.integer({ min: 0, max: 90 }),
    sec: fc.oneof(fc.constant(-1), fc.constant(-2), fc.integer({ min: 1_700_000_000, max: 1_700_000_003 })),
    // (the limits of a µs and of a ns fraction among them)
    frac: fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 1_100_000_000 }), fc.constantFrom(999_999, 1_000_000, 999_999_999, 1_000_000_000)),
    // a caplen or len other than the data's: bigger, smaller, past the snaplen
    capDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 5 }) }),
    wireDelta: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -10, max: 300_000 }) }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(record, { minLength: 0, maxLength: 120 }),
      fc.record({ le: fc.boolean(), nanos: fc.boolean(), snaplen: fc.oneof(fc.constant(262144), fc.integer({ min: 40, max: 100 })) }),
      fc.integer({ min: 0, max: 30 }),
      fc.constantFrom(65536, 70000),
      async (recs, opts, cut, bufferSize) => {
        let sec = 1_700_000_000;
        const file = B.pcapFile(
          recs.map((r) => {
            // mostly rising time; -1 keeps the second, -2 steps back
            sec = r.sec === -1 ? sec : r.sec === -2 ? sec - 1 : r.sec;
            const data = new Uint8Array(r.len).map((_, i) => (i * 7 + r.len) & 255);
            return { data, sec, frac: r.frac, caplen: Math.max(0, r.len + r.capDelta), wire: Math.max(0, r.len + r.wireDelta) };
          }),
          opts,
        );
        // sometimes cut short: a partial header or record at the end
        const bytes = file.subarray(0, Math.max(24, file.length - cut));
        const plain = await read(bytes, true, bufferSize);
        const general = await read(bytes, false, bufferSize);
        const compiled = await read(bytes, 'compiled', bufferSize);
        t.same(plain, general);
        t.same(compiled, general, 'walked by the module');
        return true;
      },
    ),
    { numRuns: 300, seed: 20261126 },
  );
  t.ok(walked.calls > 100, `the module walked records in ${walked.calls} calls`);
  t.ok(walked.described > 10, `${walked.described} batches described by the walk`);
  t.equal(walked.mismatches, 0, 'their descriptors are describe’s');
});

const haveMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
t.test('a capture file path: a regular file and a FIFO read alike (the FIFO asynchronously, its writer in this process)', { timeout: 30_000, skip: haveMkfifo ? false : 'mkfifo (coreutils) is not installed' }, async (t) => {
  const { mkdtempSync, rmSync, writeFileSync, createWriteStream } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'kpf-source-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const many = Array.from({ length: 3000 }, (_, i) => ({ data: frames[i % 4]!, sec: 1700000000 + i }));
  const file = B.pcapFile(many);
  const plain = join(dir, 'capture.pcap');
  writeFileSync(plain, file);
  const a = await readAll(plain, { maxBatch: 100 });
  t.equal(a.err, null);
  t.equal(a.recs.length, 3000, 'the regular file: every record');
  const fifo = join(dir, 'capture.fifo');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo made the FIFO');
  // the writer hands the capture over in pieces, a timer apart: a synchronous read of the FIFO would hold this
  // thread's event loop, and with it the writer, for ever
  const w = createWriteStream(fifo);
  const pieces: Buffer[] = [];
  for (let i = 0; i < file.length; i += 4096) pieces.push(Buffer.from(file.subarray(i, i + 4096)));
  const write = (i: number): void => {
    if (i === pieces.length) {
      w.end();
      return;
    }
    w.write(pieces[i]!, () => setTimeout(() => write(i + 1), 2));
  };
  w.once('open', () => write(0));
  const b = await readAll(fifo, { maxBatch: 100 });
  t.equal(b.err, null);
  t.equal(b.recs.length, 3000, 'the FIFO: every record');
  t.same(b.recs.map((r) => r.sec), a.recs.map((r) => r.sec), 'the same records');
});
