import t from 'tap';
import { buildCluster } from '../../src/cluster/build.js';
import {
  nameSuffix,
  podTemplateHash,
  SAFE_ALPHABET,
  safeEncode,
} from '../../src/cluster/workloads.js';
import type { Pod } from '../../src/cluster/model.js';
import { deploy, ds, node, ns, pod, port, rs, sts } from '../helpers/objects.js';

const SAFE = `[${SAFE_ALPHABET}]`;
const noDns = { defaultDns: false } as const;

function podsOf(pods: readonly Pod[], from: string): Pod[] {
  return pods.filter((p) => p.derivedFrom === from);
}

t.test('naming helpers', async (t) => {
  t.equal(SAFE_ALPHABET.length, 27);
  t.match(safeEncode('0123456789'), new RegExp(`^${SAFE}{10}$`));
  t.equal(nameSuffix('a/b/0'), nameSuffix('a/b/0'), 'suffix is a pure function');
  t.match(nameSuffix('a/b/0'), new RegExp(`^${SAFE}{5}$`));
  t.not(nameSuffix('a/b/0'), nameSuffix('a/b/1'));
  const tpl = { labels: { app: 'x' }, spec: { hostNetwork: false, ports: [] } };
  t.match(podTemplateHash(tpl), new RegExp(`^${SAFE}{10}$`));
  t.equal(podTemplateHash(tpl), podTemplateHash({ spec: { ports: [], hostNetwork: false }, labels: { app: 'x' } }), 'key order does not matter');
  t.not(podTemplateHash(tpl), podTemplateHash({ ...tpl, labels: { app: 'y' } }), 'template change changes the hash');
});

t.test('Deployment: <name>-<10-char hash>-<5-char suffix>, replicas, labels, stable', async (t) => {
  const input = [ns('prod'), deploy('prod', 'nginx', { labels: { app: 'nginx' }, replicas: 3, ports: [port(80, 'http')] })];
  const { cluster, diagnostics } = buildCluster(input, noDns);
  t.same(diagnostics.filter((d) => d.severity === 'error'), []);
  const pods = podsOf(cluster.pods, 'Deployment/nginx');
  t.equal(pods.length, 3);
  const hash = pods[0]!.labels['pod-template-hash']!;
  t.match(hash, new RegExp(`^${SAFE}{10}$`));
  for (const p of pods) {
    t.match(p.name, new RegExp(`^nginx-${hash}-${SAFE}{5}$`));
    t.equal(p.phase, 'Running');
    t.equal(p.origin, 'workload');
    t.same(p.labels, { app: 'nginx', 'pod-template-hash': hash });
    t.same(p.ports, [{ name: 'http', containerPort: 80, protocol: 'TCP' }]);
    t.equal(p.ipSource, 'ipam');
    t.equal(p.ips.length, 1);
  }
  t.equal(new Set(pods.map((p) => p.name)).size, 3, 'distinct names');
  const again = buildCluster(input, noDns).cluster;
  t.same(again.pods.map((p) => [p.name, p.ips]), cluster.pods.map((p) => [p.name, p.ips]), 'same names and IPs on every run');
  // scaling up keeps the existing names
  const up = buildCluster([ns('prod'), deploy('prod', 'nginx', { labels: { app: 'nginx' }, replicas: 5, ports: [port(80, 'http')] })], noDns).cluster;
  const upNames = new Set(podsOf(up.pods, 'Deployment/nginx').map((p) => p.name));
  t.equal(upNames.size, 5);
  for (const p of pods) t.ok(upNames.has(p.name), `${p.name} kept after scale-up`);
});

t.test('ReplicaSet: <name>-<suffix>; StatefulSet ordinals and labels; replicas 0', async (t) => {
  const { cluster } = buildCluster(
    [
      ns('db'),
      rs('db', 'cache', { replicas: 2 }),
      sts('db', 'pg', { labels: { app: 'pg' }, replicas: 3 }),
      deploy('db', 'idle', { replicas: 0 }),
    ],
    noDns,
  );
  const rsPods = podsOf(cluster.pods, 'ReplicaSet/cache');
  t.equal(rsPods.length, 2);
  for (const p of rsPods) t.match(p.name, new RegExp(`^cache-${SAFE}{5}$`));
  const pg = podsOf(cluster.pods, 'StatefulSet/pg');
  t.same(pg.map((p) => p.name), ['pg-0', 'pg-1', 'pg-2']);
  t.same(pg[1]!.labels, { app: 'pg', 'statefulset.kubernetes.io/pod-name': 'pg-1', 'apps.kubernetes.io/pod-index': '1' });
  t.same(podsOf(cluster.pods, 'Deployment/idle'), []);
});

