/**
 * `kpf replay` end to end: the JSON flow-record contract, capture order, outputs, pcap writers read back by tcpdump,
 * metrics, a worker killed mid-replay, a damaged capture.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { kpf } from '../helpers/cli.js';
import { validateFlowRecord } from './schema.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LAB_PCAP = path.resolve(here, '../../captures/lab.pcap');
const tmp = mkdtempSync(path.join(tmpdir(), 'kpf-replay-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const requireLive = process.env['KPF_REQUIRE_LIVE'] === '1';

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

t.test('-o json: one valid record per capture record, in capture order', async (t) => {
  const r = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'json', '--workers', '2']);
  t.equal(r.code, 0, r.stderr);
  const recs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(recs.length, 46);
  recs.forEach((rec, i) => {
    t.equal(rec['index'], i, `record ${i} in order`);
    const errors = validateFlowRecord(rec);
    t.same(errors, [], `record ${i} matches the documented schema`);
  });
  const first = recs[0]!;
  t.match(first, { verdict: 'FORWARDED', protocol: 'UDP', dst_port: 53, src_pod: 'prod-nginx/debug', service: 'kube-system/kube-dns', new_connection: true });
  t.match(first['allowed_by'], [{ direction: 'egress', policy: 'prod-nginx/allow-dns', rule: 0 }]);
  t.match(recs[1], { verdict: 'FORWARDED', is_reply: true });
  const drop = recs.find((x) => x['verdict'] === 'DROPPED')!;
  t.match(drop, { drop_reason: 'POLICY_DENIED', drop_reason_code: 133, dst_ip: '203.0.113.80' });
  t.match(drop['denied_by'], [{ direction: 'egress', policies: ['prod-nginx/allow-debug-egress', 'prod-nginx/allow-dns', 'prod-nginx/default-deny'] }]);
  t.match(r.stderr, /kpf replay: 46 records, 36 forwarded, 10 dropped/);
});

t.test('1 and 2 workers give the same records', async (t) => {
  const one = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'json', '--workers', '1']);
  const two = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'json', '--workers', '2']);
  t.equal(one.stdout, two.stdout);
});

t.test('-o compact, jsonpb, summary', async (t) => {
  const c = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'compact']);
  t.equal(lines(c.stdout).length, 46);
  t.match(c.stdout, /^Nov 26 10:00:00\.000: prod-nginx\/debug:41000 \(ID:\d+\) -> kube-system\/kube-dns:53 \(ID:\d+\) policy-verdict:L3-L4 EGRESS ALLOWED \(UDP\)$/m);
  t.match(c.stdout, /203\.0\.113\.80:80 \(world\) Policy denied DROPPED \(TCP Flags: SYN\)/);
  const pb = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'jsonpb']);
  const flows = lines(pb.stdout).map((l) => JSON.parse(l) as { flow: Record<string, unknown>; time: string; node_name: string });
  t.equal(flows.length, 46);
  t.match(flows[0], { node_name: 'kpf', time: '2026-11-26T10:00:00.000000000Z', flow: { verdict: 'FORWARDED', IP: { ipVersion: 'IPv4' }, l4: { UDP: { destination_port: 53 } }, Type: 'L3_L4' } });
  const dropped = flows.find((f) => f.flow['verdict'] === 'DROPPED')!;
  t.match(dropped.flow, { drop_reason_desc: 'POLICY_DENIED', event_type: { type: 1, sub_type: 133 }, traffic_direction: 'EGRESS' });
  t.ok(Array.isArray(dropped.flow['egress_denied_by']));
  t.notOk('index' in dropped.flow, 'no kpf-only fields in jsonpb');
  const s = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'summary']);
  t.equal(s.code, 0);
  t.match(s.stdout, /Records: 46 +forwarded 36 .* dropped 10/);
  t.match(s.stdout, /DROPPED +POLICY_DENIED +10/);
  t.match(s.stdout, /prod-nginx\/allow-dns#egress\[0\]/);
  t.match(s.stdout, /Top dropped flows:\n +6 +10\.244\.\d+\.\d+ -> 203\.0\.113\.80:80 TCP/);
});

t.test('--write-allowed / --write-dropped write pcaps tcpdump reads', { skip: !haveTcpdump && !requireLive ? 'tcpdump is not installed' : false }, async (t) => {
  const allowed = path.join(tmp, 'allowed.pcap');
  const dropped = path.join(tmp, 'dropped.pcap');
  const metrics = path.join(tmp, 'metrics.prom');
  const r = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'summary', '--write-allowed', allowed, '--write-dropped', dropped, '--metrics', metrics]);
  t.equal(r.code, 0, r.stderr);
  const count = (f: string) => {
    const p = spawnSync('tcpdump', ['-nn', '-r', f], { encoding: 'utf8' });
    t.equal(p.status, 0, `tcpdump reads ${path.basename(f)}: ${p.stderr}`);
    return lines(p.stdout).length;
  };
  t.equal(count(allowed), 36);
  t.equal(count(dropped), 10);
  const m = readFileSync(metrics, 'utf8');
  t.match(m, /^kpf_packets_total\{verdict="forwarded"\} 36$/m);
  t.match(m, /^kpf_packets_total\{verdict="dropped"\} 10$/m);
  t.match(m, /^kpf_drops_total\{reason="policy_denied"\} 10$/m);
  t.match(m, /^# TYPE kpf_conntrack_entries gauge$/m);
});

t.test('--write-allowed / --write-dropped: the same packets whichever way the replay runs, in the capture\'s precision', async (t) => {
  const cap = path.join(tmp, 'traffic.pcap');
  const g = await kpf(['gen', 'traffic', '--lab', '-o', cap, '--packets', '30000', '--flows', '300', '--quiet']);
  t.equal(g.code, 0, g.stderr);
  // -o summary with 1 worker: the worker's module counts the established packets and the verdicts come in place
  // (ReplaySink.listed); -o json: every record's verdict (ReplaySink.batch); 2 workers: the batches gathered per worker
  const runs = [
    ['summary', '1'],
    ['json', '1'],
    ['summary', '2'],
  ] as const;
  const outs: Array<{ allowed: Buffer; dropped: Buffer }> = [];
  let forwarded = -1;
  for (const [fmt, workers] of runs) {
    const allowed = path.join(tmp, `w-${fmt}-${workers}-allowed.pcap`);
    const dropped = path.join(tmp, `w-${fmt}-${workers}-dropped.pcap`);
    const r = await kpf(['replay', '--lab', cap, '-o', fmt, '--workers', workers, '--batch-size', '1024', '--write-allowed', allowed, '--write-dropped', dropped]);
    t.equal(r.code, 0, r.stderr);
    if (fmt === 'json') forwarded = lines(r.stdout).filter((l) => (JSON.parse(l) as { verdict: string }).verdict === 'FORWARDED').length;
    outs.push({ allowed: readFileSync(allowed), dropped: readFileSync(dropped) });
  }
  t.ok(forwarded > 0 && forwarded < 30000, `${forwarded} of 30000 forwarded`);
  for (const o of outs.slice(1)) {
    t.ok(o.allowed.equals(outs[0]!.allowed), 'the same allowed packets');
    t.ok(o.dropped.equals(outs[0]!.dropped), 'the same dropped packets');
  }
  const { allowed, dropped } = outs[0]!;
  t.equal(allowed.readUInt32LE(0), 0xa1b2c3d4, 'microseconds, as the capture');
  // 64-byte frames: a record is 80 bytes
  t.equal((allowed.length - 24) / 80, forwarded, 'every forwarded packet in the allowed pcap');
  t.equal((dropped.length - 24) / 80, 30000 - forwarded, 'every dropped packet in the dropped pcap');
  // the records are the capture's own: both files together hold every record of it, in order within each
  const src = readFileSync(cap);
  t.equal(allowed.length + dropped.length - 48, src.length - 24, 'no byte lost or added');
  // a capture in nanoseconds, and one in pcapng: nanosecond pcaps
  for (const c of ['eth-le-nsec.pcap', 'multi-section.pcapng']) {
    const f = path.join(tmp, `w-${c}.pcap`);
    const r = await kpf(['replay', '--lab', path.resolve(here, '../../captures', c), '-o', 'summary', '--write-allowed', f]);
    t.equal(r.code, 0, r.stderr);
    t.equal(readFileSync(f).readUInt32LE(0), 0xa1b23c4d, `${c}: nanoseconds`);
  }
});

t.test('a worker killed mid-replay: every record still has a line, with the default verdict', async (t) => {
  process.env['KPF_TEST_CRASH_BATCH'] = '0';
  try {
    const r = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'json', '--workers', '2']);
    t.equal(r.code, 3, 'degraded run exits 3');
    const recs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    t.equal(recs.length, 46, 'no record lost');
    const failed = recs.filter((x) => x['drop_reason'] === 'WORKER_FAILED');
    t.ok(failed.length > 0, `${failed.length} records with the default verdict`);
    t.match(r.stderr, new RegExp(`${failed.length} records got the default verdict \\(DROPPED, WORKER_FAILED\\)`));
    const open = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'json', '--workers', '2', '--fail-open']);
    const recs2 = lines(open.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    t.ok(recs2.filter((x) => x['forward_reason'] === 'WORKER_FAILED').length > 0, '--fail-open forwards them');
  } finally {
    delete process.env['KPF_TEST_CRASH_BATCH'];
  }
});

t.test('a damaged capture: the records before the damage keep their verdicts, exit 3', async (t) => {
  const bytes = readFileSync(LAB_PCAP);
  const cut = path.join(tmp, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, 24 + 3 * (16 + 96) + 10)); // header, a few records, a torn one
  const r = await kpf(['replay', '--lab', cut, '-o', 'json']);
  t.equal(r.code, 3);
  const recs = lines(r.stdout);
  t.ok(recs.length >= 1, `${recs.length} records before the damage`);
  t.match(r.stderr, /error: .*record index \d+ at byte offset \d+/);
  const notPcap = path.join(tmp, 'not.pcap');
  writeFileSync(notPcap, 'hello world, not a capture at all');
  const bad = await kpf(['replay', '--lab', notPcap]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^error: /m);
  t.notMatch(bad.stderr, /\n\s+at /);
});

t.test('stdin and usage errors', async (t) => {
  const r = await kpf(['replay', '--lab', '-', '-o', 'summary'], { stdin: readFileSync(LAB_PCAP, 'latin1') });
  // the helper passes a string: Latin-1 keeps every byte as it is
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Records: 46/);
  t.equal((await kpf(['replay', '--lab'])).code, 2);
  t.equal((await kpf(['replay', '--lab', LAB_PCAP, '--workers', '0'])).code, 2);
  const many = await kpf(['replay', '--lab', LAB_PCAP, '--workers', '65']);
  t.equal(many.code, 2, '65 workers: a usage error');
  t.match(many.stderr, /--workers "65" \(1 to 64\)/);
  t.equal((await kpf(['replay', '--lab', LAB_PCAP, '--batch-size', '10'])).code, 2);
  t.equal((await kpf(['replay', '--lab', LAB_PCAP, '-o', 'xml'])).code, 2);
  // a capture that cannot be read: what is wrong with it, exit 1, no internal error
  const missing = await kpf(['replay', '--lab', path.join(tmp, 'no-such.pcap'), '-o', 'summary']);
  t.equal(missing.code, 1, 'a missing capture: exit 1');
  t.match(missing.stderr, /error: the capture ".*no-such\.pcap" does not exist/);
  t.notMatch(missing.stderr, /internal error/);
  const dir = await kpf(['replay', '--lab', tmp, '-o', 'summary']);
  t.equal(dir.code, 1, 'a directory: exit 1');
  t.match(dir.stderr, /error: the capture ".*" is a directory/);
  t.notMatch(dir.stderr, /internal error/);
});

t.test('generated traffic: 1 and 2 workers agree, and first packets get the reference evaluator\'s verdict', async (t) => {
  const { evaluate } = await import('../../src/policy/reference.js');
  const { loadManifests } = await import('../../src/manifests/index.js');
  const { buildCluster } = await import('../../src/cluster/build.js');
  const { labFiles } = await import('../../src/lab/lab.js');
  const capture = path.join(tmp, 'traffic.pcap');
  const g = await kpf(['gen', 'traffic', '--lab', '-o', capture, '--packets', '30000', '--flows', '3000', '--seed', '11', '--mix', 'tcp=70,udp=20,icmp=10']);
  t.equal(g.code, 0, g.stderr);
  const one = await kpf(['replay', '--lab', capture, '-o', 'json', '--workers', '1', '--batch-size', '1024', '--metrics', path.join(tmp, 'wasm.prom')]);
  const two = await kpf(['replay', '--lab', capture, '-o', 'json', '--workers', '2', '--batch-size', '2048']);
  t.equal(one.code, 0, one.stderr);
  t.ok(one.stdout === two.stdout, 'identical output with 1 and 2 workers and different batch sizes');
  // the worker threads read KPF_WASM when they start: the same replay with the fast path in TypeScript
  process.env['KPF_WASM'] = '0';
  let ts: Awaited<ReturnType<typeof kpf>>;
  try {
    ts = await kpf(['replay', '--lab', capture, '-o', 'json', '--workers', '2', '--batch-size', '1024', '--metrics', path.join(tmp, 'ts.prom')]);
  } finally {
    delete process.env['KPF_WASM'];
  }
  t.ok(ts.stdout === one.stdout, 'identical output with the fast path in WebAssembly and in TypeScript (KPF_WASM=0)');
  const fastPath = (f: string) => Number(/^kpf_fast_path_packets_total\{kind="established"\} (\d+)$/m.exec(readFileSync(path.join(tmp, f), 'utf8'))?.[1]);
  t.ok(fastPath('wasm.prom') > 10000, `the WebAssembly fast path took ${fastPath('wasm.prom')} packets`);
  t.equal(fastPath('ts.prom'), 0, 'and none with KPF_WASM=0');
  const recs = lines(one.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(recs.length, 30000);
  t.ok(recs.every((r, i) => r['index'] === i), 'capture order');
  const loaded = await loadManifests(labFiles(), {});
  const cluster = buildCluster(loaded.objects, {}).cluster;
  let compared = 0;
  let allowed = 0;
  for (const r of recs) {
    if (r['new_connection'] !== true || r['mid_flow_pickup'] === true || r['src_ip'] === undefined) continue;
    const proto = r['protocol'] === 'ICMPv4' ? 'ICMP' : (r['protocol'] as 'TCP' | 'UDP' | 'ICMPv6');
    const flow: import('../../src/policy/types.js').Flow = {
      src: r['src_ip'] as string,
      dst: r['dst_ip'] as string,
      protocol: proto,
      ...(r['src_port'] !== undefined ? { srcPort: r['src_port'] as number, dstPort: r['dst_port'] as number } : {}),
      ...(r['icmp_type'] !== undefined ? { icmpType: r['icmp_type'] as number, icmpCode: r['icmp_code'] as number } : {}),
    };
    const d = evaluate(cluster, flow);
    const want = d.verdict === 'DROP' ? 'DROPPED' : 'FORWARDED';
    if (want !== r['verdict']) {
      t.fail(`record ${r['index']}: ${JSON.stringify(flow)} reference ${d.verdict} (${d.detail}), replay ${r['verdict']}`);
      break;
    }
    compared++;
    if (want === 'FORWARDED') allowed++;
  }
  t.ok(compared > 1000, `${compared} connections compared`);
  t.ok(allowed > 0 && allowed < compared, `${allowed} allowed, ${compared - allowed} denied`);
});

t.test('-o summary: the counts the workers keep (2 workers) equal the main thread\'s (1 worker, and with --write-dropped)', async (t) => {
  const capture = path.join(tmp, 'summary.pcap');
  const g = await kpf(['gen', 'traffic', '--lab', '-o', capture, '--packets', '20000', '--flows', '2000', '--seed', '4', '--mix', 'tcp=60,udp=25,icmp=15']);
  t.equal(g.code, 0, g.stderr);
  const run = async (...extra: string[]) => {
    const metrics = path.join(tmp, `s${extra.join('')}.prom`.replace(/[^\w.]/g, ''));
    const r = await kpf(['replay', '--lab', capture, '-o', 'summary', '--batch-size', '1024', '--metrics', metrics, ...extra]);
    t.equal(r.code, 0, r.stderr);
    // everything but the timing line, and the counters that depend on how records were spread over workers
    const m = readFileSync(metrics, 'utf8')
      .split('\n')
      .filter((l) => /^kpf_(packets|bytes|drops|bypass|capture_records|default_verdicts)_total/.test(l));
    return { text: r.stdout.replace(/^Time: .*$/m, ''), metrics: m };
  };
  const one = await run('--workers', '1');
  const two = await run('--workers', '2');
  const ordered = await run('--workers', '2', '--write-dropped', path.join(tmp, 'dropped.pcap'));
  t.match(one.text, /Records: 20000 /);
  t.match(one.text, /Top dropped flows:\n +\d+ {2}\S+ -> /, 'the top dropped flows are listed');
  t.equal(two.text, one.text, '2 workers counting: the same summary');
  t.equal(ordered.text, one.text, '2 workers, counted on the main thread: the same summary');
  t.same(two.metrics, one.metrics);
  t.ok(one.metrics.length >= 6);
});

t.test('a worker killed mid-replay with -o summary: its records are counted with the default verdict', async (t) => {
  process.env['KPF_TEST_CRASH_BATCH'] = '0';
  try {
    for (const workers of ['1', '2']) {
      const r = await kpf(['replay', '--lab', LAB_PCAP, '-o', 'summary', '--workers', workers]);
      t.equal(r.code, 3, 'degraded run exits 3');
      t.match(r.stdout, /Records: 46 /);
      const n = Number(/Default verdicts after worker failures: (\d+)/.exec(r.stdout)?.[1]);
      t.ok(n > 0, `${workers} worker(s): ${n} default verdicts`);
      t.match(r.stdout, new RegExp(`DROPPED +WORKER_FAILED +${n} `), 'counted by reason');
      t.match(r.stderr, new RegExp(`${n} records got the default verdict`));
    }
  } finally {
    delete process.env['KPF_TEST_CRASH_BATCH'];
  }
});
