/**
 * Table-driven E-row tests of the reference evaluator (semantics.md §5), every implementation-defined switch the
 * evaluator reads in both settings, and the endPort boundaries.
 */
import t, { type Test } from 'tap';
import { DEFAULT_SEMANTICS, type SemanticsOptions } from '../../src/core/options.js';
import type { NetworkPolicyObject } from '../../src/manifests/types.js';
import { parseIP } from '../../src/core/ip.js';
import { evaluate, flowTupleHashText, serviceBackendsForPort } from '../../src/policy/reference.js';
import { backendHash as flowTupleHash, chooseBackend } from '../../src/core/hash.js';
import { ipWords } from '../../src/core/ip.js';
import type { Decision, Flow } from '../../src/policy/types.js';
import { expr, netpol, peer, port, rule, sel } from './fixtures.js';
import { IP, scenario } from './scenario.js';

interface Case {
  id: string;
  policies: NetworkPolicyObject[];
  flow: Flow;
  sem?: Partial<SemanticsOptions>;
  verdict: Decision['verdict'];
  reason?: Decision['reason'];
  check?: (d: Decision, t: Test) => void;
}

const tcp = (src: string, dst: string, dstPort: number, srcPort = 40000): Flow => ({ src, dst, protocol: 'TCP', srcPort, dstPort });
const udp = (src: string, dst: string, dstPort: number): Flow => ({ src, dst, protocol: 'UDP', srcPort: 40000, dstPort });
const sctp = (src: string, dst: string, dstPort: number): Flow => ({ src, dst, protocol: 'SCTP', srcPort: 40000, dstPort });
const icmp = (src: string, dst: string): Flow => ({ src, dst, protocol: 'ICMP', icmpType: 8, icmpCode: 0 });
const icmp6 = (src: string, dst: string, type: number): Flow => ({ src, dst, protocol: 'ICMPv6', icmpType: type, icmpCode: 0 });

const denyIngress = (ns: string, podSelector = sel()) => netpol(ns, 'deny-ingress', { podSelector, ingress: [] });
const denyEgress = (ns: string, podSelector = sel()) => netpol(ns, 'deny-egress', { podSelector, policyTypes: ['Egress'] });
const web = sel({ app: 'web' });
/** ingress to prod/web-* with one rule */
const webIngress = (r: ReturnType<typeof rule>, name = 'web-in') => netpol('prod', name, { podSelector: web, ingress: [r] });
/** egress of dev/client with one rule */
const clientEgress = (r: ReturnType<typeof rule>, name = 'client-out') =>
  netpol('dev', name, { podSelector: sel({ app: 'client' }), policyTypes: ['Egress'], egress: [r] });

