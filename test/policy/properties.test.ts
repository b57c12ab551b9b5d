/**
 * Property tests of the reference evaluator (fast-check, fixed seed, bounded runs):
 *   - order of policies, rules, peers and ports never changes a verdict (E6, §4.3);
 *   - adding an allow rule to an isolating policy, or a whole policy that isolates nothing new, never denies a flow
 *     that was allowed (v1 has no deny rules);
 *   - with no policies everything is allowed (pod↔pod, pod→external, external→pod, any protocol).
 */
import t from 'tap';
import fc from 'fast-check';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../../src/core/options.js';
import type { Cluster } from '../../src/cluster/model.js';
import type {
  LabelSelector,
  NetworkPolicyObject,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  PolicyType,
} from '../../src/manifests/types.js';
import { evaluate, isAllowed } from '../../src/policy/reference.js';
import type { Flow } from '../../src/policy/types.js';
import { makeCluster, namespace, netpol, pod } from './fixtures.js';

const SEED = 20240611;
const RUNS = 400;

const NAMESPACES = ['ns0', 'ns1', 'ns2'];
const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b'];
const EXTERNAL = ['8.8.8.8', '192.168.7.7', '10.9.0.1'];

// ---- cluster ----------------------------------------------------------------------------------------------------

const labelsArb = fc.record({ app: fc.option(fc.constantFrom(...VALUES), { nil: undefined }), tier: fc.option(fc.constantFrom(...VALUES), { nil: undefined }) }).map((r) => {
  const out: Record<string, string> = {};
  if (r.app !== undefined) out['app'] = r.app;
  if (r.tier !== undefined) out['tier'] = r.tier;
  return out;
});

const clusterArb = fc
  .record({
    nsLabels: fc.array(labelsArb, { minLength: 3, maxLength: 3 }),
    pods: fc.array(fc.record({ ns: fc.constantFrom(...NAMESPACES), labels: labelsArb, named: fc.boolean() }), { minLength: 2, maxLength: 6 }),
  })
  .map(({ nsLabels, pods }) => ({
    namespaces: NAMESPACES.map((n, i) => namespace(n, nsLabels[i]!)),
    pods: pods.map((p, i) =>
      pod(p.ns, `p${i}`, p.labels, [`10.244.${NAMESPACES.indexOf(p.ns)}.${10 + i}`], {
        ports: p.named ? [{ name: 'web', containerPort: 80 + (i % 2), protocol: 'TCP' }] : [],
      }),
    ),
  }));

// ---- policies ---------------------------------------------------------------------------------------------------

const selectorArb: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant<LabelSelector>({ matchLabels: {}, matchExpressions: [] }),
  fc.record({ k: fc.constantFrom(...KEYS), v: fc.constantFrom(...VALUES) }).map(({ k, v }): LabelSelector => ({ matchLabels: { [k]: v }, matchExpressions: [] })),
  fc
    .record({ k: fc.constantFrom(...KEYS), op: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist' as const), v: fc.constantFrom(...VALUES) })
    .map(({ k, op, v }): LabelSelector => ({
      matchLabels: {},
      matchExpressions: [{ key: k, operator: op as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values: op === 'In' || op === 'NotIn' ? [v] : [] }],
    })),
);

const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  selectorArb.map((s) => ({ podSelector: s })),
  selectorArb.map((s) => ({ namespaceSelector: s })),
  fc.tuple(selectorArb, selectorArb).map(([a, b]) => ({ podSelector: a, namespaceSelector: b })),
  fc
    .record({ cidr: fc.constantFrom('10.244.0.0/16', '10.244.1.0/24', '0.0.0.0/0', '8.8.8.8/32'), ex: fc.boolean() })
    .map(({ cidr, ex }) => ({ ipBlock: { cidr, except: ex && cidr !== '8.8.8.8/32' ? ['10.244.1.0/25'] : [] } })),
);

