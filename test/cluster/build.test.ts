import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import { serviceBackends } from '../../src/cluster/services.js';
import type { Diagnostic } from '../../src/core/errors.js';
import {
  at,
  deploy,
  expr,
  netpol,
  node,
  npPort,
  ns,
  peer,
  pod,
  port,
  rule,
  sel,
  svc,
} from '../helpers/objects.js';

const noDns = { defaultDns: false } as const;
const codes = (ds: Diagnostic[]): string[] => ds.map((d) => d.code);
const errors = (ds: Diagnostic[]): Diagnostic[] => ds.filter((d) => d.severity === 'error');

t.test('default DNS: added when missing', async (t) => {
  const { cluster, diagnostics } = buildCluster([ns('prod'), pod('prod', 'web')]);
  const dnsPod = cluster.pods.find((p) => p.namespace === 'kube-system')!;
  t.match(dnsPod.name, /^coredns-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  t.same(dnsPod.labels, { 'k8s-app': 'kube-dns' });
  t.equal(dnsPod.origin, 'default-dns');
  t.same(dnsPod.ports, [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
  ]);
  t.equal(dnsPod.ips.length, 1);
  const dns = cluster.services.find((s) => s.name === 'kube-dns')!;
  t.equal(dns.namespace, 'kube-system');
  t.same(dns.clusterIPs, ['10.96.0.10']);
  t.same(dns.selector, { 'k8s-app': 'kube-dns' });
  t.same(
    dns.ports.map((p) => [p.name, p.port, p.protocol, p.targetPort]),
    [
      ['dns', 53, 'UDP', 53],
      ['dns-tcp', 53, 'TCP', 53],
      ['metrics', 9153, 'TCP', 9153],
    ],
  );
  t.equal(cluster.serviceByIP.get('10.96.0.10'), dns);
  t.same(serviceBackends(cluster, dns), [dnsPod]);
  t.equal(cluster.namespaces.get('kube-system')?.origin, 'default-dns');
  const notice = diagnostics.find((d) => d.code === 'KPF_NOTICE_DEFAULT_DNS')!;
  t.equal(notice.severity, 'notice');
  t.equal(notice.message, 'added cluster DNS (kube-system/kube-dns at 10.96.0.10); --no-default-dns turns this off');
  t.same(errors(diagnostics), []);
});

t.test('default DNS: not added when the input has DNS, or when turned off', async (t) => {
  const cases: [string, Parameters<typeof buildCluster>[0]][] = [
    ['kube-dns Service', [svc('kube-system', 'kube-dns', { selector: { 'k8s-app': 'kube-dns' }, clusterIPs: ['10.96.0.10'] })]],
    ['pod labelled k8s-app=kube-dns', [pod('kube-system', 'coredns-abc', { labels: { 'k8s-app': 'kube-dns' } })]],
    ['workload whose pods carry the label', [deploy('kube-system', 'coredns', { labels: { 'k8s-app': 'kube-dns' }, replicas: 2 })]],
  ];
  for (const [name, input] of cases) {
    const { cluster, diagnostics } = buildCluster(input);
    t.notOk(codes(diagnostics).includes('KPF_NOTICE_DEFAULT_DNS'), name);
    t.notOk(cluster.pods.some((p) => p.origin === 'default-dns'), name);
  }
  const off = buildCluster([ns('prod'), pod('prod', 'web')], { defaultDns: false });
  t.same(off.cluster.services, []);
  t.same(off.cluster.pods.map((p) => p.name), ['web']);
  t.equal(off.cluster.namespaces.get('kube-system')?.origin, 'implicit');
});

t.test('default DNS: 10.96.0.10 taken by another Service → allocated elsewhere, notice says where', async (t) => {
  const { cluster, diagnostics } = buildCluster([svc('default', 'squatter', { clusterIPs: ['10.96.0.10'] })]);
  const dns = cluster.services.find((s) => s.name === 'kube-dns')!;
  t.equal(dns.clusterIPs.length, 1);
  t.not(dns.clusterIPs[0], '10.96.0.10');
  t.match(diagnostics.find((d) => d.code === 'KPF_NOTICE_DEFAULT_DNS')!.message, `at ${dns.clusterIPs[0]})`);
  t.same(errors(diagnostics), []);
});

t.test('namespaces: D5 label, implicit default/kube-system, E34', async (t) => {
  const { cluster, diagnostics } = buildCluster(
    [ns('prod', { team: 'a', 'kubernetes.io/metadata.name': 'wrong' }, at('ns.yaml', 2)), ns('dev'), pod('default', 'p'), pod('kube-system', 'q')],
    noDns,
  );
  t.same([...cluster.namespaces.keys()], ['default', 'dev', 'kube-system', 'prod'], 'sorted');
  t.same(cluster.namespaces.get('prod')!.labels, { team: 'a', 'kubernetes.io/metadata.name': 'prod' });
  t.same(cluster.namespaces.get('dev')!.labels, { 'kubernetes.io/metadata.name': 'dev' });
  t.equal(cluster.namespaces.get('default')!.origin, 'implicit');
  t.same(cluster.namespaces.get('kube-system')!.labels, { 'kubernetes.io/metadata.name': 'kube-system' });
  const w = diagnostics.find((d) => d.code === 'KPF_WARN_NAMESPACE_NAME_LABEL')!;
  t.equal(w.severity, 'warning');
  t.same(w.loc, at('ns.yaml', 2));
  t.same(errors(diagnostics), []);

  const missing = buildCluster([pod('ghost', 'a', { loc: at('p.yaml', 4) }), netpol('ghost', 'np', { loc: at('np.yaml', 1) })], noDns);
  const errs = errors(missing.diagnostics);
  t.same(codes(errs), ['KPF_ERR_NAMESPACE_NOT_FOUND', 'KPF_ERR_NAMESPACE_NOT_FOUND'], 'one error per object');
  t.match(errs[0]!.message, /namespaces "ghost" not found/);
  t.same(errs[0]!.loc, at('p.yaml', 4));
  t.equal(errs[1]!.object, 'NetworkPolicy ghost/np');
  t.ok(missing.cluster.namespaces.has('ghost'), 'best effort: still modelled');

  const created = buildCluster([pod('ghost', 'a'), pod('ghost', 'b')], { ...noDns, createNamespaces: true });
  t.same(errors(created.diagnostics), []);
  t.equal(created.cluster.namespaces.get('ghost')!.origin, 'created');
  t.same(created.cluster.namespaces.get('ghost')!.labels, { 'kubernetes.io/metadata.name': 'ghost' });
});

t.test('duplicates (E33): reject names both places; last-wins keeps the last', async (t) => {
  const input = [
    ns('a'),
    pod('a', 'web', { labels: { v: '1' }, loc: at('one.yaml', 3) }),
    pod('a', 'web', { labels: { v: '2' }, loc: at('two.yaml', 7) }),
    deploy('a', 'web', { replicas: 0 }), // another kind: not a duplicate
    pod('b-is-not-a', 'web'), // another namespace: not a duplicate (its namespace is missing, though)
  ];
  const rej = buildCluster(input, { ...noDns, createNamespaces: true });
  const dup = rej.diagnostics.filter((d) => d.code === 'KPF_ERR_DUPLICATE_OBJECT');
  t.equal(dup.length, 1);
  t.equal(dup[0]!.severity, 'error');
  t.match(dup[0]!.message, /Pod a\/web is defined twice: at one\.yaml:3 and at two\.yaml:7/);
  t.same(dup[0]!.loc, at('two.yaml', 7));
  t.equal(rej.cluster.pods.find((p) => p.namespace === 'a')!.labels['v'], '1', 'best effort keeps the first');

  const last = buildCluster(input, { ...noDns, createNamespaces: true, duplicates: 'last-wins' });
  t.same(errors(last.diagnostics), []);
  t.equal(last.cluster.pods.find((p) => p.namespace === 'a')!.labels['v'], '2');
  t.equal(last.cluster.pods.filter((p) => p.namespace === 'a').length, 1);

  const nsDup = buildCluster([ns('x', {}, at('a.yaml', 1)), ns('x', {}, at('b.yaml', 1))], noDns);
  t.match(errors(nsDup.diagnostics)[0]!.message, /Namespace x is defined twice/);
});

t.test('model: sorted, frozen, policies kept', async (t) => {
  const { cluster } = buildCluster(
    [ns('b'), ns('a'), pod('b', 'z'), pod('a', 'y'), pod('b', 'a'), svc('b', 's'), svc('a', 't'), netpol('b', 'p2'), netpol('a', 'p1'), netpol('b', 'p1')],
    noDns,
  );
  t.same(cluster.pods.map((p) => `${p.namespace}/${p.name}`), ['a/y', 'b/a', 'b/z']);
  t.same(cluster.services.map((s) => `${s.namespace}/${s.name}`), ['a/t', 'b/s']);
  t.same(cluster.policies.map((p) => `${p.namespace}/${p.name}`), ['a/p1', 'b/p1', 'b/p2']);
  t.ok(Object.isFrozen(cluster) && Object.isFrozen(cluster.pods) && Object.isFrozen(cluster.pods[0]));
  t.ok(Object.isFrozen(cluster.pods[0]!.labels));
  t.equal(cluster.options.duplicates, 'reject');
  t.same(cluster.options.podCidrs, ['10.244.0.0/16']);
});

t.test('hostNetwork pods are not Service endpoints nor in podByIP', async (t) => {
  const { cluster } = buildCluster([ns('a'), pod('a', 'h', { labels: { app: 'x' }, hostNetwork: true }), svc('a', 'x')], noDns);
  t.same(serviceBackends(cluster, cluster.services[0]!), []);
  t.equal(cluster.podByIP.size, 0);
});

t.test('lint: selectors matching nothing (E35)', async (t) => {
  const { diagnostics } = buildCluster(
    [
      ns('prod', { team: 'a' }),
      pod('prod', 'web', { labels: { app: 'web' } }),
      netpol('prod', 'np', {
        podSelector: sel({ app: 'nope' }),
        loc: at('np.yaml', 5),
        ingress: [
          rule([
            peer({ pod: sel({ app: 'web' }) }), // matches
            peer({ pod: sel({ app: 'ghost' }) }), // nothing in prod
            peer({ ns: sel({ team: 'b' }) }), // no namespace
            peer({ ns: sel({ team: 'a' }), pod: sel({}, [expr('app', 'In', 'api')]) }), // no pod there
            peer({ ns: sel(), pod: sel() }), // empty: never reported
          ]),
        ],
      }),
      netpol('prod', 'all', { podSelector: sel() }),
    ],
    noDns,
  );
  const w = diagnostics.filter((d) => d.code === 'KPF_WARN_SELECTOR_MATCHES_NOTHING');
  t.same(
    w.map((d) => [d.path, d.message]),
    [
      ['spec.podSelector', 'podSelector app=nope matches no pod in namespace prod'],
      ['spec.ingress[0].from[1].podSelector', 'podSelector app=ghost matches no pod in namespace prod'],
      ['spec.ingress[0].from[2].namespaceSelector', 'namespaceSelector team=b matches no namespace'],
      ['spec.ingress[0].from[3].podSelector', 'podSelector app in (api) matches no pod in namespaces matching team=a'],
    ],
  );
  for (const d of w) {
    t.equal(d.severity, 'warning');
    t.same(d.loc, at('np.yaml', 5));
    t.equal(d.object, 'NetworkPolicy prod/np');
  }
});

t.test('lint: policy selecting only hostNetwork pods (E20)', async (t) => {
  const { diagnostics } = buildCluster(
    [ns('a'), pod('a', 'agent', { labels: { app: 'agent' }, hostNetwork: true }), netpol('a', 'np', { podSelector: sel({ app: 'agent' }) })],
    noDns,
  );
  const w = diagnostics.filter((d) => d.code === 'KPF_WARN_SELECTS_ONLY_HOSTNETWORK');
  t.equal(w.length, 1);
  t.match(w[0]!.message, /only hostNetwork pods \(agent\)/);
  t.notOk(codes(diagnostics).includes('KPF_WARN_SELECTOR_MATCHES_NOTHING'));
});

t.test('lint: named port declared by no pod (E10)', async (t) => {
  const { diagnostics } = buildCluster(
    [
      ns('a'),
      pod('a', 'web', { labels: { app: 'web' }, ports: [port(8080, 'http')] }),
      pod('a', 'db', { labels: { app: 'db' }, ports: [port(5432, 'pg')] }),
      netpol('a', 'np', {
        podSelector: sel({ app: 'web' }),
        ingress: [rule([], [npPort('http'), npPort('metrics'), npPort('pg'), npPort('http', 'UDP')])],
        egress: [rule([peer({ pod: sel({ app: 'db' }) })], [npPort('pg'), npPort('http')]), rule([peer({ cidr: '192.0.2.0/24' })], [npPort('nope')])],
      }),
    ],
    noDns,
  );
  const w = diagnostics.filter((d) => d.code === 'KPF_WARN_NAMED_PORT_UNDECLARED');
  t.same(
    w.map((d) => [d.path, d.message]),
    [
      ['spec.ingress[0].ports[1].port', 'named port "metrics" (TCP) is declared by no pod'],
      ['spec.ingress[0].ports[2].port', 'named port "pg" (TCP) is declared by none of the selected pods, so this port matches nothing'],
      ['spec.ingress[0].ports[3].port', 'named port "http" (UDP) is declared by no pod'],
      ['spec.egress[0].ports[1].port', 'named port "http" (TCP) is declared by none of the peer pods, so this port matches nothing'],
    ],
  );
});

t.test('lint: ipBlock overlapping pod/Service/node CIDRs (E8)', async (t) => {
  const { diagnostics } = buildCluster(
    [
      node('n1', { addresses: ['192.168.0.10'], podCIDRs: ['10.244.1.0/24'] }),
      netpol('default', 'np', {
        egress: [
          rule([
            peer({ cidr: '10.244.1.0/26' }), // inside a pod CIDR
            peer({ cidr: '10.96.0.0/16' }), // inside the service CIDR
            peer({ cidr: '192.168.0.0/24' }), // covers the node address
            peer({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] }), // cluster ranges excepted
            peer({ cidr: '203.0.113.0/24' }), // unrelated
            peer({ cidr: '2001:db8::/32' }), // other family
          ]),
        ],
      }),
    ],
    noDns,
  );
  const w = diagnostics.filter((d) => d.code === 'KPF_WARN_IPBLOCK_OVERLAPS_CLUSTER');
  t.same(w.map((d) => d.path), ['spec.egress[0].to[0].ipBlock.cidr', 'spec.egress[0].to[1].ipBlock.cidr', 'spec.egress[0].to[2].ipBlock.cidr']);
  t.match(w[0]!.message, /ipBlock 10\.244\.1\.0\/26 overlaps pod CIDR/);
  t.match(w[1]!.message, /service CIDR 10\.96\.0\.0\/12/);
  t.match(w[2]!.message, /node n1 IP 192\.168\.0\.10/);
});

