/**
 * The stateful per-packet pipeline (datapath/classify.ts) on the lab cluster: conntrack replies, Service NAT both
 * ways, ICMP RELATED/INVALID, fragments, mid-flow pickup, non-IP and ND bypass, revision swaps under both
 * --on-policy-change settings, and bounded tables under a flood.
 */
import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import type { Cluster } from '../../src/cluster/model.js';
import { DropReason } from '../../src/core/enums.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../../src/core/options.js';
import { Classifier, ForwardReason, PacketFlag, PacketVerdict, VerdictBatch, type ClassifierOptions } from '../../src/datapath/classify.js';
import { labFiles } from '../../src/lab/lab.js';
import { loadManifests } from '../../src/manifests/index.js';
import { compile } from '../../src/policy/compile.js';
import { buildSnapshot } from '../../src/policy/snapshot.js';
import { arp, cat, ethernet, icmp, icmpEcho, ipv4, ipv6, tcp, udp, type Bytes } from '../fixtures/captures/builders.js';

const SYN = 0x02;
const ACK = 0x10;
const SYNACK = 0x12;
const FIN = 0x01;
const RST = 0x04;

async function labCluster(step: number): Promise<Cluster> {
  const l = await loadManifests(labFiles(step), {});
  return buildCluster(l.objects, {}).cluster;
}

function snap(c: Cluster, sem: SemanticsOptions = DEFAULT_SEMANTICS, revision = 1) {
  return buildSnapshot(compile(c, { semantics: sem, revision }), { shared: false });
}

function ipOf(c: Cluster, ns: string, name: string): string {
  return c.pods.find((p) => p.namespace === ns && p.name === name)!.ips[0]!;
}

/** Runs frames (Ethernet) through a classifier, 1 ms apart; returns [verdict, reason, flags] per frame. */
function run(cl: Classifier, frames: Bytes[], t0 = 1_800_000_000): Array<[number, number, number]> {
  const out = new VerdictBatch(frames.length);
  frames.forEach((f, i) => {
    cl.ct.timeNs = (t0 + i / 1000) * 1e9;
    cl.classify(1, f, 0, f.length, f.length, out, i);
  });
  return frames.map((_, i) => [out.verdict[i]!, out.reason[i]!, out.flags[i]!]);
}

const v4 = (src: string, dst: string, proto: number, l4: Bytes, extra: Partial<Parameters<typeof ipv4>[0]> = {}) =>
  ethernet(0x0800, ipv4({ src, dst, proto, ...extra }, l4));

const F = PacketVerdict.FORWARDED;
const D = PacketVerdict.DROPPED;

t.test('E24 TCP: a connection the policies allow, its replies, and the reverse direction they deny', async (t) => {
  const c = await labCluster(4);
  const cl = new Classifier(snap(c));
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const nginx = c.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const r = run(cl, [
    v4(debug, nginx, 6, tcp({ sport: 42000, dport: 80, flags: SYN })),
    v4(nginx, debug, 6, tcp({ sport: 80, dport: 42000, flags: SYNACK })),
    v4(debug, nginx, 6, tcp({ sport: 42000, dport: 80, flags: ACK })),
    v4(nginx, debug, 6, tcp({ sport: 80, dport: 42000, flags: ACK | FIN })),
    // nginx may not open connections to debug: its egress allows only DNS
    v4(nginx, debug, 6, tcp({ sport: 43000, dport: 80, flags: SYN })),
  ]);
  t.same(r[0], [F, ForwardReason.POLICY, PacketFlag.NEW]);
  t.same(r[1], [F, ForwardReason.REPLY, PacketFlag.REPLY]);
  t.same(r[2], [F, ForwardReason.ESTABLISHED, 0]);
  t.same(r[3], [F, ForwardReason.REPLY, PacketFlag.REPLY]);
  t.same(r[4], [D, DropReason.POLICY_DENIED, PacketFlag.NEW]);
  t.equal(cl.counters.policyEvaluations, 2);
});

