import fc from 'fast-check';
import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import { isPolicyEndpoint, type Pod } from '../../src/cluster/model.js';
import { hash64 } from '../../src/cluster/ipam.js';
import { cidrContains, parseCIDR, parseIP } from '../../src/core/ip.js';
import { at, node, ns, pod } from '../helpers/objects.js';

const noDns = { defaultDns: false } as const;

function byName(pods: readonly Pod[]): Map<string, Pod> {
  return new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
}

function inCidr(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr);
  const a = parseIP(ip);
  return c.ok && a !== null && cidrContains(c.cidr, a);
}

t.test('deterministic: same input, same IPs; inside the pod CIDR; never .0 or .1', async (t) => {
  const input = [ns('a'), ...Array.from({ length: 50 }, (_, i) => pod('a', `p${i}`))];
  const one = buildCluster(input, noDns).cluster;
  const two = buildCluster([...input].reverse(), noDns).cluster;
  t.same(one.pods.map((p) => p.ips), two.pods.map((p) => p.ips), 'input order does not matter');
  for (const p of one.pods) {
    t.equal(p.ipSource, 'ipam');
    t.equal(p.ips.length, 1);
    t.ok(inCidr('10.244.0.0/16', p.ips[0]!), `${p.ips[0]} in 10.244.0.0/16`);
    t.not(p.ips[0], '10.244.0.0');
    t.not(p.ips[0], '10.244.0.1');
    t.equal(one.podByIP.get(p.ips[0]!), p);
  }
  t.equal(one.podByIP.size, 50);
  t.equal(hash64('a/b'), hash64('a/b'));
});

t.test('status IPs are kept and reserved', async (t) => {
  // /29: usable offsets 2..6 (0 network, 1 gateway, 7 broadcast)
  const opts = { ...noDns, podCidrs: ['10.0.0.0/29'] };
  const given = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((ip, i) => pod('a', `s${i}`, { ips: [ip] }));
  const { cluster, diagnostics } = buildCluster([ns('a'), ...given, pod('a', 'new')], opts);
  t.same(diagnostics.filter((d) => d.severity === 'error'), []);
  const pods = byName(cluster.pods);
  t.equal(pods.get('a/s0')!.ipSource, 'status');
  t.same(pods.get('a/s2')!.ips, ['10.0.0.4']);
  t.same(pods.get('a/new')!.ips, ['10.0.0.6'], 'the only free address');
  t.equal(pods.get('a/new')!.ipSource, 'ipam');
});

t.test('terminal pods: no IP, not in podByIP, their IP may be reused', async (t) => {
  const { cluster, diagnostics } = buildCluster(
    [
      ns('a'),
      pod('a', 'done', { phase: 'Succeeded', ips: ['10.244.9.9'] }),
      pod('a', 'crashed', { phase: 'Failed', ips: ['10.244.9.8'] }),
      pod('a', 'reuser', { phase: 'Running', ips: ['10.244.9.9'] }),
    ],
    noDns,
  );
  t.same(diagnostics.filter((d) => d.severity === 'error'), [], 'no duplicate-IP error');
  const pods = byName(cluster.pods);
  for (const name of ['a/done', 'a/crashed']) {
    const p = pods.get(name)!;
    t.same(p.ips, []);
    t.equal(p.ipSource, 'none');
    t.notOk(isPolicyEndpoint(p));
  }
  t.equal(cluster.podByIP.get('10.244.9.9')?.name, 'reuser');
  t.notOk(cluster.podByIP.has('10.244.9.8'));
});

t.test('pending pod without status IP gets one; phase kept', async (t) => {
  const { cluster } = buildCluster([ns('a'), pod('a', 'p', { phase: 'Pending' })], noDns);
  t.equal(cluster.pods[0]!.phase, 'Pending');
  t.equal(cluster.pods[0]!.ips.length, 1);
});

