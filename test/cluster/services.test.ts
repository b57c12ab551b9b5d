import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import { findServicePort, resolveTargetPort, serviceBackends } from '../../src/cluster/services.js';
import { cidrContains, parseCIDR, parseIP } from '../../src/core/ip.js';
import { ns, pod, port, svc, svcPort } from '../helpers/objects.js';

const noDns = { defaultDns: false } as const;

function inCidr(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr);
  const a = parseIP(ip);
  return c.ok && a !== null && cidrContains(c.cidr, a);
}

t.test('ClusterIP allocation', async (t) => {
  const input = [
    ns('a'),
    svc('a', 'given', { clusterIPs: ['10.96.5.5'] }),
    svc('a', 'headless', { clusterIPs: ['None'] }),
    svc('a', 'ext', { type: 'ExternalName', selector: null }),
    ...Array.from({ length: 40 }, (_, i) => svc('a', `s${i}`)),
  ];
  const { cluster, diagnostics } = buildCluster(input, noDns);
  t.same(diagnostics.filter((d) => d.severity === 'error'), []);
  const by = new Map(cluster.services.map((s) => [s.name, s]));
  t.same(by.get('given')!.clusterIPs, ['10.96.5.5']);
  t.same(by.get('headless')!.clusterIPs, []);
  t.same(by.get('ext')!.clusterIPs, []);
  const allocated = cluster.services.filter((s) => s.name.startsWith('s'));
  const ips = new Set<string>();
  for (const s of allocated) {
    t.equal(s.clusterIPs.length, 1);
    const ip = s.clusterIPs[0]!;
    t.ok(inCidr('10.96.0.0/12', ip), ip);
    t.not(ip, '10.96.0.1', 'kubernetes address reserved');
    t.not(ip, '10.96.0.10', 'DNS address reserved');
    t.not(ip, '10.96.5.5', 'given address avoided');
    ips.add(ip);
    t.equal(cluster.serviceByIP.get(ip), s);
  }
  t.equal(ips.size, 40);
  const again = buildCluster([...input].reverse(), noDns).cluster;
  t.same(again.services.map((s) => s.clusterIPs), cluster.services.map((s) => s.clusterIPs), 'deterministic');
  t.same(cluster.services.map((s) => s.name), [...cluster.services.map((s) => s.name)].sort(), 'sorted by name');
});

t.test('ClusterIP: duplicate given address is an error; exhaustion is an error', async (t) => {
  const dup = buildCluster([ns('a'), svc('a', 'x', { clusterIPs: ['10.96.1.1'] }), svc('a', 'y', { clusterIPs: ['10.96.1.1'] })], noDns);
  const e = dup.diagnostics.find((d) => d.code === 'KPF_ERR_DUPLICATE_CLUSTER_IP');
  t.ok(e);
  t.match(e!.message, /a\/x and a\/y/);
  // a /29 service CIDR: offsets 1..6 usable, minus 1 and 10 (10 is outside) → 5 addresses
  const full = buildCluster([ns('a'), ...Array.from({ length: 6 }, (_, i) => svc('a', `s${i}`))], { ...noDns, serviceCidr: '10.96.0.0/29' });
  const ex = full.diagnostics.filter((d) => d.code === 'KPF_ERR_IPAM_EXHAUSTED');
  t.equal(ex.length, 1);
  t.match(ex[0]!.message, /service CIDR 10\.96\.0\.0\/29 is exhausted: 1 Service\(s\) got no ClusterIP/);
  t.same(
    full.cluster.services.flatMap((s) => s.clusterIPs).sort(),
    ['10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6'],
  );
});

t.test('bad --service-cidr / --pod-cidr: UsageError', async (t) => {
  t.throws(() => buildCluster([], { serviceCidr: 'nope' }), { code: 'KPF_ERR_USAGE' });
  t.throws(() => buildCluster([], { podCidrs: ['10.0.0.1/8'] }), { code: 'KPF_ERR_USAGE' });
  t.throws(() => buildCluster([], { podCidrs: ['10.0.0.0/8', '11.0.0.0/8'] }), { code: 'KPF_ERR_USAGE' });
});

t.test('serviceBackends: Running policy endpoints matching the selector, sorted by name', async (t) => {
  const { cluster } = buildCluster(
    [
      ns('a'),
      ns('b'),
      pod('a', 'web-2', { labels: { app: 'web' } }),
      pod('a', 'web-1', { labels: { app: 'web', extra: 'x' }, phase: 'Running' }),
      pod('a', 'pending', { labels: { app: 'web' }, phase: 'Pending' }),
      pod('a', 'done', { labels: { app: 'web' }, phase: 'Succeeded', ips: ['10.244.7.7'] }),
      pod('a', 'host', { labels: { app: 'web' }, hostNetwork: true }),
      pod('a', 'other', { labels: { app: 'db' } }),
      pod('b', 'web-0', { labels: { app: 'web' } }),
      svc('a', 'web', { selector: { app: 'web' } }),
      svc('a', 'noselector', { selector: null }),
      svc('a', 'emptyselector', { selector: {} }),
    ],
    noDns,
  );
  const get = (name: string) => cluster.services.find((s) => s.name === name)!;
  t.same(serviceBackends(cluster, get('web')).map((p) => p.name), ['web-1', 'web-2']);
  t.same(serviceBackends(cluster, get('noselector')), []);
  t.same(serviceBackends(cluster, get('emptyselector')), []);
  const first = serviceBackends(cluster, get('web'));
  first.pop();
  t.equal(serviceBackends(cluster, get('web')).length, 2, 'callers get their own array');
});

t.test('resolveTargetPort and findServicePort', async (t) => {
  const { cluster } = buildCluster(
    [
      ns('a'),
      pod('a', 'p', { labels: { app: 'p' }, ports: [port(8080, 'http'), port(5353, 'dns', 'UDP'), port(5354, 'dns-tcp')] }),
      pod('a', 'q', { labels: { app: 'p' }, ports: [port(9090, 'http')] }),
      svc('a', 'p', {
        ports: [
          svcPort(80, { name: 'web', targetPort: 'http' }),
          svcPort(53, { name: 'dns', protocol: 'UDP', targetPort: 'dns' }),
          svcPort(53, { name: 'dns-tcp', protocol: 'TCP', targetPort: 'dns' }),
          svcPort(443, { targetPort: 8443 }),
        ],
      }),
    ],
    noDns,
  );
  const s = cluster.services[0]!;
  const [p, q] = serviceBackends(cluster, s);
  t.equal(resolveTargetPort(s.ports[0]!, p!), 8080, 'named targetPort on one backend');
  t.equal(resolveTargetPort(s.ports[0]!, q!), 9090, '… and a different number on another');
  t.equal(resolveTargetPort(s.ports[1]!, p!), 5353, 'name and protocol match');
  t.equal(resolveTargetPort(s.ports[2]!, p!), null, 'the name exists only for UDP');
  t.equal(resolveTargetPort(s.ports[1]!, q!), null, 'not declared');
  t.equal(resolveTargetPort(s.ports[3]!, q!), 8443, 'numeric as is');
  t.equal(findServicePort(s, 53, 'UDP')?.name, 'dns');
  t.equal(findServicePort(s, 53, 'TCP')?.name, 'dns-tcp');
  t.equal(findServicePort(s, 53, 'SCTP'), undefined);
  t.equal(findServicePort(s, 8080, 'TCP'), undefined, 'a target port is not a service port');
});