t.test('E21/E24 Service NAT: request to the ClusterIP, replies from the ClusterIP or from the backend', async (t) => {
  const c = await labCluster(2);
  const cl = new Classifier(snap(c));
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const dns = c.services.find((s) => s.name === 'kube-dns')!.clusterIPs[0]!;
  const coredns = c.pods.find((p) => p.labels['k8s-app'] === 'kube-dns')!.ips[0]!;
  const svc = c.services.find((s) => s.name === 'my-nginx-clusterip')!.clusterIPs[0]!;
  const r = run(cl, [
    v4(debug, dns, 17, udp(41000, 53, new Uint8Array(20))),
    v4(dns, debug, 17, udp(53, 41000, new Uint8Array(40))),
    v4(coredns, debug, 17, udp(53, 41000, new Uint8Array(40))),
    // DNS to a port the Service does not have
    v4(debug, dns, 17, udp(41002, 5353, new Uint8Array(20))),
    // step 2: debug's egress allows only DNS, so the Service name does not work
    v4(debug, svc, 6, tcp({ sport: 42000, dport: 80, flags: SYN })),
  ]);
  t.same(r[0], [F, ForwardReason.POLICY, PacketFlag.NEW | PacketFlag.NAT]);
  t.same(r[1], [F, ForwardReason.REPLY, PacketFlag.REPLY], 'reply from the ClusterIP (captured on the client side)');
  t.same(r[2], [F, ForwardReason.REPLY, PacketFlag.REPLY], 'reply from the backend (captured after kube-proxy)');
  t.same(r[3], [D, DropReason.SERVICE_BACKEND_NOT_FOUND, PacketFlag.NEW]);
  t.same(r[4], [D, DropReason.POLICY_DENIED, PacketFlag.NEW]);
});

t.test('E14/E25 ICMP: echo replies, errors related to a flow, errors about nothing', async (t) => {
  const c = await labCluster(4);
  const cl = new Classifier(snap(c));
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const nginx = c.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const quoted = ipv4({ src: debug, dst: nginx, proto: 6 }, tcp({ sport: 42000, dport: 80, flags: SYN }));
  const unknown = ipv4({ src: debug, dst: nginx, proto: 6 }, tcp({ sport: 45000, dport: 80, flags: SYN }));
  const coredns = c.pods.find((p) => p.labels['k8s-app'] === 'kube-dns')!.ips[0]!;
  const r = run(cl, [
    v4(debug, coredns, 1, icmpEcho(8, 7, 1)), // allowed: allow-dns has no ports, so it matches ICMP too
    v4(coredns, debug, 1, icmpEcho(0, 7, 1)),
    v4(nginx, debug, 1, icmpEcho(8, 7, 1)), // nginx egress allows only the DNS pods
    v4(debug, nginx, 1, icmpEcho(8, 9, 1)), // nginx ingress allows only TCP/80 (a rule with ports never matches ICMP)
    v4(debug, nginx, 6, tcp({ sport: 42000, dport: 80, flags: SYN })),
    v4(nginx, debug, 1, icmp(3, 3, new Uint8Array(4), quoted.subarray(0, 28))), // port unreachable about that flow
    v4(nginx, debug, 1, icmp(3, 3, new Uint8Array(4), unknown.subarray(0, 28))), // about no flow: INVALID, nginx isolated
  ]);
  t.same(r[0], [F, ForwardReason.POLICY, PacketFlag.NEW]);
  t.same(r[1], [F, ForwardReason.REPLY, PacketFlag.REPLY]);
  t.same(r[2], [D, DropReason.POLICY_DENIED, PacketFlag.NEW]);
  t.same(r[3], [D, DropReason.POLICY_DENIED, PacketFlag.NEW]);
  t.equal(r[5]![0], F);
  t.equal(r[5]![1], ForwardReason.RELATED);
  t.same(r[6], [D, DropReason.CT_TRUNCATED_OR_INVALID_HEADER, 0]);
  // an echo request B→A never rides A→B's entry
  const again = run(cl, [v4(coredns, debug, 1, icmpEcho(8, 7, 2))], 1_800_000_005);
  t.same(again[0], [D, DropReason.POLICY_DENIED, PacketFlag.NEW], 'coredns → debug echo request is a new flow, denied by debug\'s ingress');
});

