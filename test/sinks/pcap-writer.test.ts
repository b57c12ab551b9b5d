import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PcapWriter } from '../../src/sinks/pcap-writer.js';
import * as B from '../fixtures/captures/builders.js';
import { readAll } from '../fixtures/captures/read-all.js';

const dir = mkdtempSync(join(tmpdir(), 'kpf-writer-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const frames = [...B.sampleIPv4().map((p) => B.ethernet(0x0800, p)), ...B.sampleIPv6().map((p) => B.ethernet(0x86dd, p))];
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const requireLive = process.env.KPF_REQUIRE_LIVE === '1';

async function writeFile(name: string, nanos: boolean, snaplen = 262144, be = false): Promise<string> {
  const f = join(dir, name);
  const w = new PcapWriter(f, { linkType: 1, nanos, snaplen, bigEndian: be });
  frames.forEach((d, i) => w.write(d, 0, d.length, d.length, 1700000000 + i, 123456789));
  await w.close();
  return f;
}

t.test('round trip through kpf reader (µs, ns, BE, snaplen)', async (t) => {
  for (const [nanos, be] of [[false, false], [true, false], [false, true]]) {
    const f = await writeFile(`rt-${nanos}-${be}.pcap`, nanos, 262144, be);
    const { recs, err } = await readAll(f);
    t.equal(err, null);
    t.equal(recs.length, frames.length);
    t.same([...recs[4].data], [...frames[4]]);
    t.equal(recs[2].nsec, nanos ? 123456789 : 123456000);
  }
  const f = await writeFile('snap.pcap', false, 40);
  const { recs } = await readAll(f);
  t.match(recs[0], { cap: 40, wire: frames[0].length });
});
t.test('back-pressure: write() returns false, drain() resolves', async (t) => {
  const s = new PassThrough({ highWaterMark: 1024 });
  const w = new PcapWriter(s, { bufferSize: 4096 });
  let blocked = 0;
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const c of s) chunks.push(c as Buffer);
  })();
  for (let i = 0; i < 5000; i++) {
    if (!w.write(frames[i % frames.length], 0, frames[i % frames.length].length, frames[i % frames.length].length, i, 0)) {
      blocked++;
      await w.drain();
    }
  }
  await w.close();
  await reading;
  t.ok(blocked > 0, `blocked ${blocked} times`);
  const { recs } = await readAll(new Uint8Array(Buffer.concat(chunks)));
  t.equal(recs.length, 5000);
});
t.test('tcpdump reads the writer output', { skip: !haveTcpdump && !requireLive ? 'tcpdump not installed (apt-get install -y tcpdump); set KPF_REQUIRE_LIVE=1 to fail instead' : false }, async (t) => {
  t.ok(haveTcpdump, 'tcpdump is required (KPF_REQUIRE_LIVE=1)');
  for (const nanos of [false, true]) {
    const f = await writeFile(`td-${nanos}.pcap`, nanos);
    const args = ['-r', f, '-nn', '-tt'];
    if (nanos) args.push('--time-stamp-precision=nano');
    const out = execFileSync('tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim().split('\n');
    t.equal(out.length, frames.length);
    t.match(out[0], nanos ? /^1700000000\.123456789 IP 10\.244\.1\.7\.43512 > 10\.244\.2\.9\.5432: Flags \[S\]/ : /^1700000000\.123456 IP 10\.244\.1\.7\.43512 > 10\.244\.2\.9\.5432/);
    t.match(out[6], /IP6 fd00:10:244:1::7 > fd00:10:244:2::9: ICMP6, echo request, id 16963/);
  }
  t.ok(readFileSync(join(dir, 'td-false.pcap')).length > 24);
});