t.test('DaemonSet: one pod per node, on that node', async (t) => {
  const { cluster } = buildCluster(
    [
      node('w2', { addresses: ['192.168.0.12'], podCIDRs: ['10.244.2.0/24'] }),
      node('w1', { addresses: ['192.168.0.11'], podCIDRs: ['10.244.1.0/24'] }),
      ds('kube-system', 'agent', { labels: { app: 'agent' } }),
    ],
    noDns,
  );
  const pods = podsOf(cluster.pods, 'DaemonSet/agent');
  t.equal(pods.length, 2);
  t.same(pods.map((p) => p.nodeName).sort(), ['w1', 'w2']);
  for (const p of pods) {
    t.match(p.name, new RegExp(`^agent-${SAFE}{5}$`));
    const want = p.nodeName === 'w1' ? /^10\.244\.1\./ : /^10\.244\.2\./;
    t.match(p.ips[0], want, 'IP from its node pod CIDR');
  }
  const dflt = buildCluster([ds('kube-system', 'agent')], noDns).cluster;
  t.same(podsOf(dflt.pods, 'DaemonSet/agent').map((p) => p.nodeName), ['kpf-node'], 'one per default node');
});

t.test('not expanded when pods are given', async (t) => {
  const cases: [string, Parameters<typeof buildCluster>[0], number][] = [
    ['owned Pod object', [ns('a'), deploy('a', 'web', { labels: { app: 'web' }, replicas: 3 }), pod('a', 'x', { owner: 'Deployment/web' })], 1],
    ['Pod matching the selector', [ns('a'), deploy('a', 'web', { labels: { app: 'web' }, replicas: 3 }), pod('a', 'web-abc', { labels: { app: 'web' } })], 1],
    ['matching Pod in another namespace does not count', [ns('a'), ns('b'), deploy('a', 'web', { labels: { app: 'web' }, replicas: 2 }), pod('b', 'p', { labels: { app: 'web' } })], 3],
    ['StatefulSet ordinal given as Pod', [ns('a'), sts('a', 'pg', { replicas: 2 }), pod('a', 'pg-0', { labels: { app: 'pg' } })], 1],
  ];
  for (const [name, input, want] of cases) {
    const { cluster } = buildCluster(input, noDns);
    t.equal(cluster.pods.length, want, name);
  }
});

t.test('Deployment with its ReplicaSet: expanded once, through the ReplicaSet', async (t) => {
  const input = [
    ns('a'),
    deploy('a', 'web', { labels: { app: 'web' }, replicas: 2 }),
    rs('a', 'web-5d4f7c9b8', { labels: { app: 'web' }, replicas: 2, owner: 'Deployment/web' }),
  ];
  const { cluster } = buildCluster(input, noDns);
  t.equal(cluster.pods.length, 2);
  for (const p of cluster.pods) {
    t.equal(p.derivedFrom, 'ReplicaSet/web-5d4f7c9b8');
    t.match(p.name, new RegExp(`^web-5d4f7c9b8-${SAFE}{5}$`));
  }
  // ReplicaSet with its pods given: nothing expanded at all
  const withPods = buildCluster([...input, pod('a', 'web-5d4f7c9b8-xk2lp', { labels: { app: 'web' }, owner: 'ReplicaSet/web-5d4f7c9b8' })], noDns).cluster;
  t.same(withPods.pods.map((p) => p.name), ['web-5d4f7c9b8-xk2lp']);
});

t.test('long names are cut before the generated suffix (63-char names)', async (t) => {
  const long = 'a'.repeat(70);
  const { cluster } = buildCluster([ns('a'), rs('a', long)], noDns);
  t.equal(cluster.pods[0]!.name.length, 63);
});