t.test('a realistic input builds without errors', async (t) => {
  const { cluster, diagnostics } = buildCluster([
    ns('prod'),
    deploy('prod', 'frontend', { labels: { app: 'frontend' }, replicas: 2, ports: [port(8080, 'http')] }),
    deploy('prod', 'api', { labels: { app: 'api' }, replicas: 2, ports: [port(9000, 'api')] }),
    svc('prod', 'api', { selector: { app: 'api' } }),
    netpol('prod', 'api-from-frontend', {
      podSelector: sel({ app: 'api' }),
      ingress: [rule([peer({ pod: sel({ app: 'frontend' }) })], [npPort('api')])],
    }),
  ]);
  t.same(errors(diagnostics), []);
  t.same(codes(diagnostics), ['KPF_NOTICE_DEFAULT_DNS']);
  t.equal(cluster.pods.length, 5);
  t.equal(serviceBackends(cluster, cluster.services.find((s) => s.name === 'api')!).length, 2);
});

t.test('without Node objects, the nodes the pods name (spec.nodeName, status.hostIP) become the nodes', async (t) => {
  const { evaluate } = await import('../../src/policy/reference.js');
  const objs = [
    ns('prod'),
    pod('prod', 'web', { labels: { app: 'web' }, ips: ['10.244.1.5'], nodeName: 'worker-1', hostIP: '172.18.0.3', phase: 'Running' }),
    pod('prod', 'db', { labels: { app: 'db' }, ips: ['10.244.2.7'], nodeName: 'worker-2', hostIP: '172.18.0.4', phase: 'Running' }),
    netpol('prod', 'deny', { podSelector: sel() }),
  ];
  const { cluster, diagnostics } = buildCluster(objs, { defaultDns: false });
  t.same(cluster.nodes.map((n) => n.name), ['worker-1', 'worker-2']);
  t.equal(cluster.nodeByIP.get('172.18.0.3')?.name, 'worker-1');
  t.ok(diagnostics.some((d) => d.code === 'KPF_NOTICE_NODES_FROM_PODS' && d.severity === 'notice'));
  t.equal(cluster.pods.find((p) => p.name === 'web')!.nodeName, 'worker-1');
  // E18: the kubelet on web's own node reaches it; the other node does not (web is isolated for ingress)
  t.equal(evaluate(cluster, { src: '172.18.0.3', dst: '10.244.1.5', protocol: 'TCP', srcPort: 50000, dstPort: 8080 }).reason, 'node_ingress');
  t.equal(evaluate(cluster, { src: '172.18.0.4', dst: '10.244.1.5', protocol: 'TCP', srcPort: 50000, dstPort: 8080 }).verdict, 'DROP');
  // with no nodeName anywhere, the single default node stays
  t.same(buildCluster([ns('prod'), pod('prod', 'x')], { defaultDns: false }).cluster.nodes.map((n) => n.name), ['kpf-node']);
});
