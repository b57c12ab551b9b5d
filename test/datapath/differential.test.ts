/**
 * The compiled dataplane gives exactly the reference evaluator's verdicts.
 *
 * Random clusters (namespaces, pods with IPv4 and IPv6 addresses, named ports, terminal and hostNetwork pods,
 * Services with numeric and named targetPorts, policies with every kind of peer, ports, endPort ranges,
 * ipBlock/except) under random semantics switches, and random flows between pods, Services, the node and the
 * outside, over TCP, UDP, SCTP, ICMP and ICMPv6. At least 100,000 flows per run; on a difference fast-check shrinks
 * the case and the message prints the cluster, the flow and both decisions.
 */
import fc from 'fast-check';
import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import type { Cluster } from '../../src/cluster/model.js';
import { isPolicyEndpoint } from '../../src/cluster/model.js';
import { DropReason } from '../../src/core/enums.js';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../../src/core/options.js';
import { Classifier, PacketVerdict, VerdictBatch } from '../../src/datapath/classify.js';
import { Decision, Verdict, Why, decide, type DecideInput } from '../../src/datapath/decide.js';
import type { KubeObject, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule } from '../../src/manifests/types.js';
import { compile } from '../../src/policy/compile.js';
import { evaluate } from '../../src/policy/reference.js';
import { buildSnapshot, decideInputOf } from '../../src/policy/snapshot.js';
import type { Decision as RefDecision, Flow } from '../../src/policy/types.js';
import { ethernet, ipv4, tcp, udp } from '../fixtures/captures/builders.js';
import { expr, netpol, npPort, ns, peer, pod, port, rule, sel, svc, svcPort } from '../helpers/objects.js';
import { RECORD_COLS, frameBatch } from './traffic.js';

const NAMESPACES = ['a', 'b', 'c'];
const APPS = ['web', 'db', 'api'];
const CIDRS: Array<[string, string[]]> = [
  ['10.244.1.0/24', ['10.244.1.0/29']],
  ['10.244.1.8/29', []],
  ['0.0.0.0/0', ['10.0.0.0/8']],
  ['203.0.113.0/24', ['203.0.113.128/25']],
  ['172.18.0.0/16', []],
  ['fd00::/64', ['fd00::/125']],
  ['::/0', []],
];
const CONTAINER_PORTS = [port(80, 'http'), port(8080, 'http'), port(53, 'dns', 'UDP'), port(5432, 'pg'), port(9000, 'ms', 'SCTP'), port(8090)];
const POLICY_PORTS: NetworkPolicyPort[] = [
  npPort(80),
  npPort('http'),
  npPort(53, 'UDP'),
  npPort(undefined, 'SCTP'),
  npPort(8000, 'TCP', 8100),
  npPort(5432),
  npPort('dns', 'UDP'),
  npPort('ms', 'SCTP'),
  npPort(undefined, 'UDP'),
];
const DPORTS = [80, 53, 8080, 8090, 8000, 8100, 8101, 7999, 5432, 9000, 443];
const EXTERNAL = ['203.0.113.5', '203.0.113.200', '198.51.100.7', '10.1.2.3', '2001:db8::1', 'fd00::3'];

const labelsArb = fc.record({ app: fc.constantFrom(...APPS), tier: fc.constantFrom('fe', 'be') }, { requiredKeys: [] });
const selectorArb = fc.oneof(
  fc.constant(sel()),
  labelsArb.map((l) => sel(l as Record<string, string>)),
  fc.constantFrom(...APPS).map((a) => sel({}, [expr('app', 'NotIn', a)])),
  fc.constant(sel({}, [expr('tier', 'Exists')])),
);
const nsSelectorArb = fc.oneof(
  fc.constant(sel()),
  fc.constantFrom('x', 'y').map((team) => sel({ team })),
  fc.constantFrom(...NAMESPACES).map((n) => sel({ 'kubernetes.io/metadata.name': n })),
);
const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  selectorArb.map((s) => peer({ pod: s })),
  nsSelectorArb.map((s) => peer({ ns: s })),
  fc.tuple(selectorArb, nsSelectorArb).map(([p, n]) => peer({ pod: p, ns: n })),
  fc.constantFrom(...CIDRS).map(([cidr, except]) => peer({ cidr, except })),
);
const ruleArb: fc.Arbitrary<NetworkPolicyRule> = fc
  .tuple(fc.array(peerArb, { maxLength: 2 }), fc.subarray(POLICY_PORTS, { maxLength: 2 }))
  .map(([peers, ports]) => rule(peers, ports));