t.test('two live pods with one IP: error naming both (E27)', async (t) => {
  const { cluster, diagnostics } = buildCluster(
    [ns('a'), pod('a', 'one', { ips: ['10.244.1.5'], loc: at('a.yaml', 3) }), pod('a', 'two', { ips: ['10.244.1.5'], loc: at('b.yaml', 9) })],
    noDns,
  );
  const errs = diagnostics.filter((d) => d.code === 'KPF_ERR_DUPLICATE_POD_IP');
  t.equal(errs.length, 1);
  t.equal(errs[0]!.severity, 'error');
  t.match(errs[0]!.message, /10\.244\.1\.5/);
  t.match(errs[0]!.message, /a\/one \(a\.yaml:3\)/);
  t.match(errs[0]!.message, /a\/two \(b\.yaml:9\)/);
  t.same(errs[0]!.loc, at('b.yaml', 9));
  t.equal(cluster.podByIP.get('10.244.1.5')?.name, 'one', 'best effort: the first keeps the IP');
});

t.test('pool exhaustion: clear error, remaining pods get no IP', async (t) => {
  const input = [ns('a'), ...Array.from({ length: 7 }, (_, i) => pod('a', `p${i}`))];
  const { cluster, diagnostics } = buildCluster(input, { ...noDns, podCidrs: ['10.0.0.0/29'] });
  const errs = diagnostics.filter((d) => d.code === 'KPF_ERR_IPAM_EXHAUSTED');
  t.equal(errs.length, 1);
  t.match(errs[0]!.message, /pod CIDR 10\.0\.0\.0\/29 is exhausted: 2 pod\(s\) got no IP/);
  const withIP = cluster.pods.filter((p) => p.ips.length > 0);
  t.equal(withIP.length, 5);
  t.same(
    withIP.map((p) => p.ips[0]).sort(),
    ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
    'every usable address, no network/gateway/broadcast',
  );
  for (const p of cluster.pods.filter((p) => p.ips.length === 0)) t.equal(p.ipSource, 'none');
});

t.test('hostNetwork pods take the node IP and are never in podByIP (E20)', async (t) => {
  const { cluster } = buildCluster([ns('a'), pod('a', 'h', { hostNetwork: true }), pod('a', 'hs', { hostNetwork: true, ips: ['172.18.0.2'] })], noDns);
  for (const p of cluster.pods) {
    t.same(p.ips, ['172.18.0.2']);
    t.notOk(isPolicyEndpoint(p));
  }
  t.equal(cluster.podByIP.size, 0);
  t.equal(cluster.nodeByIP.get('172.18.0.2')?.name, 'kpf-node');
  const nodes = buildCluster([node('n1', { addresses: ['192.168.1.10'] }), pod('default', 'h', { hostNetwork: true, nodeName: 'n1' })], noDns).cluster;
  t.same(nodes.pods[0]!.ips, ['192.168.1.10']);
});

t.test('dual-stack: status IPs of both families kept; IPAM gives one per family', async (t) => {
  const { cluster } = buildCluster(
    [ns('a'), pod('a', 'given', { ips: ['10.244.3.3', 'fd00:10:244::3'] }), pod('a', 'new')],
    { ...noDns, podCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] },
  );
  const pods = byName(cluster.pods);
  t.same(pods.get('a/given')!.ips, ['10.244.3.3', 'fd00:10:244::3']);
  t.equal(cluster.podByIP.get('fd00:10:244::3'), pods.get('a/given'));
  t.equal(cluster.podByIP.get('10.244.3.3'), pods.get('a/given'));
  const ips = pods.get('a/new')!.ips;
  t.equal(ips.length, 2);
  t.ok(inCidr('10.244.0.0/16', ips[0]!));
  t.ok(inCidr('fd00:10:244::/56', ips[1]!));
  t.ok(cluster.nodes[0]!.ips.includes('fd00:10:244::1'), 'IPv6 gateway is a node IP');
  // non-canonical status IP text is canonicalised
  const c = buildCluster([ns('a'), pod('a', 'x', { ips: ['FD00:0:0::5'] })], noDns).cluster;
  t.same(c.pods[0]!.ips, ['fd00::5']);
});

