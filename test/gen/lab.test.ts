import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecodeStatus } from '../../src/core/enums.js';
import { buildCluster } from '../../src/cluster/build.js';
import { loadManifests } from '../../src/manifests/index.js';
import { LAB_STEPS, labFiles, EXTERNAL_SITE } from '../../src/lab/lab.js';
import { labCaptureBytes, labExchanges, labTraffic, loadLabCluster, LAB_CAPTURE_START, LAB_SERVICE_FQDN } from '../../src/gen/lab.js';
import { referenceJudge, runProcedure } from '../../src/lab/run.js';
import { decodeCapture, gen, tcpdump, tcpdumpSkip, haveTcpdump } from './helpers.js';

const COMMITTED = fileURLToPath(new URL('../../captures/lab.pcap', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kpf-gen-lab-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const cluster = await loadLabCluster();
const lab = labTraffic(cluster);
const bytes = await labCaptureBytes(lab);
const recs = await decodeCapture(bytes);

const F = 1, S = 2, P = 8, A = 16;
const HTTP_FLAGS = [S, S | A, A, P | A, A, P | A, A, F | A, F | A, A];
const HTTP_DIRS = [0, 1, 0, 0, 1, 1, 0, 0, 1, 0]; // 0 client → server

t.test('committed captures/lab.pcap is exactly what kpf gen lab writes', async (t) => {
  const committed = new Uint8Array(readFileSync(COMMITTED));
  t.equal(committed.length, bytes.length, 'same length');
  t.ok(Buffer.from(committed).equals(Buffer.from(bytes)), 'same bytes (regenerate: see captures/README.md)');
  const again = await labCaptureBytes(labTraffic(await loadLabCluster()));
  t.ok(Buffer.from(again).equals(Buffer.from(bytes)), 'deterministic across runs');
});

t.test('every packet decodes OK with valid checksums; timestamps increase from the fixed start', async (t) => {
  t.equal(recs.length, 46);
  t.equal(recs.filter((r) => r.status !== DecodeStatus.OK).length, 0, 'all OK');
  t.equal(recs[0]!.sec, LAB_CAPTURE_START);
  t.equal(new Date(LAB_CAPTURE_START * 1000).toISOString(), '2026-11-26T10:00:00.000Z');
  for (let i = 1; i < recs.length; i++) {
    const a = recs[i - 1]!.sec * 1e9 + recs[i - 1]!.nsec;
    const b = recs[i]!.sec * 1e9 + recs[i]!.nsec;
    t.ok(b > a, `packet ${i} after ${i - 1}`);
  }
});

t.test('exchanges: checks, 5-tuples, flag sequences, packet ranges', async (t) => {
  const ex = lab.exchanges;
  t.same(labExchanges(cluster), ex);
  const pod = (ns: string, n: string) => cluster.pods.find((p) => p.namespace === ns && p.name === n)!.ips[0]!;
  const svc = (ns: string, n: string) => cluster.services.find((s) => s.namespace === ns && s.name === n)!.clusterIPs[0]!;
  const debug = pod('prod-nginx', 'debug');
  const other = pod('myhackns', 'othernspod');
  const dns = svc('kube-system', 'kube-dns');
  const web = svc('prod-nginx', 'my-nginx-clusterip');
  const nginx0 = cluster.pods.filter((p) => p.namespace === 'prod-nginx' && p.labels['app'] === 'nginx')[0]!.ips[0]!;
  t.same(
    ex.map((e) => [e.check, e.kind, e.pod, e.protocol, e.src, e.srcPort, e.dst, e.dstPort]),
    [
      ['dns', 'dns', 'prod-nginx/debug', 'UDP', debug, 41000, dns, 53],
      ['service', 'http', 'prod-nginx/debug', 'TCP', debug, 42000, web, 80],
      ['podIP', 'http', 'prod-nginx/debug', 'TCP', debug, 42000, nginx0, 80],
      ['external', 'dns', 'prod-nginx/debug', 'UDP', debug, 41001, dns, 53],
      ['external', 'http', 'prod-nginx/debug', 'TCP', debug, 42000, EXTERNAL_SITE.ip, 80],
      ['otherNs', 'dns', 'myhackns/othernspod', 'UDP', other, 41000, dns, 53],
      ['otherNs', 'http', 'myhackns/othernspod', 'TCP', other, 42000, web, 80],
    ],
  );
  t.same(ex[0]!.neededBy, ['dns', 'service']);
  t.same(ex.map((e) => e.index), [0, 1, 2, 3, 4, 5, 6]);
  let next = 0;
  for (const e of ex) {
    t.equal(e.first, next, `exchange ${e.index} starts where the previous ended`);
    next = e.end;
    const pk = recs.slice(e.first, e.end);
    t.equal(pk.length, e.kind === 'dns' ? 2 : 10);
    pk.forEach((r, i) => {
      const fwd = e.kind === 'dns' ? i === 0 : HTTP_DIRS[i] === 0;
      const want = fwd
        ? { src: e.src, sport: e.srcPort, dst: e.dst, dport: e.dstPort }
        : { src: e.dst, sport: e.dstPort, dst: e.src, dport: e.srcPort };
      t.match(r, { ...want, proto: e.protocol === 'TCP' ? 6 : 17 }, `${e.what} #${i}`);
    });
    if (e.kind === 'http') {
      t.same(pk.map((r) => r.flags), HTTP_FLAGS, `${e.what}: SYN … FIN/ACK`);
      // sequence numbers line up: every ack acknowledges what the peer sent
      const [syn, synack, , req, , resp, , cfin, sfin, last] = pk as [typeof pk[0], ...typeof pk];
      t.equal(synack!.ack, (syn!.seq + 1) >>> 0);
      const reqLen = req!.ipLen - (req!.payloadOff - 14);
      const respLen = resp!.ipLen - (resp!.payloadOff - 14);
      t.equal(cfin!.seq, (syn!.seq + 1 + reqLen) >>> 0);
      t.equal(sfin!.seq, (synack!.seq + 1 + respLen) >>> 0);
      t.equal(last!.ack, (sfin!.seq + 1) >>> 0);
      const text = Buffer.from(req!.data.subarray(req!.payloadOff)).toString('latin1');
      t.match(text, new RegExp(`^GET / HTTP/1\\.1\\r\\nHost: ${e.name.replace(/\./g, '\\.')}\\r\\n`));
      t.match(Buffer.from(resp!.data.subarray(resp!.payloadOff)).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: \d+\r\n[^]*<h1>Welcome to nginx!<\/h1>/);
    } else {
      const q = pk[0]!.data.subarray(pk[0]!.payloadOff);
      const r = pk[1]!.data.subarray(pk[1]!.payloadOff);
      t.equal((q[0]! << 8) | q[1]!, (r[0]! << 8) | r[1]!, 'answer id = query id');
      t.equal(Buffer.from(q).includes(Buffer.from(e.name.split('.')[0]!)), true);
      const ans = r.subarray(r.length - 4);
      t.equal([...ans].join('.'), e.name === LAB_SERVICE_FQDN ? web : EXTERNAL_SITE.ip, 'A record');
    }
  }
  t.equal(next, recs.length, 'exchanges cover the capture');
});

t.test('the capture addresses every lab step: pods and Services keep their IPs', async (t) => {
  const used = new Set(lab.exchanges.flatMap((e) => [e.src, e.dst]));
  for (const step of LAB_STEPS) {
    const loaded = await loadManifests(labFiles(step.index), {});
    const c = buildCluster(loaded.objects, {}).cluster;
    for (const p of c.pods) for (const ip of p.ips) t.same(cluster.podByIP.get(ip) && `${cluster.podByIP.get(ip)!.namespace}/${cluster.podByIP.get(ip)!.name}`, `${p.namespace}/${p.name}`, `step ${step.index}: ${p.name} ${ip}`);
    for (const s of c.services) t.same(s.clusterIPs, cluster.services.find((x) => x.namespace === s.namespace && x.name === s.name)!.clusterIPs);
    t.ok([...used].every((ip) => ip === EXTERNAL_SITE.ip || c.podByIP.has(ip) || c.serviceByIP.has(ip) || ip === cluster.pods.find((p) => p.name === 'othernspod')!.ips[0]), `step ${step.index}: every address known`);
  }
});

t.test('exchange table → check outcomes: the same as the lab procedure on every step (reference evaluator)', async (t) => {
  for (const step of LAB_STEPS) {
    const loaded = await loadManifests(labFiles(step.index), {});
    const c = buildCluster(loaded.objects, {}).cluster;
    const judge = referenceJudge(c);
    const want = runProcedure(c, step, judge);
    for (const r of want) {
      const mine = lab.exchanges.filter((e) => e.neededBy.includes(r.check));
      t.ok(mine.length > 0, `step ${step.index} ${r.check}: exchanges exist`);
      const allowed = mine.every((e) => judge({ src: e.src, dst: e.dst, protocol: e.protocol, srcPort: e.srcPort, dstPort: e.dstPort }).allowed);
      t.equal(allowed ? 'working' : 'failed', r.outcome, `step ${step.index} ${r.check}`);
    }
  }
});

t.test('kpf gen lab: -o FILE, -o -, usage errors', async (t) => {
  const f = join(dir, 'lab.pcap');
  const r = await gen(['lab', '-o', f]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /wrote 46 packets \(7 exchanges/);
  t.ok(readFileSync(f).equals(Buffer.from(bytes)));
  const s = await gen(['lab', '-o', '-', '-q']);
  t.equal(s.code, 0);
  t.equal(s.stderr, '');
  t.ok(s.stdout.equals(Buffer.from(bytes)), 'stdout carries the same bytes');
  t.equal((await gen(['lab'])).code, 2, '-o is required');
  t.equal((await gen(['lab', '-o', '-'], { tty: true })).code, 2, 'no binary to a terminal');
  t.equal((await gen(['lab', '-o', f, '--bogus'])).code, 2);
  t.equal((await gen(['nope'])).code, 2);
  t.match((await gen(['lab', '--help'])).stdout.toString(), /kpf gen lab -o FILE/);
  writeFileSync(join(dir, 'x'), '');
  t.equal((await gen(['lab', '-o', join(dir, 'x', 'y.pcap')])).code, 2, 'unwritable path is a usage error');
});

t.test('tcpdump reads captures/lab.pcap', { skip: tcpdumpSkip }, async (t) => {
  t.ok(haveTcpdump, 'tcpdump is required (KPF_REQUIRE_LIVE=1)');
  const r = tcpdump(COMMITTED, '-vv');
  t.equal(r.status, 0, r.stderr);
  const lines = tcpdump(COMMITTED).lines;
  t.equal(lines.length, 46);
  t.match(lines[0], /IP 10\.244\.\d+\.\d+\.41000 > 10\.96\.0\.10\.53: \d+\+ A\? my-nginx-clusterip\.prod-nginx\.svc\.cluster\.local\./);
  t.match(lines[1], /A 10\.\d+\.\d+\.\d+/);
  t.match(lines[2], /Flags \[S\], seq \d+, win 64240, options \[mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 7\]/);
  t.notMatch(r.lines.join('\n'), /incorrect|bad cksum|truncated|malformed/i, 'tcpdump -vv finds no bad checksum');
  t.match(r.lines.join('\n'), /GET \/ HTTP\/1\.1/);
});