interface Spec {
  nsTeams: string[];
  pods: Array<{ ns: number; labels: Record<string, string>; ports: number[]; v6: boolean; kind: 'live' | 'terminal' | 'host' }>;
  services: Array<{ ns: number; app: string; named: boolean; v6: boolean }>;
  policies: Array<{
    ns: number;
    podSelector: ReturnType<typeof sel>;
    types: 'default' | 'I' | 'E' | 'IE';
    ingress: NetworkPolicyRule[];
    egress: NetworkPolicyRule[];
  }>;
  sem: SemanticsOptions;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  nsTeams: fc.array(fc.constantFrom('x', 'y'), { minLength: 3, maxLength: 3 }),
  pods: fc.array(
    fc.record({
      ns: fc.nat({ max: 2 }),
      labels: labelsArb as fc.Arbitrary<Record<string, string>>,
      ports: fc.subarray([0, 1, 2, 3, 4, 5]).filter((p) => !(p.includes(0) && p.includes(1))),
      v6: fc.boolean(),
      kind: fc.constantFrom('live', 'live', 'live', 'live', 'terminal', 'host') as fc.Arbitrary<'live' | 'terminal' | 'host'>,
    }),
    { minLength: 1, maxLength: 8 },
  ),
  services: fc.array(fc.record({ ns: fc.nat({ max: 2 }), app: fc.constantFrom(...APPS), named: fc.boolean(), v6: fc.boolean() }), { maxLength: 3 }),
  policies: fc.array(
    fc.record({
      ns: fc.nat({ max: 2 }),
      podSelector: selectorArb,
      types: fc.constantFrom('default', 'I', 'E', 'IE') as fc.Arbitrary<'default' | 'I' | 'E' | 'IE'>,
      ingress: fc.array(ruleArb, { maxLength: 2 }),
      egress: fc.array(ruleArb, { maxLength: 2 }),
    }),
    { maxLength: 5 },
  ),
  sem: fc.record({
    ipBlockPods: fc.constantFrom('match', 'ignore') as fc.Arbitrary<'match' | 'ignore'>,
    hairpin: fc.constantFrom('policy', 'allow') as fc.Arbitrary<'policy' | 'allow'>,
    icmp: fc.constantFrom('portless', 'allow') as fc.Arbitrary<'portless' | 'allow'>,
    nonIp: fc.constant('allow' as const),
    icmpv6Bypass: fc.constantFrom([133, 134, 135, 136, 137], [], [128, 133]),
    nodeIngress: fc.constantFrom('allow', 'policy') as fc.Arbitrary<'allow' | 'policy'>,
    onPolicyChange: fc.constant('keep' as const),
    serviceDnat: fc.constantFrom('on', 'on', 'off') as fc.Arbitrary<'on' | 'off'>,
  }),
});

function objectsOf(s: Spec): KubeObject[] {
  const objs: KubeObject[] = NAMESPACES.map((n, i) => ns(n, { team: s.nsTeams[i]! }));
  s.pods.forEach((p, i) => {
    const ips = [`10.244.1.${i + 2}`, ...(p.v6 ? [`fd00::${(i + 2).toString(16)}`] : [])];
    objs.push(
      pod(NAMESPACES[p.ns]!, `p${i}`, {
        labels: p.labels,
        ports: p.ports.map((k) => CONTAINER_PORTS[k]!),
        ...(p.kind === 'host' ? { hostNetwork: true } : { ips }),
        phase: p.kind === 'terminal' ? 'Succeeded' : 'Running',
      }),
    );
  });
  s.services.forEach((v, i) => {
    objs.push(
      svc(NAMESPACES[v.ns]!, `s${i}`, {
        selector: { app: v.app },
        clusterIPs: [`10.96.1.${i + 1}`, ...(v.v6 ? [`fd00:96::${i + 1}`] : [])],
        ports: [svcPort(80, { name: 'web', targetPort: v.named ? 'http' : 80 }), svcPort(53, { name: 'dns', protocol: 'UDP', targetPort: v.named ? 'dns' : 53 })],
      }),
    );
  });
  s.policies.forEach((p, i) => {
    const policyTypes = p.types === 'default' ? undefined : p.types === 'I' ? ['Ingress' as const] : p.types === 'E' ? ['Egress' as const] : ['Ingress' as const, 'Egress' as const];
    objs.push(netpol(NAMESPACES[p.ns]!, `np${i}`, { podSelector: p.podSelector, ...(policyTypes ? { policyTypes } : {}), ingress: p.ingress, egress: p.egress }));
  });
  return objs;
}

