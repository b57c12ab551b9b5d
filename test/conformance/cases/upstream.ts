/**
 * The upstream e2e network policy cases (kubernetes/kubernetes test/e2e/network/netpol/network_policy.go), restated
 * as data: the policies each test creates (final state, for tests that update or add policies the intermediate states
 * are separate probes or cases), the probes it makes (port, protocol) and the expected truth table (tables.ts).
 *
 * Names are the upstream `It(...)` titles; `kpf:` cases are not upstream and cover rows the e2e suite does not
 * (endPort, DNS egress, E8/E9 switches). Namespace label key `ns` = the e2e model's own label; the immutable
 * `kubernetes.io/metadata.name` label is used where upstream uses `namespaceLabelKey` / `v1.LabelMetadataName`.
 * Upstream's SetSpecIngressRules / SetSpecEgressRules also set policyTypes, so egress-only policies carry
 * `policyTypes: ['Egress']` here (without it D1 would default them to [Ingress, Egress]).
 */
import type { SemanticsOptions } from '../../../src/core/options.js';
import type { NetworkPolicyObject } from '../../../src/manifests/types.js';
import { e2ePodIP, expr, netpol, peer, port, rule, sel, type E2EModelOpts } from '../../policy/fixtures.js';
import type { TableId } from './tables.js';

export interface Probe {
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  table: TableId;
  sem?: Partial<SemanticsOptions>;
}

export interface E2ECase {
  name: string;
  policies: NetworkPolicyObject[];
  model?: E2EModelOpts;
  probes: Probe[];
}

const NS = 'kubernetes.io/metadata.name';
const tcp = (p: number, table: TableId): Probe => ({ port: p, protocol: 'TCP', table });
const udp = (p: number, table: TableId): Probe => ({ port: p, protocol: 'UDP', table });
const sctp = (p: number, table: TableId): Probe => ({ port: p, protocol: 'SCTP', table });

/** `GenNetworkPolicyWithNameAndPodSelector(name, {}, SetSpecIngressRules())` in namespace x */
const denyIngressX = (name = 'deny-ingress'): NetworkPolicyObject => netpol('x', name, { podSelector: sel(), ingress: [] });
const podA = sel({ pod: 'a' });

