/**
 * The prober for real, on plain namespaces standing in for kpf live's pod namespaces: pod a (198.18.1.1) in one,
 * pod b (198.18.1.2, also answering for the Service's ClusterIP 198.19.0.10 as kpf live's DNAT would deliver it) in
 * the other, joined by a veth. Nothing enforces the policy here, so every probe is answered by the kernels (RST, ICMP
 * port/protocol unreachable, echo reply) and the differences are exactly the cells the policy denies.
 */
import t from 'tap';
import { loadRawSocket } from '../../src/probe/probe-agent.js';
import { buildPlan, compareTables, expectedTable, observedTable } from '../../src/probe/plan.js';
import { runAgent, runPlan } from '../../src/probe/run.js';
import { parsePorts } from '../../src/cli/commands/probe.js';
import { failUnless, gate, makePair, netnsUnavailable } from '../watch/netns.js';
import { PROBE_MANIFESTS, probeCluster } from './fixtures.js';

function rawSocketMissing(): string | null {
  try {
    loadRawSocket();
    return null;
  } catch {
    return 'the optional package raw-socket is not built (run npm ci)';
  }
}

const WHY = netnsUnavailable() ?? rawSocketMissing();
const A = '198.18.1.1';
const B = '198.18.1.2';
const VIP = '198.19.0.10';

t.test('probes between two namespaces', gate(WHY), async (t) => {
  if (!failUnless(t, WHY)) return;
  const p = makePair(t.teardown.bind(t), [A], [B], [VIP]);
  const cluster = await probeCluster(PROBE_MANIFESTS(A, B, VIP));
  const plan = buildPlan(cluster, parsePorts('80/TCP,53/UDP,9/SCTP'));
  const nsOf: Record<string, string> = { 'pt/a': p.nsA, 'pt/b': p.nsB };
  const results = await runPlan(plan, (k) => nsOf[k]!, { timeoutMs: 1500, concurrency: 2 });
  t.equal(results.size, plan.probes.length, 'a result for every probe');
  const res = (table: string, from: string, to: string) => {
    const pr = plan.probes.find((x) => x.table === table && x.from === from && x.to === to)!;
    return results.get(pr.id)!;
  };
  t.match(res('80/TCP', 'pt/a', 'pt/b'), { result: 'reachable', how: 'RST', from: B }, 'SYN to a closed port: RST');
  t.match(res('80/TCP', 'pt/a', 'svc:pt/web'), { result: 'reachable', how: 'RST', from: VIP });
  t.match(res('80/TCP', 'pt/a', 'pt/a'), { result: 'reachable', how: 'RST' }, 'own address');
  t.match(res('53/UDP', 'pt/a', 'pt/b'), { result: 'reachable', how: 'ICMP port unreachable' });
  t.match(res('53/UDP', 'pt/b', 'pt/a'), { result: 'reachable', how: 'ICMP port unreachable' });
  t.match(res('9/SCTP', 'pt/a', 'pt/b'), { result: 'reachable', how: /^(ABORT|INIT-ACK|ICMP protocol unreachable)$/ });
  t.match(res('ICMP', 'pt/a', 'pt/b'), { result: 'reachable', how: 'ICMP echo reply' });
  t.match(res('ICMP', 'pt/b', 'pt/b'), { result: 'reachable', how: 'ICMP echo reply' });

  // observed vs computed: the differences are the cells the policy denies (b admits only a, only on 80/TCP)
  const diffs = plan.tables.flatMap((tk) => {
    const e = expectedTable(cluster, tk);
    return compareTables(tk.label, e, observedTable(plan, tk, e, results));
  });
  // a pod's SCTP INIT to itself meets the prober's own raw SCTP socket: on a kernel without SCTP nobody answers
  const got = diffs.filter((d) => !(d.table === '9/SCTP' && d.from === d.to)).map((d) => `${d.table} ${d.from}>${d.to} ${d.expected}${d.observed}`);
  t.same(got.sort(), [
    '53/UDP pt/a>pt/b X.',
    '53/UDP pt/a>svc:pt/web X.',
    '53/UDP pt/b>svc:pt/web X.',
    '80/TCP pt/b>svc:pt/web X.',
    '9/SCTP pt/a>pt/b X.',
    'ICMP pt/a>pt/b X.',
  ].sort());
});

t.test('silence is unreachable, within the timeout', gate(WHY), async (t) => {
  if (!failUnless(t, WHY)) return;
  const p = makePair(t.teardown.bind(t), [A], [B]);
  const started = Date.now();
  // 198.18.1.99 is on the link but nobody holds it: ARP goes unanswered
  const r = await runAgent(p.nsA, { src: A, timeoutMs: 800, probes: [
    { id: 1, proto: 'TCP', dst: '198.18.1.99', port: 80 },
    { id: 2, proto: 'UDP', dst: '198.18.1.99', port: 53 },
    { id: 3, proto: 'ICMP', dst: '198.18.1.99' },
    { id: 4, proto: 'TCP', dst: B, port: 22 },
    { id: 5, proto: 'TCP', dst: 'fd00::1', port: 80 },
  ] });
  const by = new Map(r.map((x) => [x.id, x]));
  for (const id of [1, 2, 3]) t.match(by.get(id), { result: 'unreachable' }, `probe ${id}`);
  t.match(by.get(4), { result: 'reachable', how: 'RST' });
  t.match(by.get(5), { result: 'unsupported' });
  t.ok(Date.now() - started < 20_000, 'bounded');
});
