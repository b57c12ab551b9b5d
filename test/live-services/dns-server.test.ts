/**
 * The live cluster DNS: wire format (queries built with src/gen/dns.ts and dns-wire.ts, answers parsed back), the
 * records of the lab cluster, and the server on real UDP/TCP sockets and as its runnable entry (loopback, no root).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import { DnsFlag, dnsQueryA, dnsResponseA } from '../../src/gen/dns.js';
import { loadStepCluster } from '../../src/lab/run.js';
import { DnsServer, DnsZone, answerQuery, zoneFromCluster, type DnsZoneData } from '../../src/live/services/dns-server.js';
import {
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_OPT,
  DNS_TYPE_SOA,
  DNS_TYPE_ANY,
  Rcode,
  encodeQuery,
  parseMessage,
  type DnsMessage,
} from '../../src/live/services/dns-wire.js';
import { entryCommand } from '../../src/live/services/netns-exec.js';
import { pod, svc, svcPort } from '../helpers/objects.js';

const { cluster } = await loadStepCluster(5);
const zone = new DnsZone(zoneFromCluster(cluster));
const SVC = 'my-nginx-clusterip.prod-nginx.svc.cluster.local';
const SVC_IP = cluster.services.find((s) => s.name === 'my-nginx-clusterip')!.clusterIPs[0]!;

function ask(q: Uint8Array, transport: 'udp' | 'tcp' = 'udp', z = zone): DnsMessage {
  const r = answerQuery(z, q, { transport });
  if (!r) throw new Error('no answer');
  return parseMessage(r);
}
const rcode = (m: DnsMessage): number => m.flags & 0xf;
const has = (m: DnsMessage, f: number): boolean => (m.flags & f) !== 0;

t.test('A for a Service: the ClusterIP, authoritative, RD and RA, byte for byte what src/gen/dns.ts encodes', async (t) => {
  const q = dnsQueryA(0x1234, SVC);
  const raw = answerQuery(zone, q, { transport: 'udp' })!;
  t.same([...raw], [...dnsResponseA(0x1234, SVC, Uint8Array.from(SVC_IP.split('.').map(Number)), 30, true)]);
  const m = parseMessage(raw);
  t.equal(m.id, 0x1234);
  t.ok(has(m, DnsFlag.QR) && has(m, DnsFlag.AA) && has(m, DnsFlag.RD) && has(m, DnsFlag.RA));
  t.equal(rcode(m), Rcode.NOERROR);
  t.same(m.answers.map((a) => [a.name, a.type, a.data, a.ttl]), [[SVC, DNS_TYPE_A, SVC_IP, 30]]);
});

t.test('kube-dns itself, case-insensitive matching with the question echoed as asked', async (t) => {
  const m = ask(encodeQuery(7, 'KUBE-DNS.Kube-System.svc.Cluster.Local', DNS_TYPE_A));
  t.same(m.answers.map((a) => a.data), ['10.96.0.10']);
  t.same(m.questions[0]!.labels, ['KUBE-DNS', 'Kube-System', 'svc', 'Cluster', 'Local'], '0x20 case survives');
  t.equal(m.answers[0]!.name, 'kube-dns.kube-system.svc.cluster.local');
});

t.test('RD is echoed, not forced', async (t) => {
  const m = ask(encodeQuery(8, SVC, DNS_TYPE_A, { rd: false }));
  t.notOk(has(m, DnsFlag.RD));
  t.ok(has(m, DnsFlag.AA));
  t.equal(m.answers.length, 1);
});

t.test('AAAA of an IPv4-only Service: NODATA (NOERROR, no answer) with the zone SOA', async (t) => {
  const m = ask(encodeQuery(9, SVC, DNS_TYPE_AAAA));
  t.equal(rcode(m), Rcode.NOERROR);
  t.equal(m.answers.length, 0);
  t.same(m.authority.map((a) => [a.name, a.type]), [['cluster.local', DNS_TYPE_SOA]]);
  t.ok(has(m, DnsFlag.AA));
});

t.test('unknown names: NXDOMAIN with SOA inside the cluster domain, without AA outside it', async (t) => {
  const a = ask(encodeQuery(10, 'nope.prod-nginx.svc.cluster.local', DNS_TYPE_A));
  t.equal(rcode(a), Rcode.NXDOMAIN);
  t.ok(has(a, DnsFlag.AA));
  t.equal(a.authority[0]?.type, DNS_TYPE_SOA);
  // what the resolver's search list tries first for the external name
  const s = ask(encodeQuery(11, 'cloudyuga.guru.prod-nginx.svc.cluster.local', DNS_TYPE_A));
  t.equal(rcode(s), Rcode.NXDOMAIN);
  const b = ask(encodeQuery(12, 'example.org', DNS_TYPE_A));
  t.equal(rcode(b), Rcode.NXDOMAIN);
  t.notOk(has(b, DnsFlag.AA));
  t.ok(has(b, DnsFlag.QR) && has(b, DnsFlag.RD));
  t.equal(b.authority.length, 0);
});

t.test('empty non-terminals exist: NOERROR without answers', async (t) => {
  for (const n of ['prod-nginx.svc.cluster.local', 'svc.cluster.local', 'cluster.local']) {
    const m = ask(encodeQuery(13, n, DNS_TYPE_A));
    t.equal(rcode(m), Rcode.NOERROR, n);
    t.equal(m.answers.length, 0, n);
  }
  const soa = ask(encodeQuery(14, 'cluster.local', DNS_TYPE_SOA));
  t.equal(soa.answers[0]?.type, DNS_TYPE_SOA);
  t.match(soa.answers[0]!.data, /^ns\.dns\.cluster\.local hostmaster\.cluster\.local 1 /);
});

t.test('the external site of the lab, and configurable extra names', async (t) => {
  const m = ask(encodeQuery(15, 'cloudyuga.guru', DNS_TYPE_A));
  t.same(m.answers.map((a) => a.data), ['203.0.113.80']);
  t.ok(has(m, DnsFlag.AA));
  const nodata = ask(encodeQuery(16, 'cloudyuga.guru', DNS_TYPE_AAAA));
  t.equal(rcode(nodata), Rcode.NOERROR);
  t.equal(nodata.answers.length, 0);
  t.equal(rcode(ask(encodeQuery(17, 'guru', DNS_TYPE_A))), Rcode.NXDOMAIN, 'the parent of an extra name is not ours');
  const z = new DnsZone(zoneFromCluster(cluster, { extraNames: { 'Example.COM': ['192.0.2.7', '2001:db8::7'] } }));
  t.same(ask(encodeQuery(18, 'example.com', DNS_TYPE_A), 'udp', z).answers.map((a) => a.data), ['192.0.2.7']);
  t.same(ask(encodeQuery(19, 'example.com', DNS_TYPE_AAAA), 'udp', z).answers.map((a) => [a.type, a.data]), [[DNS_TYPE_AAAA, '2001:db8::7']]);
  t.same(ask(encodeQuery(20, 'example.com', DNS_TYPE_ANY), 'udp', z).answers.map((a) => a.data), ['192.0.2.7', '2001:db8::7']);
  t.equal(rcode(ask(encodeQuery(21, 'cloudyuga.guru', DNS_TYPE_A), 'udp', z)), Rcode.NXDOMAIN, 'extra names replace the defaults');
});

t.test('pod records: A-B-C-D.NAMESPACE.pod.cluster.local', async (t) => {
  const m = ask(encodeQuery(22, '10-244-64-100.prod-nginx.pod.cluster.local', DNS_TYPE_A));
  t.same(m.answers.map((a) => a.data), ['10.244.64.100']);
  const v6 = ask(encodeQuery(23, 'fd00-10-244--5.default.pod.cluster.local', DNS_TYPE_AAAA));
  t.same(v6.answers.map((a) => a.data), ['fd00:10:244::5']);
  t.equal(rcode(ask(encodeQuery(24, '10-244-64.prod-nginx.pod.cluster.local', DNS_TYPE_A))), Rcode.NXDOMAIN);
  t.equal(rcode(ask(encodeQuery(25, '10-244-64-100.pod.cluster.local', DNS_TYPE_A))), Rcode.NXDOMAIN);
});

t.test('headless Services answer with the ready pods they select', async (t) => {
  const built = buildCluster([
    pod('db', 'db-0', { labels: { app: 'db' }, ips: ['10.1.0.5'], phase: 'Running' }),
    pod('db', 'db-1', { labels: { app: 'db' }, ips: ['10.1.0.6'], phase: 'Running' }),
    pod('db', 'db-2', { labels: { app: 'db' }, ips: ['10.1.0.7'], phase: 'Pending' }),
    pod('db', 'other', { labels: { app: 'x' }, ips: ['10.1.0.8'], phase: 'Running' }),
    svc('db', 'db', { clusterIPs: ['None'], selector: { app: 'db' }, ports: [svcPort(5432)] }),
  ]);
  const z = new DnsZone(zoneFromCluster(built.cluster));
  const m = ask(encodeQuery(26, 'db.db.svc.cluster.local', DNS_TYPE_A), 'udp', z);
  t.same(m.answers.map((a) => a.data).sort(), ['10.1.0.5', '10.1.0.6']);
});

t.test('EDNS(0): OPT echoed with our UDP size; version 1 gets BADVERS', async (t) => {
  const m = ask(encodeQuery(27, SVC, DNS_TYPE_A, { edns: 4096 }));
  t.same(m.edns, { udpSize: 1232, version: 0, dnssecOk: false });
  t.equal(m.answers.length, 1);
  const raw = answerQuery(zone, encodeQuery(28, SVC, DNS_TYPE_A, { edns: 4096, ednsVersion: 1 }), { transport: 'udp' })!;
  const b = parseMessage(raw);
  t.equal(b.answers.length, 0);
  t.equal(rcode(b), 0, 'the header holds the low 4 bits of 16');
  // the OPT record's TTL high byte is the extended rcode: 16 >> 4 = 1
  const optAt = raw.length - 11;
  t.equal((raw[optAt + 1]! << 8) | raw[optAt + 2]!, DNS_TYPE_OPT);
  t.equal(raw[optAt + 5], 1);
});

t.test('big answers: truncated over UDP (TC), whole over TCP', async (t) => {
  const many: Record<string, string[]> = { 'big.example': Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`) };
  const z = new DnsZone({ domain: 'cluster.local', hosts: many, podRecords: true, ttl: 30 });
  const udp = ask(encodeQuery(29, 'big.example', DNS_TYPE_A), 'udp', z);
  t.ok(has(udp, DnsFlag.TC));
  t.equal(udp.answers.length, 0);
  t.equal(udp.questions.length, 1);
  const edns = ask(encodeQuery(30, 'big.example', DNS_TYPE_A, { edns: 1232 }), 'udp', z);
  t.notOk(has(edns, DnsFlag.TC), '40 A records fit in 1232 bytes');
  t.equal(edns.answers.length, 40);
  const tcp = ask(encodeQuery(31, 'big.example', DNS_TYPE_A), 'tcp', z);
  t.notOk(has(tcp, DnsFlag.TC));
  t.equal(tcp.answers.length, 40);
});

t.test('malformed and unsupported queries', async (t) => {
  t.equal(answerQuery(zone, Uint8Array.from([1, 2, 3]), { transport: 'udp' }), null, 'shorter than a header: silence');
  const resp = dnsResponseA(1, SVC, Uint8Array.from([1, 2, 3, 4]), 30, true);
  t.equal(answerQuery(zone, resp, { transport: 'udp' }), null, 'a response is never answered');
  const notimp = ask(encodeQuery(32, SVC, DNS_TYPE_A, { opcode: 2 }));
  t.equal(rcode(notimp), Rcode.NOTIMP);
  t.equal((notimp.flags >>> 11) & 0xf, 2, 'opcode echoed');
  const none = Uint8Array.from([0, 33, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(rcode(ask(none)), Rcode.FORMERR, 'no question');
  const q = dnsQueryA(34, SVC);
  t.equal(rcode(ask(q.subarray(0, q.length - 3))), Rcode.FORMERR, 'truncated question');
  // a name that points at itself
  const loop = Uint8Array.from([0, 35, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  const l = ask(loop);
  t.equal(rcode(l), Rcode.FORMERR);
  t.equal(l.id, 35);
  t.equal(rcode(ask(encodeQuery(36, 'version.bind', 16, { klass: 3 }))), Rcode.REFUSED, 'class CH');
});

async function udpAsk(port: number, q: Uint8Array): Promise<DnsMessage> {
  const s = createSocket('udp4');
  try {
    return await new Promise<DnsMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no UDP answer')), 3000);
      s.on('message', (m) => {
        clearTimeout(timer);
        resolve(parseMessage(m));
      });
      s.send(q, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

async function tcpAsk(port: number, qs: Uint8Array[]): Promise<DnsMessage[]> {
  return await new Promise<DnsMessage[]>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('no TCP answer'));
    }, 3000);
    let buf = Buffer.alloc(0);
    const out: DnsMessage[] = [];
    c.on('error', reject);
    c.on('connect', () => {
      // both queries in one write, the second split across two writes: framing must hold
      const frames = qs.map((q) => {
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length, 0);
        f.set(q, 2);
        return f;
      });
      const all = Buffer.concat(frames);
      c.write(all.subarray(0, all.length - 5));
      setTimeout(() => c.write(all.subarray(all.length - 5)), 20);
    });
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        out.push(parseMessage(buf.subarray(2, 2 + n)));
        buf = buf.subarray(2 + n);
      }
      if (out.length === qs.length) {
        clearTimeout(timer);
        c.end();
        resolve(out);
      }
    });
  });
}

t.test('DnsServer answers on UDP and TCP (pipelined, split frames) and takes a new zone', async (t) => {
  const server = new DnsServer(zoneFromCluster(cluster), { addresses: ['127.0.0.1'], port: 0 });
  await server.start();
  t.teardown(() => server.close());
  const b = server.bound[0]!;
  const u = await udpAsk(b.udpPort, dnsQueryA(41, SVC));
  t.same(u.answers.map((a) => a.data), [SVC_IP]);
  const [x, y] = await tcpAsk(b.tcpPort, [dnsQueryA(42, SVC), dnsQueryA(43, 'cloudyuga.guru')]);
  t.same([x!.id, x!.answers[0]?.data], [42, SVC_IP]);
  t.same([y!.id, y!.answers[0]?.data], [43, '203.0.113.80']);
  const next: DnsZoneData = { domain: 'cluster.local', hosts: { [SVC]: ['10.0.0.99'] }, podRecords: false, ttl: 5 };
  server.setZone(next);
  const z = await udpAsk(b.udpPort, dnsQueryA(44, SVC));
  t.same(z.answers.map((a) => [a.data, a.ttl]), [['10.0.0.99', 5]]);
  t.equal(server.queries, 4);
});

t.test('dns-main: the runnable entry binds, answers, takes a new zone on stdin and exits when stdin closes', async (t) => {
  const [node, ...args] = entryCommand('dns-main');
  const child = spawn(node!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const lines: string[] = [];
  let wake: () => void = () => undefined;
  child.stdout.setEncoding('utf8');
  let buf = '';
  child.stdout.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake();
  });
  const next = async (): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 10_000;
    while (lines.length === 0) {
      if (Date.now() > deadline) throw new Error('no line from dns-main');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return JSON.parse(lines.shift()!) as Record<string, unknown>;
  };
  child.stdin.write(JSON.stringify({ addresses: ['127.0.0.1'], port: 0, zone: zoneFromCluster(cluster) }) + '\n');
  const ready = await next();
  t.equal(ready['ready'], true);
  const bound = (ready['bound'] as Array<{ udpPort: number }>)[0]!;
  const m = await udpAsk(bound.udpPort, dnsQueryA(51, SVC));
  t.same(m.answers.map((a) => a.data), [SVC_IP]);
  child.stdin.write(JSON.stringify({ zone: { domain: 'cluster.local', hosts: { [SVC]: ['10.0.0.42'] }, podRecords: true, ttl: 30 } }) + '\n');
  t.same(await next(), { updated: true });
  t.same((await udpAsk(bound.udpPort, dnsQueryA(52, SVC))).answers.map((a) => a.data), ['10.0.0.42']);
  child.stdin.end();
  t.equal(await exited, 0, 'exits 0 once stdin closes');
});
