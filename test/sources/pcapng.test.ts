import t from 'tap';
import { CaptureFormatError } from '../../src/sources/errors.js';
import * as B from '../fixtures/captures/builders.js';
import { readAll } from '../fixtures/captures/read-all.js';

const v4 = B.sampleIPv4();
const eth = v4.map((p) => B.ethernet(0x0800, p));
const T = 1700000000n;
type Test = Pick<typeof t, 'ok' | 'match' | 'equal'>;

const fail = async (t: Test, input: Uint8Array, re: RegExp, idx: number, off: number, kept: number) => {
  const { recs, err } = await readAll(input);
  t.ok(err instanceof CaptureFormatError, 'CaptureFormatError');
  const e = err as CaptureFormatError;
  t.match(e.message, re);
  t.match(e.message, `record index ${idx} at byte offset ${off}`);
  t.equal(recs.length, kept, 'records before the damage delivered');
};

const head = (le = true) => B.cat(B.ngShb(le), B.ngIdb(le, 1));
const good = (le = true) => B.cat(head(le), B.ngEpb(le, 0, T * 1000000n + 5n, eth[0]), B.ngEpb(le, 0, T * 1000000n + 6n, eth[1]));

t.test('sections, byte orders, interfaces, tsresol/tsoffset, SPB, skipped blocks (P25, P29 unknown)', async (t) => {
  const le = true;
  const f = B.cat(
    B.ngShb(le),
    B.ngIdb(le, 1, { extraOptions: B.cat(B.ngOption(le, 2, new Uint8Array([0x65, 0x74, 0x68])), B.ngOption(le, 999, new Uint8Array(5))) }),
    B.ngIdb(le, 101, { tsresol: 9, snaplen: 0 }),
    B.ngEpb(le, 0, T * 1000000n + 7n, eth[0]),
    B.ngBlock(le, 5, new Uint8Array(12)),
    B.ngBlock(le, 0x00000bad, new Uint8Array(8)),
    B.ngEpb(le, 1, T * 1000000000n + 123n, v4[1]),
    B.ngSpb(le, eth[2]),
    B.ngPb(le, 1, T * 1000000000n + 999n, v4[3]),
    B.ngShb(false),
    B.ngIdb(false, 276, { tsresol: 0x80 | 10, tsoffset: -100n }),
    B.ngEpb(false, 0, (T << 10n) | 512n, B.cat(B.sll2(0x0800), v4[0])),
    B.ngShb(false),
    B.ngIdb(false, 229, { tsresol: 12 }),
    B.ngEpb(false, 0, 5n * 1000000000000n + 1500n, B.sampleIPv6()[0]),
  );
  const { recs, err } = await readAll(f);
  t.equal(err, null);
  t.same(recs.map((r) => r.lt), [1, 101, 1, 101, 276, 229]);
  t.same(recs.map((r) => r.iface), [0, 1, 0, 1, 0, 0]);
  t.same(recs.map((r) => [r.sec, r.nsec]), [
    [1700000000, 7000],
    [1700000000, 123],
    [1700000000, 123], // SPB reuses the previous timestamp
    [1700000000, 999],
    [1699999900, 500000000],
    [5, 1],
  ]);
  t.same([...recs[3].data], [...v4[3]]);
  t.same([...recs[4].data.subarray(20)], [...v4[0]]);
});
t.test('SPB caplen = min(orig, snaplen, block)', async (t) => {
  const f = B.cat(B.ngShb(true), B.ngIdb(true, 1, { snaplen: 20 }), B.ngSpb(true, eth[0].subarray(0, 20), eth[0].length));
  const { recs } = await readAll(f);
  t.match(recs[0], { cap: 20, wire: eth[0].length });
});
t.test('P18 length < 12', (t) => fail(t, B.cat(good(), B.ngBlock(true, 6, new Uint8Array(0), 8)), /has a length of 8 < 12/, 2, good().length, 2).then(() => t.end()));
t.test('P19 length not multiple of 4', (t) => fail(t, B.cat(good(), B.ngBlock(true, 6, new Uint8Array(8), 18)), /length of 18 that is not a multiple of 4/, 2, good().length, 2).then(() => t.end()));
t.test('P20 block > 16 MiB', (t) => fail(t, B.cat(good(), B.ngBlock(true, 6, new Uint8Array(8), 0x7ffffff0)), /pcapng block size 2147483632 > maximum 16777216/, 2, good().length, 2).then(() => t.end()));
t.test('P21 header/trailer mismatch', (t) => fail(t, B.cat(good(), B.ngBlock(true, 6, new Uint8Array(8), undefined, 24)), /in header 20 and trailer 24 don't match/, 2, good().length, 2).then(() => t.end()));
t.test('P22 too short / option past body', async (t) => {
  await fail(t, B.cat(good(), B.ngBlock(true, 6, new Uint8Array(8))), /block of type 6 in pcapng dump file is too short/, 2, good().length, 2);
  const badOpt = B.cat(new Uint8Array([9, 0, 40, 0]), new Uint8Array(4));
  await fail(t, B.cat(good(), B.ngBlock(true, 1, B.cat(new Uint8Array(8), badOpt))), /block of type 1 .* too short/, 2, good().length, 2);
});
t.test('P23 bad byte-order magic', async (t) => {
  const shb = B.ngShb(true);
  const bad = new Uint8Array(shb);
  bad[8] = 0x99;
  await fail(t, B.cat(bad, B.ngIdb(true, 1)), /^unknown file format/, 0, 0, 0);
  await fail(t, B.cat(good(), bad), /bad byte order magic/, 2, good().length, 2);
  await fail(t, B.cat(good(), B.ngBlock(true, 0x0a0d0d0a, B.cat(new Uint8Array([0x4d, 0x3c, 0x2b, 0x1a])), 16)), /invalid length 16 < minimum of 28/, 2, good().length, 2);
});
t.test('P24 SHB version', async (t) => {
  await fail(t, B.cat(B.ngShb(true, 2, 0), B.ngIdb(true, 1)), /unsupported pcapng savefile version 2.0/, 0, 0, 0);
  t.equal((await readAll(B.cat(B.ngShb(true, 1, 2), B.ngIdb(true, 1), B.ngEpb(true, 0, 1n, eth[0])))).recs.length, 1, '1.2 accepted');
});
t.test('P25 mixed byte orders', async (t) => {
  const { recs, err } = await readAll(B.cat(good(true), good(false), good(true)));
  t.equal(err, null);
  t.equal(recs.length, 6);
});
t.test('P26 packet before IDB / no IDB', async (t) => {
  await fail(t, B.cat(B.ngShb(true), B.ngEpb(true, 0, 1n, eth[0])), /packet block before any Interface Description Blocks/, 0, 28, 0);
  await fail(t, B.cat(good(), B.ngShb(true), B.ngSpb(true, eth[0])), /packet block before any Interface/, 2, good().length + 28, 2);
  await fail(t, B.ngShb(true), /has no Interface Description Blocks/, 0, 28, 0);
});
t.test('P27 unknown interface', (t) => fail(t, B.cat(good(), B.ngEpb(true, 3, 1n, eth[0])), /a packet arrived on interface 3, but there's no Interface Description Block/, 2, good().length, 2).then(() => t.end()));
t.test('P28 caplen > snaplen / > block', async (t) => {
  const h = B.cat(B.ngShb(true), B.ngIdb(true, 1, { snaplen: 40 }));
  await fail(t, B.cat(h, B.ngEpb(true, 0, 1n, eth[0])), /invalid packet capture length 54, bigger than snaplen of 40/, 0, h.length, 0);
  await fail(t, B.cat(good(), B.ngEpb(true, 0, 1n, eth[0], undefined, 200)), /invalid packet capture length 200, bigger than the 56 bytes left/, 2, good().length, 2);
});
t.test('P29 bad if_tsresol / if_tsoffset', async (t) => {
  const idbWith = (opts: Uint8Array) => B.cat(B.ngShb(true), B.ngIdb(true, 1, { extraOptions: opts }));
  await fail(t, idbWith(B.ngOption(true, 9, new Uint8Array(2))), /if_tsresol option with length 2 != 1/, 0, 28, 0);
  await fail(t, idbWith(B.cat(B.ngOption(true, 9, new Uint8Array([6])), B.ngOption(true, 9, new Uint8Array([6])))), /more than one if_tsresol/, 0, 28, 0);
  await fail(t, idbWith(B.ngOption(true, 9, new Uint8Array([20]))), /resolution 10\^-20 is too high/, 0, 28, 0);
  await fail(t, idbWith(B.ngOption(true, 9, new Uint8Array([0x80 | 64]))), /resolution 2\^-64 is too high/, 0, 28, 0);
  await fail(t, idbWith(B.ngOption(true, 14, new Uint8Array(4))), /if_tsoffset option with length 4 != 8/, 0, 28, 0);
  await fail(t, idbWith(B.cat(B.ngOption(true, 14, new Uint8Array(8)), B.ngOption(true, 14, new Uint8Array(8)))), /more than one if_tsoffset/, 0, 28, 0);
});
t.test('P17 unsupported link type at the interface\'s first packet', async (t) => {
  const f = B.cat(B.ngShb(true), B.ngIdb(true, 1), B.ngIdb(true, 127), B.ngEpb(true, 0, 1n, eth[0]));
  const off = f.length;
  await fail(t, B.cat(f, B.ngEpb(true, 1, 1n, eth[0])), /unsupported link type 127 \(IEEE802_11_RADIO\) on interface 1/, 1, off, 1);
});
t.test('truncated block at EOF', async (t) => {
  const g = good();
  await fail(t, g.subarray(0, g.length - 3), /truncated pcapng dump file; tried to read 88 bytes, only got 85/, 1, g.length - 88, 1);
});
t.test('big block grows the buffer up to the maximum', async (t) => {
  const big = B.cat(good(), B.ngBlock(true, 0x1234, new Uint8Array(3_000_000)), B.ngEpb(true, 0, 9n, eth[3]));
  const { recs, err } = await readAll(big, { bufferSize: 65536 });
  t.equal(err, null);
  t.equal(recs.length, 3);
  const small = await readAll(big, { bufferSize: 65536, maxBufferSize: 1 << 20 });
  t.match((small.err as Error).message, /exceeds the reader's maximum buffer/);
  t.equal(small.recs.length, 2);
});