t.test('E30 fragments follow the first fragment', async (t) => {
  const c = await labCluster(4);
  const cl = new Classifier(snap(c));
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const nginx = c.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const seg = tcp({ sport: 42000, dport: 80, flags: SYN }, new Uint8Array(40));
  const r = run(cl, [
    v4(debug, nginx, 6, seg.subarray(0, 32), { id: 99, mf: true, l4sum: false }),
    v4(debug, nginx, 6, seg.subarray(32), { id: 99, fragOff: 32, l4sum: false }),
    v4(debug, nginx, 6, seg.subarray(32), { id: 100, fragOff: 32, l4sum: false }),
    v4(nginx, debug, 6, seg.subarray(0, 32), { id: 7, mf: true, l4sum: false }), // denied first fragment…
    v4(nginx, debug, 6, seg.subarray(32), { id: 7, fragOff: 32, l4sum: false }), // …and its tail
  ]);
  t.equal(r[0]![0], F);
  t.same(r[1], [F, ForwardReason.FRAGMENT, 0]);
  t.same(r[2], [D, DropReason.FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND, 0]);
  t.equal(r[3]![0], D);
  t.same(r[4], [D, DropReason.POLICY_DENIED, 0]);
  const off = new Classifier(snap(c), { fragTracking: false });
  t.same(run(off, [v4(debug, nginx, 6, seg.subarray(0, 32), { id: 5, mf: true, l4sum: false })])[0], [D, DropReason.IP_FRAGMENTATION_NOT_SUPPORTED, 0]);
});

t.test('mid-flow pickup: observed (default), either, off', async (t) => {
  const c = await labCluster(4);
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const nginx = c.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const s = snap(c);
  const ack = v4(debug, nginx, 6, tcp({ sport: 42001, dport: 80, flags: ACK }));
  const backAck = v4(nginx, debug, 6, tcp({ sport: 80, dport: 42002, flags: ACK }));
  const observed = run(new Classifier(s), [ack, backAck]);
  t.same(observed[0], [F, ForwardReason.POLICY, PacketFlag.NEW | PacketFlag.PICKUP]);
  t.same(observed[1], [D, DropReason.POLICY_DENIED, PacketFlag.NEW | PacketFlag.PICKUP], 'server side first: evaluated backwards, denied');
  const either = run(new Classifier(s, { pickup: 'either' }), [backAck, v4(debug, nginx, 6, tcp({ sport: 42002, dport: 80, flags: ACK }))]);
  t.equal(either[0]![0], F, 'either: the other orientation is allowed');
  t.equal(either[0]![2] & PacketFlag.REPLY, PacketFlag.REPLY);
  t.same(either[1], [F, ForwardReason.ESTABLISHED, 0], 'the entry was recorded in the allowed orientation');
  const off = run(new Classifier(s, { pickup: 'off' }), [ack]);
  t.same(off[0], [D, DropReason.CT_TRUNCATED_OR_INVALID_HEADER, 0], 'off: INVALID, and debug is isolated');
});

t.test('E15/E29 non-IP frames and IPv6 neighbour discovery bypass policy', async (t) => {
  const c = await labCluster(1);
  const s = snap(c);
  const r = run(new Classifier(s), [
    ethernet(0x0806, arp()),
    ethernet(0x86dd, ipv6({ src: 'fe80::1', dst: 'ff02::1:ff00:1', nh: 58 }, icmp(135, 0, new Uint8Array(4), new Uint8Array(16)))),
  ]);
  t.same(r[0], [F, ForwardReason.NON_IP, PacketFlag.BYPASS]);
  t.same(r[1], [F, ForwardReason.ICMPV6_ND, PacketFlag.NEW | PacketFlag.BYPASS]);
  const strict = snap(c, { ...DEFAULT_SEMANTICS, nonIp: 'drop' });
  t.same(run(new Classifier(strict), [ethernet(0x0806, arp())])[0], [D, DropReason.UNSUPPORTED_L3_PROTOCOL, 0]);
});