const portArb: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP' as const), port: fc.integer({ min: 79, max: 82 }) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP' as const), port: fc.integer({ min: 79, max: 81 }), endPort: fc.integer({ min: 81, max: 83 }) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP' as const) }),
  fc.constant<NetworkPolicyPort>({ protocol: 'TCP', port: 'web' }),
);

const ruleArb: fc.Arbitrary<NetworkPolicyRule> = fc.record({
  peers: fc.array(peerArb, { maxLength: 2 }),
  ports: fc.array(portArb, { maxLength: 2 }),
});

const policyTypesArb: fc.Arbitrary<PolicyType[]> = fc.constantFrom<PolicyType[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress']);

const policyArb = (i: number): fc.Arbitrary<NetworkPolicyObject> =>
  fc
    .record({
      ns: fc.constantFrom(...NAMESPACES),
      podSelector: selectorArb,
      policyTypes: policyTypesArb,
      ingress: fc.array(ruleArb, { maxLength: 2 }),
      egress: fc.array(ruleArb, { maxLength: 2 }),
    })
    .map((p) => netpol(p.ns, `pol${i}`, { podSelector: p.podSelector, policyTypes: p.policyTypes, ingress: p.ingress, egress: p.egress }));

const policiesArb = fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policyArb(i))));

// ---- flows ------------------------------------------------------------------------------------------------------

interface FlowSpec {
  src: number; // index into pods, or -1 external
  dst: number;
  ext: string;
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'ICMP';
  port: number;
}

const flowSpecArb: fc.Arbitrary<FlowSpec> = fc.record({
  src: fc.integer({ min: -1, max: 5 }),
  dst: fc.integer({ min: -1, max: 5 }),
  ext: fc.constantFrom(...EXTERNAL),
  protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ICMP' as const),
  port: fc.integer({ min: 79, max: 83 }),
});

function toFlow(c: Cluster, f: FlowSpec): Flow {
  const ip = (i: number): string => (i < 0 ? f.ext : c.pods[i % c.pods.length]!.ips[0]!);
  let src = ip(f.src);
  const dst = ip(f.dst);
  if (src === dst && f.src < 0) src = '1.2.3.4';
  return f.protocol === 'ICMP'
    ? { src, dst, protocol: 'ICMP', icmpType: 8, icmpCode: 0 }
    : { src, dst, protocol: f.protocol, srcPort: 40000, dstPort: f.port };
}

const semArb: fc.Arbitrary<SemanticsOptions> = fc
  .record({ ipBlockPods: fc.constantFrom('match', 'ignore' as const), icmp: fc.constantFrom('portless', 'allow' as const) })
  .map((s) => ({ ...DEFAULT_SEMANTICS, ...s }));

// ---- helpers ----------------------------------------------------------------------------------------------------

function shuffle<T>(xs: readonly T[], keys: number[]): T[] {
  return xs
    .map((x, i) => ({ x, k: keys[i % Math.max(keys.length, 1)] ?? 0, i }))
    .sort((a, b) => a.k - b.k || b.i - a.i)
    .map((e) => e.x);
}

function permutePolicy(p: NetworkPolicyObject, keys: number[]): NetworkPolicyObject {
  const pr = (r: NetworkPolicyRule): NetworkPolicyRule => ({ peers: shuffle(r.peers, keys), ports: shuffle(r.ports, [...keys].reverse()) });
  return { ...p, ingress: shuffle(p.ingress.map(pr), keys), egress: shuffle(p.egress.map(pr), [...keys].reverse()) };
}

function build(parts: { namespaces: ReturnType<typeof namespace>[]; pods: ReturnType<typeof pod>[] }, policies: NetworkPolicyObject[]): Cluster {
  const c = makeCluster({ ...parts, policies: [] });
  return { ...c, policies }; // keep the given order: the evaluator must not depend on it
}

const opts = { seed: SEED, numRuns: RUNS };