export const CASES: E2ECase[] = [
  {
    name: "should support a 'default-deny-ingress' policy",
    policies: [denyIngressX()],
    probes: [tcp(80, 'denyIngress')],
  },
  {
    name: "should support a 'default-deny-all' policy",
    policies: [netpol('x', 'deny-all', { podSelector: sel(), policyTypes: ['Ingress', 'Egress'] })],
    probes: [tcp(80, 'denyAll')],
  },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    policies: [netpol('x', 'x-a-allows-x-b', { podSelector: podA, ingress: [rule([peer({ pod: sel({ pod: 'b' }) })])] })],
    probes: [tcp(80, 'podSelSameNs')],
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    policies: [
      netpol('x', 'deny-all', { podSelector: sel(), ingress: [] }),
      netpol('x', 'allow-all-to-a', { podSelector: podA, ingress: [rule([peer({ pod: sel(), ns: sel() })])] }),
    ],
    probes: [tcp(80, 'ingressTarget')],
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    policies: [netpol('x', 'allow-from-another-ns', { podSelector: podA, ingress: [rule([peer({ ns: sel() })])] })],
    probes: [tcp(80, 'allowAll')],
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    policies: [netpol('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })])] })],
    probes: [tcp(80, 'nsY')],
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    policies: [
      netpol('x', 'x-a-allows-x-b', { podSelector: podA, ingress: [rule([peer({ pod: sel({}, [expr('pod', 'In', 'b')]) })])] }),
    ],
    probes: [tcp(80, 'podSelSameNs')],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    policies: [
      netpol('x', 'allow-ns-y-match-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({}, [expr('ns', 'In', 'y')]) })])] }),
    ],
    probes: [tcp(80, 'nsY')],
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    policies: [
      netpol('x', 'allow-ns-y-match-selector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({}, [expr('ns', 'NotIn', 'x')]) }), peer({ pod: sel({ pod: 'b' }) })])],
      }),
    ],
    probes: [tcp(80, 'podOrNs')],
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    policies: [
      netpol('x', 'allow-ns-y-podselector-and-nsselector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({}, [expr('ns', 'NotIn', 'x')]), pod: sel({ pod: 'b' }) })])],
      }),
    ],
    probes: [tcp(80, 'podAndNs')],
  },
  {
    name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    policies: [
      netpol('x', 'allow-ns-y-z-pod-b-c', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({}, [expr('ns', 'NotIn', 'x')]), pod: sel({}, [expr('pod', 'In', 'b', 'c')]) })])],
      }),
    ],
    probes: [tcp(80, 'multiPodNs')],
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    policies: [
      netpol('x', 'allow-ns-x-pod-b-c', {
        podSelector: podA,
        ingress: [rule([peer({ pod: sel({ pod: 'b' }) }), peer({ pod: sel({ pod: 'c' }) })])],
      }),
    ],
    probes: [tcp(80, 'anyPodSel')],
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    policies: [
      netpol('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({ ns: 'y' }), pod: sel({ pod: 'a' }) })])],
      }),
    ],
    probes: [tcp(80, 'onlyYA')],
  },
  {
    name: 'should enforce policy based on Ports',
    policies: [
      netpol('x', 'allow-client-a-via-ns-selector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(81, 'TCP')])],
      }),
    ],
    probes: [tcp(81, 'ports81')],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors (before the port 80 policy)',
    policies: [
      netpol('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(81)])] }),
    ],
    probes: [tcp(81, 'ports81'), tcp(80, 'allDenyXA')],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors',
    policies: [
      netpol('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(81)])] }),
      netpol('x', 'allow-client-a-via-ns-selector-80', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(80)])] }),
    ],
    probes: [tcp(80, 'ports81'), tcp(81, 'ports81')],
  },
  {
    name: 'should support allow-all policy',
    policies: [netpol('x', 'allow-all', { podSelector: sel(), ingress: [rule()] })],
    probes: [tcp(80, 'allowAll'), tcp(81, 'allowAll')],
  },
  {
    name: 'should allow ingress access on one named port',
    policies: [netpol('x', 'allow-all', { podSelector: sel(), ingress: [rule([], [port('serve-81-tcp')])] })],
    probes: [tcp(81, 'allowAll'), tcp(80, 'allDenyX')],
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    policies: [
      netpol('x', 'allow-client-a-via-ns-selector-80', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({ [NS]: 'y' }) })], [port('serve-80-tcp')])],
      }),
    ],
    probes: [tcp(80, 'nsY'), tcp(81, 'allDenyXA')],
  },
  {
    name: 'should allow egress access on one named port',
    policies: [netpol('x', 'allow-egress', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([], [port('serve-80-tcp')])] })],
    probes: [tcp(80, 'allowAll'), tcp(81, 'egressXDenied')],
  },
  {
    name: 'should enforce updated policy (allow-all, before the update)',
    policies: [netpol('x', 'allow-all-mutate-to-deny-all', { podSelector: sel(), ingress: [rule()] })],
    probes: [tcp(81, 'allowAll')],
  },
  {
    name: 'should enforce updated policy',
    policies: [netpol('x', 'allow-all-mutate-to-deny-all', { podSelector: sel(), ingress: [] })],
    probes: [tcp(81, 'allDenyX')],
  },
  {
    name: 'should allow ingress access from updated namespace (before the label)',
    policies: [netpol('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns2: 'updated' }) })])] })],
    probes: [tcp(80, 'allDenyXA')],
  },
  {
    name: 'should allow ingress access from updated namespace',
    policies: [netpol('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns2: 'updated' }) })])] })],
    model: { namespaceLabels: { y: { ns2: 'updated' } } },
    probes: [tcp(80, 'updatedNs')],
  },
  {
    name: 'should allow ingress access from updated pod (before the label)',
    policies: [
      netpol('x', 'allow-client-a-via-pod-selector', { podSelector: podA, ingress: [rule([peer({ pod: sel({ pod: 'b', pod2: 'updated' }) })])] }),
    ],
    probes: [tcp(80, 'allDenyXA')],
  },
  {
    name: 'should allow ingress access from updated pod',
    policies: [
      netpol('x', 'allow-client-a-via-pod-selector', { podSelector: podA, ingress: [rule([peer({ pod: sel({ pod: 'b', pod2: 'updated' }) })])] }),
    ],
    model: { podLabels: { 'x/b': { pod2: 'updated' } } },
    probes: [tcp(80, 'podSelSameNs')],
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    policies: [netpol('x', 'deny-empty-policy', { podSelector: sel(), ingress: [rule([peer({ pod: sel() })])] })],
    probes: [tcp(80, 'fromOtherNsDenied')],
  },
  {
    name: 'should deny ingress access to updated pod (before the label)',
    policies: [netpol('x', 'deny-ingress-via-label-selector', { podSelector: sel({ target: 'isolated' }), ingress: [] })],
    probes: [tcp(80, 'allowAll')],
  },
  {
    name: 'should deny ingress access to updated pod',
    policies: [netpol('x', 'deny-ingress-via-label-selector', { podSelector: sel({ target: 'isolated' }), ingress: [] })],
    model: { podLabels: { 'x/a': { target: 'isolated' } } },
    probes: [tcp(80, 'allDenyXA')],
  },
  {
    name: 'should deny egress from pods based on PodSelector',
    policies: [netpol('x', 'deny-egress-pod-a', { podSelector: podA, policyTypes: ['Egress'] })],
    probes: [tcp(80, 'egressXADenied')],
  },
  {
    name: 'should deny egress from all pods in a namespace',
    policies: [netpol('x', 'deny-egress-ns-x', { podSelector: sel(), policyTypes: ['Egress'] })],
    probes: [tcp(80, 'egressXDenied')],
  },
  {
    name: 'should work with Ingress, Egress specified together',
    policies: [
      netpol('x', 'allow-client-a-via-pod-selector', {
        podSelector: podA,
        policyTypes: ['Egress', 'Ingress'],
        ingress: [rule([peer({ pod: sel({ pod: 'b' }) })])],
        egress: [rule([], [port(80)])],
      }),
    ],
    probes: [tcp(80, 'podSelSameNs'), tcp(81, 'togetherP81')],
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    policies: [
      netpol('x', 'allow-to-ns-y-pod-a', { podSelector: podA, policyTypes: ['Egress'], egress: [rule([peer({ ns: sel({ [NS]: 'y' }), pod: podA })])] }),
      netpol('y', 'allow-from-xa-on-ya-match-selector', { podSelector: podA, ingress: [rule([peer({ ns: sel({ [NS]: 'x' }), pod: podA })])] }),
      netpol('y', 'allow-from-xa-on-yb-match-selector', { podSelector: sel({ pod: 'b' }), ingress: [rule([peer({ ns: sel({ [NS]: 'x' }), pod: podA })])] }),
    ],
    probes: [tcp(80, 'clientSide')],
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    policies: [
      netpol('x', 'allow-to-ns-y-pod-a', { podSelector: podA, policyTypes: ['Egress'], egress: [rule([peer({ ns: sel({ [NS]: 'y' }), pod: podA })])] }),
    ],
    probes: [tcp(80, 'egressToYA')],
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    policies: [netpol('x', 'allow-ingress-by-proto', { podSelector: podA, ingress: [rule([], [port(undefined, 'TCP')])] })],
    probes: [tcp(80, 'allowAll'), udp(80, 'allDenyXA')],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence (before allow-all)',
    policies: [netpol('x', 'allow-ingress-port-80', { podSelector: sel(), ingress: [rule([], [port(80)])] })],
    probes: [tcp(81, 'allDenyX')],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    policies: [
      netpol('x', 'allow-ingress-port-80', { podSelector: sel(), ingress: [rule([], [port(80)])] }),
      netpol('x', 'allow-ingress', { podSelector: sel(), ingress: [rule()] }),
    ],
    probes: [tcp(81, 'allowAll')],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence (before allow-all)',
    policies: [netpol('x', 'allow-egress-port-80', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([], [port(80)])] })],
    probes: [tcp(81, 'egressXDenied')],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    policies: [
      netpol('x', 'allow-egress-port-80', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([], [port(80)])] }),
      netpol('x', 'allow-egress', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule()] }),
    ],
    probes: [tcp(81, 'allowAll')],
  },
  {
    name: 'should stop enforcing policies after they are deleted (while present)',
    policies: [netpol('x', 'deny-all', { podSelector: sel(), policyTypes: ['Ingress', 'Egress'] })],
    probes: [tcp(80, 'denyAll')],
  },
  {
    name: 'should stop enforcing policies after they are deleted',
    policies: [],
    probes: [tcp(80, 'allowAll')],
  },
  {
    name: 'should allow egress access to server in CIDR block',
    policies: [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', {
        podSelector: podA,
        policyTypes: ['Egress'], egress: [rule([peer({ cidr: `${e2ePodIP('y', 'b')}/32` })])],
      }),
    ],
    probes: [tcp(80, 'cidrYB')],
  },
  {
    name: 'should enforce except clause while egress access to server in CIDR block',
    policies: [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', {
        podSelector: podA,
        policyTypes: ['Egress'], egress: [rule([peer({ cidr: '10.0.0.0/8', except: [`${e2ePodIP('x', 'b')}/32`] })])],
      }),
    ],
    probes: [tcp(80, 'exceptXB')],
  },
  {
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
    // upstream *updates* the except policy into the /32 one (same name): the final state has only the /32 rule
    policies: [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', {
        podSelector: podA,
        policyTypes: ['Egress'], egress: [rule([peer({ cidr: `${e2ePodIP('x', 'b')}/32` })])],
      }),
    ],
    probes: [tcp(80, 'overlapFinal')],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector (egress only)',
    policies: [netpol('x', 'allow-egress-for-target', { podSelector: podA, policyTypes: ['Egress'], egress: [rule()] })],
    probes: [tcp(80, 'allowAll')],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    policies: [
      netpol('x', 'allow-egress-for-target', { podSelector: podA, policyTypes: ['Egress'], egress: [rule()] }),
      netpol('x', 'deny-ingress-via-label-selector', { podSelector: podA, ingress: [] }),
    ],
    probes: [tcp(80, 'allDenyXA')],
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    policies: [
      denyIngressX(),
      netpol('x', 'allow-only-sctp-ingress-on-port-81', { podSelector: podA, ingress: [rule([], [port(81, 'SCTP')])] }),
    ],
    probes: [tcp(81, 'allDenyX'), sctp(81, 'ingressTarget')],
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    policies: [netpol('x', 'allow-only-sctp-ingress-on-port-80', { podSelector: podA, ingress: [rule([], [port(80, 'SCTP')])] })],
    probes: [tcp(81, 'allDenyXA'), sctp(80, 'allowAll'), sctp(81, 'allDenyXA')],
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    policies: [netpol('x', 'allow-only-udp-ingress-on-port-81', { podSelector: podA, ingress: [rule([], [port(81, 'UDP')])] })],
    probes: [tcp(81, 'allDenyXA'), udp(81, 'allowAll')],
  },
  {
    name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    policies: [
      netpol('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', { podSelector: podA, ingress: [rule([peer({ ns: sel({ [NS]: 'y' }) })])] }),
    ],
    probes: [tcp(80, 'nsY')],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    policies: [
      netpol('x', 'allow-ns-y-match-selector-for-immutable-ns-label', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [rule([peer({ ns: sel({}, [expr(NS, 'NotIn', 'y')]) })])],
      }),
    ],
    probes: [tcp(80, 'egressNotInY')],
  },
  {
    name: "UDP: should support a 'default-deny-ingress' policy",
    policies: [netpol('x', 'deny-all', { podSelector: sel(), ingress: [] })],
    probes: [udp(80, 'denyIngress')],
  },
  {
    name: 'UDP: should enforce policy based on Ports',
    policies: [
      netpol('x', 'allow-ingress-on-port-81-ns-x', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(81, 'UDP')])] }),
    ],
    probes: [udp(81, 'nsY'), udp(80, 'allDenyXA'), tcp(81, 'allDenyXA')],
  },
  {
    name: 'UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    policies: [
      netpol('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({ ns: 'y' }), pod: podA })])],
      }),
    ],
    probes: [udp(80, 'onlyYA')],
  },
  {
    name: "SCTP: should support a 'default-deny-ingress' policy",
    policies: [netpol('x', 'deny-all', { podSelector: sel(), ingress: [] })],
    probes: [sctp(80, 'denyIngress')],
  },
  {
    name: 'SCTP: should enforce policy based on Ports',
    policies: [
      netpol('x', 'allow-ingress-on-port-81-ns-x', { podSelector: podA, ingress: [rule([peer({ ns: sel({ ns: 'y' }) })], [port(81, 'SCTP')])] }),
    ],
    probes: [sctp(81, 'nsY'), sctp(80, 'allDenyXA'), tcp(81, 'allDenyXA'), udp(81, 'allDenyXA')],
  },
  {
    name: 'SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    policies: [
      netpol('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', {
        podSelector: podA,
        ingress: [rule([peer({ ns: sel({ ns: 'y' }), pod: podA })])],
      }),
    ],
    probes: [sctp(80, 'onlyYA')],
  },
  // ---- kpf cases on the same model (not upstream) ----
  {
    name: 'kpf: endPort range 80-81 allows both ports, not other protocols (E11, E13)',
    policies: [netpol('x', 'allow-80-81', { podSelector: podA, ingress: [rule([], [port(80, 'TCP', 81)])] })],
    probes: [tcp(80, 'allowAll'), tcp(81, 'allowAll'), udp(80, 'allDenyXA')],
  },
  {
    name: 'kpf: endPort range 81-90 starts at 81 (E11 boundary)',
    policies: [netpol('x', 'allow-81-90', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([], [port(81, 'TCP', 90)])] })],
    probes: [tcp(80, 'egressXDenied'), tcp(81, 'allowAll')],
  },
  {
    name: 'kpf: egress default deny with a DNS allowance still denies pod traffic (E23)',
    policies: [
      netpol('x', 'allow-dns-only', {
        podSelector: sel(),
        policyTypes: ['Egress'],
        egress: [rule([peer({ ns: sel({ [NS]: 'kube-system' }), pod: sel({ 'k8s-app': 'kube-dns' }) })], [port(53, 'UDP'), port(53, 'TCP')])],
      }),
    ],
    model: { dns: true },
    probes: [tcp(80, 'egressXDenied'), udp(80, 'egressXDenied')],
  },
  {
    name: 'kpf: except narrows only its own peer; a second policy allowing the excepted IP wins (E9)',
    policies: [
      netpol('x', 'allow-cidr-except-b', {
        podSelector: podA,
        policyTypes: ['Egress'], egress: [rule([peer({ cidr: '10.0.0.0/8', except: [`${e2ePodIP('x', 'b')}/32`] })])],
      }),
      netpol('x', 'allow-b', { podSelector: podA, policyTypes: ['Egress'], egress: [rule([peer({ cidr: `${e2ePodIP('x', 'b')}/32` })])] }),
    ],
    probes: [tcp(80, 'allowAll')],
  },
  {
    name: 'kpf: --ipblock-pods=ignore: an ipBlock naming a pod IP allows nothing (E8)',
    policies: [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', { podSelector: podA, policyTypes: ['Egress'], egress: [rule([peer({ cidr: `${e2ePodIP('y', 'b')}/32` })])] }),
    ],
    probes: [
      { port: 80, protocol: 'TCP', table: 'cidrYB' },
      { port: 80, protocol: 'TCP', table: 'egressXADenied', sem: { ipBlockPods: 'ignore' } },
    ],
  },
];
