import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodeStatus } from '../../src/core/enums.js';
import { buildCluster } from '../../src/cluster/build.js';
import type { Cluster } from '../../src/cluster/model.js';
import { loadManifests } from '../../src/manifests/index.js';
import { labFiles } from '../../src/lab/lab.js';
import { LAB_CAPTURE_START } from '../../src/gen/lab.js';
import { DEFAULT_TRAFFIC, generateTraffic, Prng, type TrafficOptions, type TrafficSummary } from '../../src/gen/traffic.js';
import { parseMix } from '../../src/cli/commands/gen.js';
import { decodeCapture, gen, haveTcpdump, tcpdump, tcpdumpSkip, type Decoded } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kpf-gen-traffic-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function labCluster(opts: { dual?: boolean } = {}): Promise<Cluster> {
  const o = opts.dual ? { podCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] } : {};
  const loaded = await loadManifests(labFiles(), o);
  return buildCluster(loaded.objects, o).cluster;
}
const v4 = await labCluster();
const dual = await labCluster({ dual: true });

async function generate(c: Cluster, over: Partial<TrafficOptions>): Promise<{ bytes: Uint8Array; sum: TrafficSummary }> {
  const chunks: Buffer[] = [];
  const sum = await generateTraffic(c, { ...DEFAULT_TRAFFIC, mix: { ...DEFAULT_TRAFFIC.mix }, ...over }, (ch) => {
    chunks.push(Buffer.from(ch));
  });
  return { bytes: new Uint8Array(Buffer.concat(chunks)), sum };
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('PRNG: mulberry32, reproducible', async (t) => {
  const a = new Prng(1);
  const b = new Prng(1);
  const xs = Array.from({ length: 5 }, () => a.next());
  t.same(xs, Array.from({ length: 5 }, () => b.next()));
  t.notSame(xs, Array.from({ length: 5 }, () => new Prng(2).next()));
  t.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  const c = new Prng(7);
  for (let i = 0; i < 1000; i++) {
    const v = c.below(10);
    if (v < 0 || v >= 10) t.fail(`below out of range: ${v}`);
  }
});

t.test('every packet decodes OK with valid checksums (IPv4 and dual-stack, several frame sizes)', async (t) => {
  for (const [name, c] of [['v4', v4], ['dual', dual]] as const) {
    for (const frameSize of [60, 64, 128, 1514]) {
      const { bytes, sum } = await generate(c, { packets: 4000, flows: 120, frameSize, seed: 3, externalShare: 0.3 });
      const recs = await decodeCapture(bytes);
      t.equal(recs.length, 4000, `${name}/${frameSize}: packet count`);
      const bad = recs.filter((r) => r.status !== DecodeStatus.OK);
      t.equal(bad.length, 0, `${name}/${frameSize}: all decode OK (first bad: ${bad[0]?.status})`);
      // IPv6 headers do not fit the smallest frames: those frames are as short as their headers allow
      const v6Min = (r: Decoded) => (r.proto === 6 ? 75 : 62);
      const wrongSize = recs.filter((r) => r.cap !== frameSize && !(r.family === 6 && frameSize < v6Min(r) && r.cap > frameSize && r.cap <= 78));
      t.equal(wrongSize.length, 0, `${name}/${frameSize}: frame size honoured`);
      t.equal(recs.filter((r) => r.cap !== r.wire).length, 0, 'caplen = len');
      t.equal(sum.bytes, bytes.length);
      if (name === 'dual') t.ok(recs.some((r) => r.family === 6), 'IPv6 flows exist');
      else t.equal(recs.filter((r) => r.family === 6).length, 0, 'no IPv6 without IPv6 pods');
      if (frameSize >= 75) t.equal(sum.oversizeFrames, 0);
      else t.equal(sum.oversizeFrames, recs.filter((r) => r.cap > frameSize).length);
    }
  }
});

t.test('flows are well formed: TCP starts with SYN, ends with FIN; UDP and ICMP answer; timestamps monotonic', async (t) => {
  const { bytes, sum } = await generate(v4, { packets: 20000, flows: 300, frameSize: 64, seed: 9, externalShare: 0.2 });
  const recs = await decodeCapture(bytes);
  t.equal(recs[0]!.sec, LAB_CAPTURE_START);
  let prev = 0;
  let mono = true;
  for (const r of recs) {
    const ts = r.sec * 1e9 + r.nsec;
    if (ts < prev) mono = false;
    prev = ts;
  }
  t.ok(mono, 'timestamps never go back');
  const key = (r: Decoded, rev: boolean) =>
    rev ? `${r.proto} ${r.dst}:${r.dport} ${r.src}:${r.sport}` : `${r.proto} ${r.src}:${r.sport} ${r.dst}:${r.dport}`;
  const flows = new Map<string, Decoded[]>();
  for (const r of recs) {
    const icmpKey = (a: string, b: string) => `${r.proto} ${a} ${b} id${r.sport}`;
    let k: string;
    if (r.proto === 1) k = r.icmpType === 8 ? icmpKey(r.src, r.dst) : icmpKey(r.dst, r.src);
    else k = flows.has(key(r, true)) ? key(r, true) : key(r, false);
    if (!flows.has(k)) flows.set(k, []);
    flows.get(k)!.push(r);
  }
  t.equal(flows.size, sum.flows, 'one 5-tuple per flow');
  let tcpFull = 0;
  for (const [k, pk] of flows) {
    const first = pk[0]!;
    if (first.proto === 6) {
      if (first.flags !== 2) t.fail(`${k}: first packet is not a SYN`);
      if (pk.length >= 2 && pk[1]!.flags !== 0x12) t.fail(`${k}: second is not SYN-ACK`);
      if (pk.length >= 2 && pk[1]!.ack !== ((first.seq + 1) >>> 0)) t.fail(`${k}: SYN-ACK acks ISN+1`);
      if (pk.length >= 6) {
        tcpFull++;
        const [a, b, c] = pk.slice(-3);
        if (a!.flags !== 0x11 || b!.flags !== 0x11 || c!.flags !== 0x10) t.fail(`${k}: ends FIN, FIN, ACK`);
        if (c!.ack !== ((b!.seq + 1) >>> 0) || b!.ack !== ((a!.seq + 1) >>> 0)) t.fail(`${k}: FINs acknowledged`);
        // data: the ack of each packet equals the peer's next sequence number
        for (let i = 3; i < pk.length - 3; i++) {
          const p = pk[i]!;
          if (p.flags !== 0x18) t.fail(`${k}: data is PSH|ACK`);
          const peer = pk[i - 1]!;
          const peerLen = peer.flags === 0x18 ? peer.ipLen - (peer.payloadOff - 14) : 0;
          if (i > 3 && p.ack !== ((peer.seq + peerLen) >>> 0)) t.fail(`${k}: ack ${p.ack} ≠ peer seq+len at ${i}`);
        }
      }
    } else if (first.proto === 1) {
      if (first.icmpType !== 8) t.fail(`${k}: echo request first`);
      if (pk.length >= 2 && pk[1]!.icmpType !== 0) t.fail(`${k}: then echo reply`);
    } else if (pk.length >= 2 && (pk[1]!.sport !== first.dport || pk[1]!.dport !== first.sport)) t.fail(`${k}: UDP response reverses ports`);
  }
  t.ok(tcpFull > 100, `${tcpFull} complete TCP flows`);
  t.ok(sum.flowsByKind.podToPod > 0 && sum.flowsByKind.podToService > 0 && sum.flowsByKind.podToExternal > 0 && sum.flowsByKind.externalToPod > 0, 'all four kinds');
  // Service flows go to the ClusterIP and the replies come from it
  const svcIPs = new Set(v4.services.flatMap((s) => s.clusterIPs));
  t.ok(recs.some((r) => svcIPs.has(r.dst)) && recs.some((r) => svcIPs.has(r.src)), 'to and from ClusterIPs');
  t.ok(recs.every((r) => !(svcIPs.has(r.dst) && r.proto === 1)), 'no ICMP to ClusterIPs');
});

t.test('same seed → same bytes; different seed → different bytes', async (t) => {
  const o = { packets: 5000, flows: 100, frameSize: 64, seed: 42 };
  const a = await generate(v4, o);
  const b = await generate(v4, o);
  t.equal(sha(a.bytes), sha(b.bytes));
  const c = await generate(v4, { ...o, seed: 43 });
  t.not(sha(a.bytes), sha(c.bytes));
  t.equal(c.bytes.length, a.bytes.length, 'same size regardless of seed');
});

t.test('the mix is honoured', async (t) => {
  const { sum, bytes } = await generate(v4, { packets: 10000, flows: 400, frameSize: 64, mix: { tcp: 50, udp: 30, icmp: 20 }, seed: 5 });
  t.same(sum.packetsByProtocol, { tcp: 5000, udp: 3000, icmp: 2000 });
  const recs = await decodeCapture(bytes);
  const n = (p: number) => recs.filter((r) => r.proto === p).length;
  t.same([n(6), n(17), n(1)], [5000, 3000, 2000], 'counted in the capture');
  t.same(sum.flowsByProtocol, { tcp: 200, udp: 120, icmp: 80 });
  const only = await generate(v4, { packets: 1000, flows: 10, mix: { tcp: 0, udp: 1, icmp: 0 } });
  t.same(only.sum.packetsByProtocol, { tcp: 0, udp: 1000, icmp: 0 });
  const share = await generate(v4, { packets: 10000, flows: 1000, externalShare: 0 });
  t.equal(share.sum.flowsByKind.podToExternal + share.sum.flowsByKind.externalToPod, 0, 'external share 0');
  const all = await generate(v4, { packets: 10000, flows: 1000, externalShare: 1 });
  t.equal(all.sum.flowsByKind.podToPod + all.sum.flowsByKind.podToService, 0, 'external share 1');
});

t.test('few packets, many flows; one flow', async (t) => {
  const a = await generate(v4, { packets: 7, flows: 1000, frameSize: 64 });
  t.equal((await decodeCapture(a.bytes)).length, 7);
  t.ok(a.sum.flows <= 7);
  const b = await generate(v4, { packets: 1, flows: 1, mix: { tcp: 1, udp: 0, icmp: 0 } });
  const r = await decodeCapture(b.bytes);
  t.equal(r.length, 1);
  t.equal(r[0]!.flags, 2, 'a lone SYN');
});

t.test('kpf gen traffic: files, stdout, flags', async (t) => {
  const f = join(dir, 'tr.pcap');
  const r = await gen(['traffic', '--lab', '-o', f, '--packets', '3k', '--flows', '50', '--frame-size', '100', '--mix', 'tcp=60,udp=30,icmp=10', '--seed', '11', '--external-share', '20%']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /wrote 3000 packets in 50 flows .* packets\/s/);
  const recs = await decodeCapture(f);
  t.equal(recs.length, 3000);
  t.ok(recs.every((x) => x.cap === 100));
  const s = await gen(['traffic', '--lab', '-o', '-', '--packets', '3000', '--flows', '50', '--frame-size', '100', '--mix', 'tcp=60,udp=30,icmp=10', '--seed', '11', '--external-share', '0.2', '-q']);
  t.equal(s.code, 0);
  t.ok(s.stdout.equals(readFileSync(f)), 'stdout = file');
  const yaml = join(dir, 'x.yaml');
  const cases: Array<[string[], RegExp]> = [
    [['traffic', '--lab'], /-o FILE/],
    [['traffic', '--lab', '-o', f, '--packets', '0'], /--packets must be an integer from 1/],
    [['traffic', '--lab', '-o', f, '--packets', 'many'], /invalid value for --packets/],
    [['traffic', '--lab', '-o', f, '--frame-size', '59'], /--frame-size must be an integer from 60 to 9014/],
    [['traffic', '--lab', '-o', f, '--mix', 'tcp=1,gre=2'], /invalid --mix/],
    [['traffic', '--lab', '-o', f, '--mix', 'tcp=0'], /at least one weight/],
    [['traffic', '--lab', '-o', f, '--external-share', '2'], /--external-share/],
    [['traffic', '--lab', '-o', f, '--seed', '-1'], /seed/],
    [['traffic', '--lab', '-o', f, '--nope'], /nope/],
    [['traffic', '-o', f], /must specify one of -f or --lab/],
    [['traffic', '-f', yaml, '--lab', '-o', f], /cannot be combined/],
  ];
  for (const [argv, msg] of cases) {
    const x = await gen(argv);
    t.equal(x.code, 2, argv.join(' '));
    t.match(x.stderr, msg, argv.join(' '));
    t.notMatch(x.stderr, /\n\s+at /, 'no stack trace');
  }
  t.same(parseMix('tcp=70, UDP=25,icmp=5%'), { tcp: 70, udp: 25, icmp: 5 });
});

t.test('a cluster without pods is refused', async (t) => {
  const yaml = join(dir, 'empty.yaml');
  const { writeFileSync, existsSync } = await import('node:fs');
  writeFileSync(yaml, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
  const out = join(dir, 'empty.pcap');
  const r = await gen(['traffic', '-f', yaml, '--no-default-dns', '-o', out]);
  t.equal(r.code, 2);
  t.match(r.stderr, /no pods with IP addresses/);
  t.notOk(existsSync(out), 'no file left behind');
  const loaded = await loadManifests([], {});
  const empty = buildCluster(loaded.objects, { defaultDns: false }).cluster;
  await t.rejects(generateTraffic(empty, { ...DEFAULT_TRAFFIC, mix: { ...DEFAULT_TRAFFIC.mix } }, () => {}), /no pods/);
});

t.test('tcpdump reads generated traffic', { skip: tcpdumpSkip }, async (t) => {
  t.ok(haveTcpdump, 'tcpdump is required (KPF_REQUIRE_LIVE=1)');
  for (const [c, name] of [[v4, 'v4'], [dual, 'dual']] as const) {
    const f = join(dir, `td-${name}.pcap`);
    const r = await generate(c, { packets: 3000, flows: 80, frameSize: 128, seed: 2 });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, r.bytes);
    const d = tcpdump(f, '-vv');
    t.equal(d.status, 0, d.stderr);
    t.equal(tcpdump(f).lines.length, 3000);
    t.notMatch(d.lines.join('\n'), /incorrect|bad cksum|\[\|tcp\]|\[\|ip\]/i, `${name}: no bad checksum or truncated header`);
  }
});