interface FlowPick {
  src: number;
  dst: number;
  proto: number;
  dport: number;
  sport: number;
  icmpType: number;
}
const flowPickArb: fc.Arbitrary<FlowPick> = fc.record({
  src: fc.nat(),
  dst: fc.nat(),
  proto: fc.nat({ max: 5 }),
  dport: fc.nat({ max: DPORTS.length - 1 }),
  sport: fc.integer({ min: 1024, max: 65535 }),
  icmpType: fc.constantFrom(0, 8, 3, 128, 129, 133, 135, 136),
});

function addresses(c: Cluster): { srcs: string[]; dsts: string[] } {
  const podIPs = c.pods.filter(isPolicyEndpoint).flatMap((p) => p.ips);
  const nodeIPs = c.nodes.flatMap((n) => n.ips);
  const svcIPs = c.services.flatMap((s) => s.clusterIPs);
  return { srcs: [...podIPs, ...nodeIPs, ...EXTERNAL], dsts: [...podIPs, ...svcIPs, ...podIPs, ...nodeIPs, ...EXTERNAL] };
}

function flowOf(pick: FlowPick, srcs: string[], dsts: string[]): Flow | null {
  const src = srcs[pick.src % srcs.length]!;
  const v6 = src.includes(':');
  const same = dsts.filter((d) => d.includes(':') === v6);
  if (same.length === 0) return null;
  const dst = same[pick.dst % same.length]!;
  const protos = ['TCP', 'UDP', 'SCTP', v6 ? 'ICMPv6' : 'ICMP', 47, 'TCP'] as const;
  const protocol = protos[pick.proto]!;
  if (protocol === 'ICMP' || protocol === 'ICMPv6') return { src, dst, protocol, icmpType: pick.icmpType, icmpCode: 0 };
  if (protocol === 47) return { src, dst, protocol };
  return { src, dst, protocol, srcPort: pick.sport, dstPort: DPORTS[pick.dport]! };
}

const inputOf = (f: Flow): DecideInput => decideInputOf(f);

/** The reference decision in the compiled dataplane's terms. */
export function expectedCode(d: RefDecision): string {
  switch (d.reason) {
    case 'policy':
      return 'ALLOW';
    case 'POLICY_DENIED':
      return `DROP ${DropReason.POLICY_DENIED} ${d.deniedBy === 'Egress' ? 1 : 0}`;
    case 'SERVICE_BACKEND_NOT_FOUND':
      return `DROP ${DropReason.SERVICE_BACKEND_NOT_FOUND} -1`;
    case 'loopback':
      return `BYPASS ${Why.LOOPBACK}`;
    case 'node_ingress':
      return `BYPASS ${Why.NODE_INGRESS}`;
    case 'hairpin':
      return `BYPASS ${Why.HAIRPIN}`;
    case 'icmpv6_nd':
      return `BYPASS ${Why.ICMPV6_ND}`;
    case 'icmp_allow':
      return `BYPASS ${Why.ICMP_ALLOW}`;
  }
}

export function actualCode(d: Decision): string {
  if (d.verdict === Verdict.ALLOW) return 'ALLOW';
  if (d.verdict === Verdict.BYPASS) return `BYPASS ${d.reason}`;
  return `DROP ${d.reason} ${d.deniedDir}`;
}

const RUNS = 250;
const FLOWS_PER_CLUSTER = 400;
let compared = 0;

t.test(`compiled verdicts equal the reference's (${RUNS} clusters × ${FLOWS_PER_CLUSTER} flows)`, (t) => {
  const out = new Decision();
  fc.assert(
    fc.property(specArb, fc.array(flowPickArb, { minLength: FLOWS_PER_CLUSTER, maxLength: FLOWS_PER_CLUSTER }), (spec, picks) => {
      const built = buildCluster(objectsOf(spec), { defaultDns: false });
      const errors = built.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) throw new Error(`generator made an invalid cluster: ${errors.map((e) => e.message).join('; ')}`);
      const c = built.cluster;
      const snap = buildSnapshot(compile(c, { semantics: spec.sem }), { shared: false });
      const { srcs, dsts } = addresses(c);
      for (const pick of picks) {
        const f = flowOf(pick, srcs, dsts);
        if (!f) continue;
        const ref = evaluate(c, f, spec.sem);
        const got = decide(snap, inputOf(f), out);
        const want = expectedCode(ref);
        const have = actualCode(got);
        compared++;
        if (want !== have) {
          throw new Error(`flow ${JSON.stringify(f)}: reference ${want} (${ref.detail}), compiled ${have}`);
        }
        if (ref.nat && got.backend >= 0) {
          const port = snap.services.bePort[got.backend];
          if (port !== ref.nat.backendPort) throw new Error(`flow ${JSON.stringify(f)}: backend port ${port} ≠ reference ${ref.nat.backendPort}`);
        }
      }
    }),
    { numRuns: RUNS, seed: 20261126, endOnFailure: true },
  );
  t.ok(compared >= 100_000, `${compared} flows compared`);
  t.end();
});

