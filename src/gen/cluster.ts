/**
 * A synthetic cluster for benchmarks (`kpf bench`): namespaces of apps behind Services, a default-deny ingress
 * policy in most namespaces and allow policies between the tiers, so that generated traffic is partly allowed and
 * partly denied. Deterministic from its parameters.
 */
import type { KubeObject, NetworkPolicyObject } from '../manifests/types.js';

export interface BenchClusterOptions {
  pods: number;
  policies: number;
  namespaces: number;
}

const loc = { file: '<kpf bench>', line: 0 };
const sel = (matchLabels: Record<string, string>) => ({ matchLabels, matchExpressions: [] });

export function benchCluster(o: BenchClusterOptions): KubeObject[] {
  const objs: KubeObject[] = [];
  const tiers = ['web', 'api', 'db', 'cache'];
  const ports: Record<string, number> = { web: 8080, api: 9090, db: 5432, cache: 6379 };
  for (let n = 0; n < o.namespaces; n++) objs.push({ kind: 'Namespace', name: `bench-${n}`, labels: { env: n % 2 ? 'prod' : 'staging' }, loc });
  for (let i = 0; i < o.pods; i++) {
    const ns = `bench-${i % o.namespaces}`;
    const tier = tiers[Math.floor(i / o.namespaces) % tiers.length]!;
    objs.push({
      kind: 'Pod',
      namespace: ns,
      name: `${tier}-${i}`,
      labels: { app: tier, tier },
      spec: { hostNetwork: false, ports: [{ name: 'main', containerPort: ports[tier]!, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] },
      phase: 'Running',
      podIPs: [],
      loc,
    });
  }
  for (let n = 0; n < o.namespaces; n++) {
    for (const tier of tiers) {
      objs.push({
        kind: 'Service',
        namespace: `bench-${n}`,
        name: tier,
        labels: {},
        type: 'ClusterIP',
        clusterIPs: [],
        selector: { app: tier },
        ports: [{ name: 'main', protocol: 'TCP', port: 80, targetPort: 'main' }, { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }],
        loc,
      });
    }
  }
  const policy = (p: Omit<NetworkPolicyObject, 'kind' | 'labels' | 'loc' | 'egress'> & { egress?: NetworkPolicyObject['egress'] }): NetworkPolicyObject => ({
    kind: 'NetworkPolicy',
    labels: {},
    loc,
    egress: [],
    ...p,
  });
  let made = 0;
  for (let n = 0; n < o.namespaces && made < o.policies; n++) {
    // default deny ingress in every other namespace
    if (n % 2 === 0) {
      objs.push(policy({ namespace: `bench-${n}`, name: 'default-deny', podSelector: sel({}), policyTypes: ['Ingress'], ingress: [] }));
      made++;
    }
  }
  for (let k = 0; made < o.policies; k++, made++) {
    const n = k % o.namespaces;
    const to = tiers[k % tiers.length]!;
    const from = tiers[(k + 3) % tiers.length]!;
    objs.push(
      policy({
        namespace: `bench-${n}`,
        name: `allow-${from}-to-${to}-${k}`,
        podSelector: sel({ tier: to }),
        policyTypes: ['Ingress'],
        ingress: [
          k % 3 === 0
            ? { peers: [], ports: [{ protocol: 'TCP', port: ports[to]! }] }
            : { peers: [{ podSelector: sel({ tier: from }) }, { namespaceSelector: sel({ env: k % 2 ? 'prod' : 'staging' }), podSelector: sel({ tier: from }) }], ports: [{ protocol: 'TCP', port: ports[to]! }] },
          ...(k % 5 === 0 ? [{ peers: [{ namespaceSelector: sel({ env: 'prod' }) }], ports: [{ protocol: 'UDP' as const, port: 53 }] }] : []),
          ...(k % 7 === 0 ? [{ peers: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ protocol: 'TCP' as const, port: ports[to]!, endPort: ports[to]! + 10 }] }] : []),
        ],
      }),
    );
  }
  return objs;
}