t.test('policy, rule, peer and port order never changes a verdict', async (t) => {
  const seen = { ALLOW: 0, DROP: 0, BYPASS: 0 };
  fc.assert(
    fc.property(clusterArb, policiesArb, fc.array(flowSpecArb, { minLength: 1, maxLength: 6 }), fc.array(fc.integer(), { minLength: 1, maxLength: 8 }), semArb, (parts, policies, flows, keys, sem) => {
      const a = build(parts, [...policies]);
      const b = build(parts, shuffle(policies, keys).map((p) => permutePolicy(p, keys)));
      for (const fs of flows) {
        const f = toFlow(a, fs);
        const da = evaluate(a, f, sem);
        const db = evaluate(b, f, sem);
        seen[da.verdict]++;
        if (da.verdict !== db.verdict || da.reason !== db.reason) return false;
        if (da.ingress.isolatedBy.join() !== db.ingress.isolatedBy.join() || da.egress.isolatedBy.join() !== db.egress.isolatedBy.join()) return false;
        const set = (rs: { policy: string }[]) => [...new Set(rs.map((r) => r.policy))].sort().join();
        if (set(da.ingress.allowedBy) !== set(db.ingress.allowedBy) || set(da.egress.allowedBy) !== set(db.egress.allowedBy)) return false;
      }
      return true;
    }),
    opts,
  );
  // the generators are not degenerate: both verdicts occur often
  t.ok(seen.DROP > RUNS / 4, `DROP verdicts: ${seen.DROP}`);
  t.ok(seen.ALLOW > RUNS / 4, `ALLOW verdicts: ${seen.ALLOW}`);
});

t.test('adding an allow rule never denies an allowed flow', async (t) => {
  fc.assert(
    fc.property(clusterArb, policiesArb, fc.nat(), ruleArb, fc.constantFrom('ingress', 'egress' as const), fc.array(flowSpecArb, { minLength: 1, maxLength: 6 }), semArb, (parts, policies, which, extra, dir, flows, sem) => {
      if (policies.length === 0) return true;
      const before = build(parts, policies);
      const i = which % policies.length;
      const grown = policies.map((p, j) => (j === i ? { ...p, [dir]: [...p[dir], extra] } : p));
      const after = build(parts, grown);
      for (const fs of flows) {
        const f = toFlow(before, fs);
        if (isAllowed(evaluate(before, f, sem)) && !isAllowed(evaluate(after, f, sem))) return false;
      }
      return true;
    }),
    opts,
  );
  t.pass('monotone in rules');
});

t.test('adding a policy that isolates nothing new never denies an allowed flow', async (t) => {
  fc.assert(
    fc.property(clusterArb, policiesArb, fc.nat(), fc.array(ruleArb, { maxLength: 2 }), fc.array(ruleArb, { maxLength: 2 }), fc.array(flowSpecArb, { minLength: 1, maxLength: 6 }), semArb, (parts, policies, which, ing, eg, flows, sem) => {
      if (policies.length === 0) return true;
      const model = policies[which % policies.length]!;
      // same namespace, selector and policyTypes as an existing policy ⇒ exactly the same pods isolated in the same directions
      const added = netpol(model.namespace, 'added', { podSelector: model.podSelector, policyTypes: model.policyTypes, ingress: ing, egress: eg });
      const before = build(parts, policies);
      const after = build(parts, [...policies, added]);
      for (const fs of flows) {
        const f = toFlow(before, fs);
        if (isAllowed(evaluate(before, f, sem)) && !isAllowed(evaluate(after, f, sem))) return false;
      }
      return true;
    }),
    opts,
  );
  t.pass('monotone in policies');
});

t.test('no policies: everything is allowed', async (t) => {
  fc.assert(
    fc.property(clusterArb, fc.array(flowSpecArb, { minLength: 1, maxLength: 10 }), semArb, (parts, flows, sem) => {
      const c = build(parts, []);
      for (const fs of flows) {
        const d = evaluate(c, toFlow(c, fs), sem);
        if (!isAllowed(d)) return false;
        if (d.egress.isolated || d.ingress.isolated) return false;
      }
      return true;
    }),
    opts,
  );
  t.pass('allow-all without policies');
});