t.test('nodes: IPs and gateways (E18), placement by hash, per-node pod CIDRs', async (t) => {
  const dflt = buildCluster([], noDns).cluster;
  t.same(dflt.nodes.map((n) => ({ name: n.name, ips: n.ips, podCIDRs: n.podCIDRs })), [
    { name: 'kpf-node', ips: ['172.18.0.2', '10.244.0.1'], podCIDRs: ['10.244.0.0/16'] },
  ]);
  t.equal(dflt.nodeByIP.get('10.244.0.1')?.name, 'kpf-node');

  const input = [
    node('b', { addresses: ['192.168.0.2'] }),
    node('a', { addresses: ['192.168.0.1'], podCIDRs: ['10.244.0.0/24'] }),
    node('c', { addresses: ['192.168.0.3'] }),
    ns('x'),
    ...Array.from({ length: 30 }, (_, i) => pod('x', `p${i}`)),
    pod('x', 'pinned', { nodeName: 'c' }),
  ];
  const { cluster } = buildCluster(input, noDns);
  t.same(cluster.nodes.map((n) => n.name), ['a', 'b', 'c']);
  t.same(cluster.nodes.map((n) => n.podCIDRs), [['10.244.0.0/24'], ['10.244.1.0/24'], ['10.244.2.0/24']], 'carved /24s avoid the given one');
  t.same(cluster.nodes[1]!.ips, ['192.168.0.2', '10.244.1.1']);
  const placed = new Set(cluster.pods.map((p) => p.nodeName));
  t.same([...placed].sort(), ['a', 'b', 'c'], 'pods spread over the nodes');
  for (const p of cluster.pods) {
    const n = cluster.nodes.find((x) => x.name === p.nodeName)!;
    t.ok(inCidr(n.podCIDRs[0]!, p.ips[0]!), `${p.name} ${p.ips[0]} in ${n.podCIDRs[0]}`);
  }
  t.equal(byName(cluster.pods).get('x/pinned')!.nodeName, 'c');
  const again = buildCluster(input, noDns).cluster;
  t.same(again.pods.map((p) => p.nodeName), cluster.pods.map((p) => p.nodeName), 'placement is deterministic');
});

t.test('unknown nodeName with Node objects: warning', async (t) => {
  const { diagnostics } = buildCluster([node('n1', { addresses: ['192.168.0.1'] }), pod('default', 'p', { nodeName: 'ghost' })], noDns);
  t.ok(diagnostics.some((d) => d.code === 'KPF_WARN_UNKNOWN_NODE' && d.severity === 'warning'));
});

t.test('property: adding a pod keeps the other pods\' IPs', async (t) => {
  // a small pool (/26, 61 usable addresses) so that hash collisions and probe chains really happen
  const opts = { ...noDns, podCidrs: ['10.9.0.0/26'] };
  const name = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
  fc.assert(
    fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 40 }), name, (names, extra) => {
      fc.pre(!names.includes(extra));
      const before = buildCluster(names.map((n) => pod('default', n)), opts).cluster;
      const after = buildCluster([...names, extra].map((n) => pod('default', n)), opts).cluster;
      const old = byName(before.pods);
      const now = byName(after.pods);
      const added = now.get(`default/${extra}`)!.ips[0]!;
      const oldIPs = new Set(before.pods.map((p) => p.ips[0]!));
      // 1. pods sorted before the new one never move
      for (const [k, p] of old) if (p.name < extra && now.get(k)!.ips[0] !== p.ips[0]) return false;
      // 2. the new pod took a free address ⇒ nobody moved at all
      if (!oldIPs.has(added)) for (const [k, p] of old) if (now.get(k)!.ips[0] !== p.ips[0]) return false;
      // 3. exactly one more address is in use, and all old ones still are
      const newIPs = new Set(after.pods.map((p) => p.ips[0]!));
      if (newIPs.size !== oldIPs.size + 1) return false;
      for (const ip of oldIPs) if (!newIPs.has(ip)) return false;
      return true;
    }),
    { numRuns: 150 },
  );
  t.pass('property holds');
});

t.test('in a /16 adding a pod to 200 moves nobody (typical case)', async (t) => {
  const names = Array.from({ length: 200 }, (_, i) => `web-${i}`);
  const before = buildCluster(names.map((n) => pod('default', n)), noDns).cluster;
  const after = buildCluster([...names, 'web-new'].map((n) => pod('default', n)), noDns).cluster;
  const now = byName(after.pods);
  t.same(
    before.pods.filter((p) => now.get(`default/${p.name}`)!.ips[0] !== p.ips[0]).map((p) => p.name),
    [],
  );
});