t.test('the lab through the compiled dataplane gives the lab\'s results', async (t) => {
  const { runLab } = await import('../../src/lab/run.js');
  const out = new Decision();
  const compiled = (c: Cluster, sem: SemanticsOptions) => {
    const snap = buildSnapshot(compile(c, { semantics: sem }), { shared: false });
    return (f: Flow) => {
      const d = decide(snap, inputOf(f), out);
      return { allowed: d.verdict !== Verdict.DROP, detail: actualCode(d) };
    };
  };
  const viaCompiled = await runLab(DEFAULT_SEMANTICS, compiled);
  const viaReference = await runLab(DEFAULT_SEMANTICS);
  for (const [i, s] of viaCompiled.entries()) {
    for (const [j, r] of s.results.entries()) {
      t.ok(r.ok, `step ${s.step.index} ${r.label}: ${r.outcome}${r.expected ? ` (lab: ${r.expected})` : ''}`);
      t.equal(r.outcome, viaReference[i]!.results[j]!.outcome, `step ${s.step.index} ${r.label} same as the reference`);
    }
  }
});

const WASM_RUNS = 120;
let decidedInWasm = 0;
let framesCompared = 0;

t.test(`the WebAssembly module's first-packet decisions equal the reference's (${WASM_RUNS} clusters)`, (t) => {
  fc.assert(
    fc.property(specArb, fc.array(flowPickArb, { minLength: 200, maxLength: 200 }), (spec, picks) => {
      const c = buildCluster(objectsOf(spec), { defaultDns: false }).cluster;
      const snap = buildSnapshot(compile(c, { semantics: spec.sem }), { shared: false });
      const { srcs, dsts } = addresses(c);
      const flows: Flow[] = [];
      for (const pick of picks) {
        const f = flowOf(pick, srcs, dsts);
        if (f && !f.src.includes(':') && (f.protocol === 'TCP' || f.protocol === 'UDP')) flows.push(f);
      }
      if (flows.length === 0) return;
      // each flow's first packet: a bare SYN or a datagram, in one batch
      const frames = flows.map((f) =>
        f.protocol === 'TCP'
          ? ethernet(0x0800, ipv4({ src: f.src, dst: f.dst, proto: 6 }, tcp({ sport: f.srcPort!, dport: f.dstPort!, flags: 0x02 })))
          : ethernet(0x0800, ipv4({ src: f.src, dst: f.dst, proto: 17 }, udp(f.srcPort!, f.dstPort!))),
      );
      const args = frameBatch(frames, 1_800_000_000);
      const w = new Classifier(snap, { conntrack: { tcpMax: 4096, anyMax: 4096 } });
      const p = new Classifier(snap, { conntrack: { tcpMax: 4096, anyMax: 4096, wasm: false } });
      const a = new VerdictBatch(frames.length);
      const b = new VerdictBatch(frames.length);
      w.classifyBatch(...args, a);
      p.classifyBatch(...args, b);
      decidedInWasm += w.decidedInWasm;
      for (let i = 0; i < flows.length; i++) {
        const f = flows[i]!;
        for (const col of RECORD_COLS) {
          if (a[col][i] !== b[col][i]) throw new Error(`flow ${JSON.stringify(f)}: ${col} WebAssembly ${a[col][i]}, TypeScript ${b[col][i]}`);
        }
        // a repeated tuple is a packet of the connection its first occurrence opened (or a retransmitted denied SYN)
        if (flows.findIndex((g) => g.src === f.src && g.dst === f.dst && g.protocol === f.protocol && g.srcPort === f.srcPort && g.dstPort === f.dstPort) !== i) continue;
        const ref = evaluate(c, f, spec.sem);
        const want = ref.reason === 'POLICY_DENIED' || ref.reason === 'SERVICE_BACKEND_NOT_FOUND' ? PacketVerdict.DROPPED : PacketVerdict.FORWARDED;
        if (a.verdict[i] !== want) throw new Error(`flow ${JSON.stringify(f)}: reference ${expectedCode(ref)} (${ref.detail}), WebAssembly verdict ${a.verdict[i]}`);
        framesCompared++;
      }
    }),
    { numRuns: WASM_RUNS, seed: 20261127, endOnFailure: true },
  );
  t.ok(framesCompared >= 5_000, `${framesCompared} first packets compared`);
  t.ok(decidedInWasm >= framesCompared / 4, `${decidedInWasm} of them decided by the module`);
  t.end();
});
