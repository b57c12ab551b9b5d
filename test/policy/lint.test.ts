/** E23 lint: egress-isolated pods that cannot reach cluster DNS on UDP and TCP 53. */
import t from 'tap';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import { lintCluster } from '../../src/policy/lint.js';
import { e2eCluster, expr, netpol, peer, port, rule, sel } from './fixtures.js';

const NS = 'kubernetes.io/metadata.name';
const toDNS = peer({ ns: sel({ [NS]: 'kube-system' }), pod: sel({ 'k8s-app': 'kube-dns' }) });

t.test('no egress isolation: no warning', async (t) => {
  t.same(lintCluster(e2eCluster([netpol('x', 'deny-in', { ingress: [] })], { dns: true })), []);
});

t.test('egress deny-all warns once per isolated pod, with the policy loc', async (t) => {
  const d = lintCluster(e2eCluster([netpol('x', 'deny-out', { podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'] })], { dns: true }));
  t.equal(d.length, 1);
  t.equal(d[0]!.code, 'KPF_WARN_NO_DNS_EGRESS');
  t.equal(d[0]!.severity, 'warning');
  t.match(d[0]!.message, /pod x\/a .*UDP 53 and TCP 53/);
  t.same(d[0]!.loc, { file: 'x-deny-out.yaml', line: 1 });
  t.equal(d[0]!.object, 'NetworkPolicy x/deny-out');
});

t.test('UDP and TCP 53 to the DNS pods: no warning', async (t) => {
  const pol = netpol('x', 'dns', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([toDNS], [port(53, 'UDP'), port(53, 'TCP')])] });
  t.same(lintCluster(e2eCluster([pol], { dns: true })), []);
});

t.test('UDP only: warns about TCP', async (t) => {
  const pol = netpol('x', 'dns', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([toDNS], [port(53, 'UDP')])] });
  const d = lintCluster(e2eCluster([pol], { dns: true }));
  t.equal(d.length, 3);
  t.match(d[0]!.message, /cannot reach cluster DNS .* on TCP 53 \(denied by egress of x\/a\)/);
  t.notMatch(d[0]!.message, /on UDP 53/);
});

t.test('a rule naming the DNS ClusterIP does not help (E21)', async (t) => {
  const pol = netpol('x', 'dns-vip', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([peer({ cidr: '10.96.0.10/32' })], [port(53, 'UDP'), port(53, 'TCP')])] });
  t.equal(lintCluster(e2eCluster([pol], { dns: true })).length, 3);
});

t.test('named ports resolve on the DNS pod', async (t) => {
  const pol = netpol('x', 'dns-named', { podSelector: sel(), policyTypes: ['Egress'], egress: [rule([toDNS], [port('dns', 'UDP'), port('dns-tcp', 'TCP')])] });
  t.same(lintCluster(e2eCluster([pol], { dns: true })), []);
});

t.test('ipBlock to the DNS pod IP: depends on --ipblock-pods', async (t) => {
  const pol = netpol('x', 'dns-cidr', { podSelector: sel({}, [expr('pod', 'In', 'a')]), policyTypes: ['Egress'], egress: [rule([peer({ cidr: '10.244.0.53/32' })], [port(53, 'UDP'), port(53, 'TCP')])] });
  const c = e2eCluster([pol], { dns: true });
  t.same(lintCluster(c, DEFAULT_SEMANTICS), []);
  t.equal(lintCluster(c, { ...DEFAULT_SEMANTICS, ipBlockPods: 'ignore' }).length, 1);
});

t.test('DNS ingress isolation is reported as the cause', async (t) => {
  const pols = [
    netpol('x', 'dns', { podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'], egress: [rule([toDNS], [port(53, 'UDP'), port(53, 'TCP')])] }),
    netpol('kube-system', 'dns-deny-in', { podSelector: sel(), ingress: [] }),
  ];
  const d = lintCluster(e2eCluster(pols, { dns: true }));
  t.equal(d.length, 1);
  t.match(d[0]!.message, /denied by ingress of kube-system\/coredns-0/);
});

t.test('no DNS pods in the model: nothing to check', async (t) => {
  t.same(lintCluster(e2eCluster([netpol('x', 'deny-out', { policyTypes: ['Egress'] })])), []);
});