t.test('malformed frames are dropped with their reason', async (t) => {
  const c = await labCluster(0);
  const cl = new Classifier(snap(c));
  const short = ethernet(0x0800, new Uint8Array([0x45, 0, 0]));
  const r = run(cl, [short]);
  t.equal(r[0]![0], D);
  t.equal(r[0]![1], DropReason.INVALID_PACKET_DROPPED);
});

t.test('E26 revision swap: established connections keep their verdict, or are re-evaluated', async (t) => {
  const open = await labCluster(4);
  const closed = await labCluster(1);
  const debug = ipOf(open, 'prod-nginx', 'debug');
  const nginx = open.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const syn = v4(debug, nginx, 6, tcp({ sport: 42000, dport: 80, flags: SYN }));
  const synack = v4(nginx, debug, 6, tcp({ sport: 80, dport: 42000, flags: SYNACK }));
  const ack = v4(debug, nginx, 6, tcp({ sport: 42000, dport: 80, flags: ACK }));
  const fresh = v4(debug, nginx, 6, tcp({ sport: 42001, dport: 80, flags: SYN }));
  for (const mode of ['keep', 'reevaluate'] as const) {
    const sem = { ...DEFAULT_SEMANTICS, onPolicyChange: mode };
    const cl = new Classifier(snap(open, sem, 1));
    t.same(run(cl, [syn, synack]).map((x) => x[0]), [F, F]);
    cl.setSnapshot(snap(closed, sem, 2));
    const after = run(cl, [ack, fresh], 1_800_000_001);
    t.equal(after[1]![0], D, `${mode}: a new connection gets the new revision's verdict`);
    if (mode === 'keep') t.same(after[0], [F, ForwardReason.ESTABLISHED, 0], 'keep: the established connection goes on');
    else t.same(after[0], [D, DropReason.POLICY_DENIED, 0], 'reevaluate: the established connection is cut');
  }
});

t.test('E31 a batch is classified under one revision: swaps between batches give old or new verdicts, never a mix', async (t) => {
  const open = await labCluster(4);
  const closed = await labCluster(1);
  const debug = ipOf(open, 'prod-nginx', 'debug');
  const nginx = open.pods.find((p) => p.labels['app'] === 'nginx')!.ips[0]!;
  const cl = new Classifier(snap(open, DEFAULT_SEMANTICS, 1));
  const snaps = [snap(open, DEFAULT_SEMANTICS, 1), snap(closed, DEFAULT_SEMANTICS, 2)];
  for (let b = 0; b < 20; b++) {
    cl.setSnapshot(snaps[b % 2]!);
    const frames = Array.from({ length: 50 }, (_, i) => v4(debug, nginx, 6, tcp({ sport: 10000 + b * 50 + i, dport: 80, flags: SYN })));
    const r = run(cl, frames, 1_800_000_000 + b);
    const want = b % 2 === 0 ? F : D;
    t.ok(
      r.every((x) => x[0] === want),
      `batch ${b} (revision ${(b % 2) + 1}): all ${want === F ? 'forwarded' : 'dropped'}`,
    );
  }
});

t.test('tables stay within their bounds under a flood of new flows', async (t) => {
  const c = await labCluster(0);
  const cl = new Classifier(snap(c), { conntrack: { tcpMax: 1024, anyMax: 1024 }, verdictCacheMax: 64 } satisfies ClassifierOptions);
  const debug = ipOf(c, 'prod-nginx', 'debug');
  const frames: Bytes[] = [];
  for (let i = 0; i < 20_000; i++) frames.push(v4(debug, `203.0.${(i >> 8) & 255}.${i & 255}`, 6, tcp({ sport: 1024 + (i % 60000), dport: 443, flags: SYN })));
  const r = run(cl, frames);
  t.ok(r.every((x) => x[0] === F));
  const st = cl.ct.stats();
  t.ok(st.tcp.entries <= 1024, `${st.tcp.entries} entries ≤ 1024`);
  t.ok(st.tcp.evictions.non_assured + st.tcp.evictions.expired + st.tcp.evictions.lru >= 20_000 - 1024, 'evictions counted');
  t.ok(cl.vc.stats().entries <= 64);
  void cat;
  void RST;
});