const CASES: Case[] = [
  // E1 — {} selects every pod of the policy's namespace, never other namespaces
  { id: 'E1 empty podSelector isolates own ns', policies: [denyIngress('prod')], flow: tcp(IP.client, IP.db, 5432), verdict: 'DROP', reason: 'POLICY_DENIED',
    check: (d, t) => { t.same(d.ingress.isolatedBy, ['prod/deny-ingress']); t.equal(d.deniedBy, 'Ingress'); } },
  { id: 'E1 other namespaces untouched', policies: [denyIngress('prod')], flow: tcp(IP.web0, IP.legacy, 80), verdict: 'ALLOW', reason: 'policy',
    check: (d, t) => t.equal(d.ingress.isolated, false) },
  // E2 — ingress absent/[] vs [{}]
  { id: 'E2 ingress [] denies', policies: [netpol('prod', 'p', { podSelector: web, ingress: [] })], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E2 ingress [{}] allows', policies: [netpol('prod', 'p', { podSelector: web, ingress: [rule()] })], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW',
    check: (d, t) => t.same(d.ingress.allowedBy, [{ policy: 'prod/p', direction: 'ingress', index: 0 }]) },
  { id: 'E2 egress [] denies external', policies: [denyEgress('dev')], flow: tcp(IP.client, IP.ext, 443), verdict: 'DROP',
    check: (d, t) => { t.equal(d.deniedBy, 'Egress'); t.equal(d.ingress.evaluated, false); } },
  { id: 'E2 egress [{}] allows external', policies: [clientEgress(rule())], flow: tcp(IP.client, IP.ext, 443), verdict: 'ALLOW' },
  // E3 — empty from = every peer incl. external; empty ports = every protocol
  { id: 'E3 from [] admits external', policies: [webIngress(rule([], [port(8080)]))], flow: tcp(IP.ext, IP.web0, 8080), verdict: 'ALLOW',
    check: (d, t) => t.equal(d.egress.evaluated, false) },
  { id: 'E3 ports [] admits ICMP', policies: [webIngress(rule([peer({ ns: sel() })]))], flow: icmp(IP.client, IP.web0), verdict: 'ALLOW' },
  { id: 'E3 ports [] admits GRE', policies: [webIngress(rule([peer({ ns: sel() })]))], flow: { src: IP.client, dst: IP.web0, protocol: 47 }, verdict: 'ALLOW' },
  // E4 — podSelector {} vs namespaceSelector {} vs both vs two items
  { id: 'E4 podSelector {} = own ns only (cross ns)', policies: [webIngress(rule([peer({ pod: sel() })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP',
    check: (d, t) => t.match(d.ingress.denials[0]?.why, /namespace dev ≠ prod/) },
  { id: 'E4 podSelector {} = own ns only (same ns)', policies: [webIngress(rule([peer({ pod: sel() })]))], flow: tcp(IP.db, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E4 namespaceSelector {} = all pods', policies: [webIngress(rule([peer({ ns: sel() })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E4 namespaceSelector {} ≠ external', policies: [webIngress(rule([peer({ ns: sel() })]))], flow: tcp(IP.ext, IP.web0, 8080), verdict: 'DROP',
    check: (d, t) => t.match(d.ingress.denials[0]?.why, /never matches non-pod/) },
  { id: 'E4 both in one peer = AND (match)', policies: [webIngress(rule([peer({ ns: sel({ team: 'b' }), pod: sel({ app: 'client' }) })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E4 both in one peer = AND (pod fails)', policies: [webIngress(rule([peer({ ns: sel({ team: 'b' }), pod: sel({ app: 'client' }) })]))], flow: tcp(IP.legacy, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E4 both in one peer = AND (ns fails)', policies: [webIngress(rule([peer({ ns: sel({ team: 'b' }), pod: sel({ app: 'db' }) })]))], flow: tcp(IP.db, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E4 two items = OR (first)', policies: [webIngress(rule([peer({ ns: sel({ team: 'b' }) }), peer({ pod: sel({ app: 'db' }) })]))], flow: tcp(IP.legacy, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E4 two items = OR (second)', policies: [webIngress(rule([peer({ ns: sel({ team: 'b' }) }), peer({ pod: sel({ app: 'db' }) })]))], flow: tcp(IP.db, IP.web0, 8080), verdict: 'ALLOW' },
  // E7 — NotIn / DoesNotExist match pods without the key
  { id: 'E7 NotIn matches absent key', policies: [webIngress(rule([peer({ ns: sel(), pod: sel({}, [expr('app', 'NotIn', 'client')]) })]))], flow: tcp(IP.legacy, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E7 NotIn excludes listed value', policies: [webIngress(rule([peer({ ns: sel(), pod: sel({}, [expr('app', 'NotIn', 'client')]) })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E7 DoesNotExist matches absent key', policies: [webIngress(rule([peer({ ns: sel(), pod: sel({}, [expr('app', 'DoesNotExist')]) })]))], flow: tcp(IP.legacy, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E7 DoesNotExist excludes present key', policies: [webIngress(rule([peer({ ns: sel(), pod: sel({}, [expr('app', 'DoesNotExist')]) })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  // E8 — ipBlock and pod IPs, both settings
  { id: 'E8 match: ipBlock matches a pod IP', policies: [webIngress(rule([peer({ cidr: '10.244.0.0/16' })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW',
    check: (d, t) => t.ok(d.notes.some((n) => n.startsWith('E8') && n.includes('=match'))) },
  { id: 'E8 ignore: ipBlock never matches a pod IP', policies: [webIngress(rule([peer({ cidr: '10.244.0.0/16' })]))], flow: tcp(IP.client, IP.web0, 8080), sem: { ipBlockPods: 'ignore' }, verdict: 'DROP',
    check: (d, t) => t.ok(d.notes.some((n) => n.startsWith('E8') && n.includes('=ignore'))) },
  { id: 'E8 ignore: ipBlock still matches external', policies: [webIngress(rule([peer({ cidr: '0.0.0.0/0' })]))], flow: tcp(IP.ext, IP.web0, 8080), sem: { ipBlockPods: 'ignore' }, verdict: 'ALLOW' },
  // E9 — except narrows only its own peer
  { id: 'E9 excepted IP allowed by another peer', policies: [webIngress(rule([peer({ cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] }), peer({ ns: sel({ team: 'b' }) })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E9 excepted IP alone is denied', policies: [webIngress(rule([peer({ cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] })]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP',
    check: (d, t) => t.match(d.ingress.denials[0]?.why, /in except 10\.244\.2\.0\/24/) },
  { id: 'E9 non-excepted IP of the block allowed', policies: [webIngress(rule([peer({ cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] })]))], flow: tcp(IP.db, IP.web0, 8080), verdict: 'ALLOW' },
  // E10 — named ports resolve on the destination pod
  { id: 'E10 ingress named port on the selected pod', policies: [webIngress(rule([], [port('http')]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E10 ingress named port: other number denied', policies: [webIngress(rule([], [port('http')]))], flow: tcp(IP.client, IP.web0, 80), verdict: 'DROP' },
  { id: 'E10 ingress named port: protocol must match', policies: [webIngress(rule([], [port('http', 'UDP')]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E10 egress named port on the peer pod', policies: [clientEgress(rule([], [port('pg')]))], flow: tcp(IP.client, IP.db, 5432), verdict: 'ALLOW' },
  { id: 'E10 egress named port: peer lacks the name', policies: [clientEgress(rule([], [port('pg')]))], flow: tcp(IP.client, IP.web0, 5432), verdict: 'DROP' },
  { id: 'E10 egress named port: never the source pod', policies: [netpol('prod', 'db-out', { podSelector: sel({ app: 'db' }), policyTypes: ['Egress'], egress: [rule([], [port('pg')])] })], flow: tcp(IP.db, IP.client, 5432), verdict: 'DROP' },
  { id: 'E10 egress named port to external matches nothing', policies: [clientEgress(rule([], [port('pg')]))], flow: tcp(IP.client, IP.ext, 5432), verdict: 'DROP',
    check: (d, t) => t.ok(d.notes.some((n) => n.startsWith('E10'))) },
  // E12 — protocol-only port entry
  { id: 'E12 protocol-only UDP: any UDP port', policies: [clientEgress(rule([], [port(undefined, 'UDP')]))], flow: udp(IP.client, IP.ext, 9999), verdict: 'ALLOW' },
  { id: 'E12 protocol-only UDP: not TCP', policies: [clientEgress(rule([], [port(undefined, 'UDP')]))], flow: tcp(IP.client, IP.ext, 53), verdict: 'DROP' },
  // E13 — SCTP is its own protocol
  { id: 'E13 SCTP rule ≠ TCP', policies: [webIngress(rule([], [port(8080, 'SCTP')]))], flow: tcp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E13 SCTP rule = SCTP', policies: [webIngress(rule([], [port(8080, 'SCTP')]))], flow: sctp(IP.client, IP.web0, 8080), verdict: 'ALLOW' },
  { id: 'E13 TCP rule ≠ UDP', policies: [webIngress(rule([], [port(8080, 'TCP')]))], flow: udp(IP.client, IP.web0, 8080), verdict: 'DROP' },
  // E14 — ICMP, both settings
  { id: 'E14 portless: rule with ports never matches ICMP', policies: [webIngress(rule([peer({ ns: sel() })], [port(8080)]))], flow: icmp(IP.client, IP.web0), verdict: 'DROP',
    check: (d, t) => t.ok(d.notes.some((n) => n.startsWith('E14'))) },
  { id: 'E14 portless: rule with ports never matches GRE', policies: [webIngress(rule([], [port(8080)]))], flow: { src: IP.client, dst: IP.web0, protocol: 47 }, verdict: 'DROP' },
  { id: 'E14 portless: unisolated ICMP allowed', policies: [], flow: icmp(IP.client, IP.web0), verdict: 'ALLOW' },
  { id: 'E14 allow: ICMP bypasses deny-all', policies: [denyIngress('prod'), denyEgress('dev')], flow: icmp(IP.client, IP.web0), sem: { icmp: 'allow' }, verdict: 'BYPASS', reason: 'icmp_allow' },
  { id: 'E14 allow: GRE still under policy', policies: [denyIngress('prod')], flow: { src: IP.client, dst: IP.web0, protocol: 47 }, sem: { icmp: 'allow' }, verdict: 'DROP' },
  // E16 — loopback
  { id: 'E16 pod to own IP bypasses deny-all', policies: [denyIngress('prod'), denyEgress('prod')], flow: tcp(IP.web0, IP.web0, 8080), verdict: 'BYPASS', reason: 'loopback' },
  // E17 — hairpin through the pod's own Service, both settings
  { id: 'E17 policy: hairpin needs own egress+ingress', policies: [denyIngress('prod', web)], flow: tcp(IP.web0, IP.svcSolo, 80), verdict: 'DROP',
    check: (d, t) => { t.equal(d.nat?.backend, 'prod/web-0'); t.equal(d.effectiveFlow.dst, IP.web0); t.equal(d.effectiveFlow.dstPort, 8080); } },
  { id: 'E17 policy: hairpin allowed when not isolated', policies: [], flow: tcp(IP.web0, IP.svcSolo, 80), verdict: 'ALLOW' },
  { id: 'E17 allow: hairpin bypasses', policies: [denyIngress('prod', web)], flow: tcp(IP.web0, IP.svcSolo, 80), sem: { hairpin: 'allow' }, verdict: 'BYPASS', reason: 'hairpin',
    check: (d, t) => t.equal(d.nat?.backend, 'prod/web-0') },
  // E18 — ingress from the pod's own node, both settings
  { id: 'E18 allow: own node bypasses ingress', policies: [denyIngress('prod')], flow: tcp(IP.node1, IP.web0, 8080), verdict: 'BYPASS', reason: 'node_ingress' },
  { id: 'E18 allow: own node gateway IP bypasses', policies: [denyIngress('prod')], flow: tcp(IP.node1gw, IP.web0, 8080), verdict: 'BYPASS', reason: 'node_ingress' },
  { id: 'E18 allow: another node does not', policies: [denyIngress('prod')], flow: tcp(IP.node2, IP.web0, 8080), verdict: 'DROP' },
  { id: 'E18 policy: own node is subject to policy', policies: [denyIngress('prod')], flow: tcp(IP.node1, IP.web0, 8080), sem: { nodeIngress: 'policy' }, verdict: 'DROP' },
  // E19 — pod → node IP is egress to a non-pod peer
  { id: 'E19 egress to node denied under isolation', policies: [denyEgress('dev')], flow: tcp(IP.client, IP.node1, 10250), verdict: 'DROP' },
  { id: 'E19 egress to node via ipBlock', policies: [clientEgress(rule([peer({ cidr: '172.18.0.0/16' })]))], flow: tcp(IP.client, IP.node1, 10250), verdict: 'ALLOW' },
  { id: 'E19 node not matched by selectors', policies: [clientEgress(rule([peer({ ns: sel() })]))], flow: tcp(IP.client, IP.node1, 10250), verdict: 'DROP' },
  { id: 'E19 ipblock-pods=ignore: node not matched by ipBlock', policies: [clientEgress(rule([peer({ cidr: '172.18.0.0/16' })]))], flow: tcp(IP.client, IP.node1, 10250), sem: { ipBlockPods: 'ignore' }, verdict: 'DROP' },
  // E21 — Service DNAT, both settings
  { id: 'E21 on: rule on targetPort allows', policies: [webIngress(rule([], [port(8080)]))], flow: tcp(IP.client, IP.svcWeb, 80), verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.nat?.service, 'prod/web'); t.equal(d.nat?.backendPort, 8080); t.equal(d.dst.kind, 'pod'); t.equal(d.service?.name, 'prod/web'); } },
  { id: 'E21 on: Service port never matches a rule', policies: [webIngress(rule([], [port(80)]))], flow: tcp(IP.client, IP.svcWeb, 80), verdict: 'DROP' },
  { id: 'E21 on: ipBlock of the ClusterIP does not help', policies: [clientEgress(rule([peer({ cidr: `${IP.svcWeb}/32` })]))], flow: tcp(IP.client, IP.svcWeb, 80), verdict: 'DROP' },
  { id: 'E21 on: no backend', policies: [], flow: tcp(IP.client, IP.svcEmpty, 80), verdict: 'DROP', reason: 'SERVICE_BACKEND_NOT_FOUND',
    check: (d, t) => t.match(d.detail, /no ready IPv4 backend/) },
  { id: 'E21 on: port not in the Service', policies: [], flow: tcp(IP.client, IP.svcWeb, 81), verdict: 'DROP', reason: 'SERVICE_BACKEND_NOT_FOUND',
    check: (d, t) => t.match(d.detail, /not a port of Service prod\/web/) },
  { id: 'E21 on: protocol not in the Service', policies: [], flow: udp(IP.client, IP.svcWeb, 80), verdict: 'DROP', reason: 'SERVICE_BACKEND_NOT_FOUND' },
  { id: 'E21 off: ClusterIP is a plain address (no ingress check)', policies: [denyIngress('prod')], flow: tcp(IP.client, IP.svcWeb, 80), sem: { serviceDnat: 'off' }, verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.nat, undefined); t.equal(d.dst.kind, 'service'); t.equal(d.ingress.evaluated, false); } },
  { id: 'E21 off: ipBlock of the ClusterIP matches', policies: [clientEgress(rule([peer({ cidr: `${IP.svcWeb}/32` })]))], flow: tcp(IP.client, IP.svcWeb, 80), sem: { serviceDnat: 'off' }, verdict: 'ALLOW' },
  { id: 'E21 on: ICMP to a ClusterIP is dropped', policies: [], flow: icmp(IP.client, IP.svcWeb), verdict: 'DROP', reason: 'SERVICE_BACKEND_NOT_FOUND' },
  { id: 'E21/E28 DNAT keeps the family (IPv6)', policies: [], flow: tcp(IP.client6, IP.svcV6b, 80), verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.nat?.backendIP, IP.v6pod6); t.equal(d.effectiveFlow.dst, IP.v6pod6); } },
  { id: 'E21/E28 DNAT keeps the family (IPv4)', policies: [], flow: tcp(IP.client, IP.svcV6a, 80), verdict: 'ALLOW',
    check: (d, t) => t.equal(d.nat?.backendIP, IP.v6pod4) },
  // E27 — terminal pods give up their IP
  { id: 'E27 reused IP belongs to the live pod', policies: [netpol('prod', 'old-only', { podSelector: sel({ app: 'old' }), ingress: [] })], flow: tcp(IP.client, IP.reused, 80), verdict: 'ALLOW',
    check: (d, t) => t.equal(d.dst.name, 'prod/new') },
  { id: 'E27 reused IP: policies of the live pod apply', policies: [netpol('prod', 'new-only', { podSelector: sel({ app: 'new' }), ingress: [] })], flow: tcp(IP.client, IP.reused, 80), verdict: 'DROP' },
  // E28 — IPv6 / dual-stack
  { id: 'E28 0.0.0.0/0 never matches IPv6', policies: [netpol('prod', 'v6-in', { podSelector: sel({ app: 'v6' }), ingress: [rule([peer({ cidr: '0.0.0.0/0' })])] })], flow: tcp(IP.ext6, IP.v6pod6, 80), verdict: 'DROP',
    check: (d, t) => t.match(d.ingress.denials[0]?.why, /is IPv4/) },
  { id: 'E28 ::/0 matches IPv6', policies: [netpol('prod', 'v6-in', { podSelector: sel({ app: 'v6' }), ingress: [rule([peer({ cidr: '::/0' })])] })], flow: tcp(IP.ext6, IP.v6pod6, 80), verdict: 'ALLOW' },
  { id: 'E28 selectors match the IPv6 address of a pod', policies: [netpol('prod', 'v6-in', { podSelector: sel({ app: 'v6' }), ingress: [rule([peer({ ns: sel(), pod: sel({ app: 'client' }) })])] })], flow: tcp(IP.client6, IP.v6pod6, 80), verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.src.name, 'dev/client'); t.equal(d.dst.name, 'prod/v6-0'); } },
  { id: 'E28 non-canonical IPv6 text is canonicalised', policies: [], flow: tcp('FD00:0:0:0:0:0:2:10', 'fd00:0::20', 80), verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.flow.src, IP.client6); t.equal(d.src.kind, 'pod'); } },
  // E29 — ICMPv6 ND, both settings
  { id: 'E29 ND bypasses deny-all', policies: [denyIngress('prod'), denyEgress('dev')], flow: icmp6(IP.client6, IP.v6pod6, 135), verdict: 'BYPASS', reason: 'icmpv6_nd' },
  { id: 'E29 echo is not bypassed', policies: [denyIngress('prod')], flow: icmp6(IP.client6, IP.v6pod6, 128), verdict: 'DROP' },
  { id: 'E29 empty bypass list: ND under policy', policies: [denyIngress('prod')], flow: icmp6(IP.client6, IP.v6pod6, 135), sem: { icmpv6Bypass: [] }, verdict: 'DROP' },
  { id: 'E29 custom list adds MLD', policies: [denyIngress('prod')], flow: icmp6(IP.client6, IP.v6pod6, 143), sem: { icmpv6Bypass: [133, 134, 135, 136, 137, 143] }, verdict: 'BYPASS' },
  // E32 — rules of an unlisted direction have no effect
  { id: 'E32 ingress rules under policyTypes [Egress] ignored', policies: [netpol('prod', 'eg', { podSelector: web, policyTypes: ['Egress'], ingress: [rule([peer({ pod: sel({ app: 'db' }) })])], egress: [rule()] })], flow: tcp(IP.client, IP.web0, 8080), verdict: 'ALLOW',
    check: (d, t) => { t.equal(d.ingress.isolated, false); t.ok(d.notes.some((n) => n.startsWith('E32'))); } },
  { id: 'E32 egress rules under policyTypes [Ingress] ignored', policies: [netpol('dev', 'in', { podSelector: sel(), policyTypes: ['Ingress'], ingress: [rule()], egress: [rule([peer({ cidr: '1.1.1.1/32' })])] })], flow: tcp(IP.client, IP.ext, 443), verdict: 'ALLOW',
    check: (d, t) => t.equal(d.egress.isolated, false) },
];

for (const c of CASES) {
  t.test(c.id, async (t) => {
    const sem = { ...DEFAULT_SEMANTICS, ...(c.sem ?? {}) };
    const d = evaluate(scenario(c.policies), c.flow, sem);
    t.equal(d.verdict, c.verdict, `verdict (${d.detail})`);
    if (c.reason) t.equal(d.reason, c.reason, 'reason');
    c.check?.(d, t);
    // decisions are JSON
    t.same(JSON.parse(JSON.stringify(d)), d, 'JSON round trip');
  });
}

t.test('E11 endPort is inclusive: port-1, port, endPort, endPort+1', async (t) => {
  for (const dir of ['ingress', 'egress'] as const) {
    const pol =
      dir === 'ingress'
        ? webIngress(rule([], [port(8000, 'TCP', 8080)]))
        : clientEgress(rule([], [port(8000, 'TCP', 8080)]));
    const c = scenario([pol]);
    const expect: Array<[number, Decision['verdict']]> = [[7999, 'DROP'], [8000, 'ALLOW'], [8080, 'ALLOW'], [8081, 'DROP']];
    for (const [p, v] of expect) {
      const d = evaluate(c, dir === 'ingress' ? tcp(IP.ext, IP.web0, p) : tcp(IP.client, IP.ext, p));
      t.equal(d.verdict, v, `${dir} ${p}`);
    }
    // endPort == port is a single port
    const single = scenario([dir === 'ingress' ? webIngress(rule([], [port(8000, 'TCP', 8000)])) : clientEgress(rule([], [port(8000, 'TCP', 8000)]))]);
    const f = (p: number) => (dir === 'ingress' ? tcp(IP.ext, IP.web0, p) : tcp(IP.client, IP.ext, p));
    t.equal(evaluate(single, f(8000)).verdict, 'ALLOW');
    t.equal(evaluate(single, f(8001)).verdict, 'DROP');
    t.equal(evaluate(single, f(7999)).verdict, 'DROP');
  }
});

t.test('E21 backend choice: deterministic hash over serviceBackendsForPort order', async (t) => {
  const c = scenario([]);
  const svc = c.services.find((s) => s.name === 'web')!;
  const backends = serviceBackendsForPort(c, svc, svc.ports[0]!, 4);
  t.same(backends.map((b) => [b.pod.name, b.ip, b.port]), [['web-0', IP.web0, 8080], ['web-1', IP.web1, 8080]]);
  const seen = new Set<string>();
  for (let sp = 30000; sp < 30064; sp++) {
    const d1 = evaluate(c, tcp(IP.client, IP.svcWeb, 80, sp));
    const d2 = evaluate(c, tcp(IP.client, IP.svcWeb, 80, sp));
    t.same(d1.nat, d2.nat);
    const i = chooseBackend(flowTupleHashText(IP.client, IP.svcWeb, 6, sp, 80), backends.length);
    t.equal(d1.nat?.backend, `prod/${backends[i]!.pod.name}`);
    seen.add(d1.nat!.backend);
  }
  t.equal(seen.size, 2, 'both backends get flows');
  t.equal(chooseBackend(123, 0), -1);
});

t.test('E21 forced backend (truth-table Service columns)', async (t) => {
  const c = scenario([netpol('prod', 'only-web-1', { podSelector: sel({ app: 'web' }), ingress: [] }), netpol('prod', 'w1', { podSelector: sel({ app: 'web' }), ingress: [] })]);
  const d = evaluate(c, tcp(IP.client, IP.svcWeb, 80), DEFAULT_SEMANTICS, { backend: 'prod/web-1' });
  t.equal(d.nat?.backend, 'prod/web-1');
  const bad = evaluate(c, tcp(IP.client, IP.svcWeb, 80), DEFAULT_SEMANTICS, { backend: 'prod/db-0' });
  t.equal(bad.reason, 'SERVICE_BACKEND_NOT_FOUND');
});

t.test('E6 all allowing rules are reported, policy order irrelevant', async (t) => {
  const a = webIngress(rule([peer({ ns: sel() })]), 'a');
  const b = webIngress(rule([], [port(8080)]), 'b');
  const d1 = evaluate(scenario([a, b]), tcp(IP.client, IP.web0, 8080));
  const d2 = evaluate(scenario([b, a]), tcp(IP.client, IP.web0, 8080));
  t.equal(d1.verdict, 'ALLOW');
  t.same(d1.ingress.allowedBy.map((r) => r.policy).sort(), ['prod/a', 'prod/b']);
  t.same(d1.ingress.isolatedBy, d2.ingress.isolatedBy);
});

t.test('bad flows throw KPF_ERR_FLOW', async (t) => {
  const c = scenario([]);
  t.throws(() => evaluate(c, tcp('nope', IP.web0, 80)), { code: 'KPF_ERR_FLOW' });
  t.throws(() => evaluate(c, tcp(IP.client, IP.v6pod6, 80)), { code: 'KPF_ERR_FLOW' });
  t.throws(() => evaluate(c, { src: IP.client, dst: IP.web0, protocol: 'GRE' as unknown as 'TCP' }), { code: 'KPF_ERR_FLOW' });
  // protocol numbers of known protocols are named
  t.equal(evaluate(c, { src: IP.client, dst: IP.web0, protocol: 6, dstPort: 80 }).flow.protocol, 'TCP');
});

t.test('flowTupleHash words match FlowKey layout (IPv4 in word 3)', async (t) => {
  t.same(ipWords(parseIP('fd00::20')!), [0xfd000000, 0, 0, 0x20]);
  t.same(ipWords(parseIP('10.244.1.10')!), [0, 0, 0, 0x0af4010a]);
  t.equal(flowTupleHashText('10.0.0.1', '10.0.0.2', 6, 1, 2), flowTupleHash(0, 0, 0, 0x0a000001, 0, 0, 0, 0x0a000002, 6, 1, 2));
  t.not(flowTupleHashText('10.0.0.1', '10.0.0.2', 6, 1, 2), flowTupleHashText('10.0.0.1', '10.0.0.2', 17, 1, 2));
});
