/**
 * A small hand-made cluster for the E-row tests (semantics.md §5).
 *
 *   namespaces  prod (team=a), dev (team=b)
 *   node-1      172.18.0.2, gateway 10.244.1.1    prod pods
 *   node-2      172.18.0.3, gateway 10.244.2.1    dev pods
 *   prod/web-0  app=web  10.244.1.10        port http 8080/TCP
 *   prod/web-1  app=web  10.244.1.13        port http 8080/TCP
 *   prod/db-0   app=db   10.244.1.11        port pg 5432/TCP
 *   prod/old    app=old  10.244.1.12        phase Succeeded (its IP now belongs to prod/new)
 *   prod/new    app=new  10.244.1.12
 *   prod/v6-0   app=v6   10.244.1.20 fd00::20
 *   dev/client  app=client 10.244.2.10 fd00::2:10
 *   dev/legacy  (no app label) 10.244.2.11
 *   Services    prod/web 10.96.0.20 80/TCP → http (web-0, web-1); prod/solo 10.96.0.23 80 → 8080 (web-0 only, app=web,solo=yes)
 *               prod/empty 10.96.0.21 (selects nothing); prod/db 10.96.0.22 5432; prod/v6 10.96.0.24 fd00:96::24 80 (v6-0)
 */
import type { NetworkPolicyObject } from '../../src/manifests/types.js';
import type { Cluster } from '../../src/cluster/model.js';
import { makeCluster, namespace, node, pod, service, svcPort } from './fixtures.js';

export const IP = {
  web0: '10.244.1.10',
  web1: '10.244.1.13',
  db: '10.244.1.11',
  reused: '10.244.1.12',
  v6pod4: '10.244.1.20',
  v6pod6: 'fd00::20',
  client: '10.244.2.10',
  client6: 'fd00::2:10',
  legacy: '10.244.2.11',
  node1: '172.18.0.2',
  node1gw: '10.244.1.1',
  node2: '172.18.0.3',
  ext: '8.8.8.8',
  ext6: '2001:db8::1',
  svcWeb: '10.96.0.20',
  svcEmpty: '10.96.0.21',
  svcDb: '10.96.0.22',
  svcSolo: '10.96.0.23',
  svcV6a: '10.96.0.24',
  svcV6b: 'fd00:96::24',
} as const;

export function scenario(policies: NetworkPolicyObject[] = []): Cluster {
  const http = [{ name: 'http', containerPort: 8080, protocol: 'TCP' as const }];
  return makeCluster({
    namespaces: [namespace('prod', { team: 'a' }), namespace('dev', { team: 'b' })],
    nodes: [node('node-1', [IP.node1, IP.node1gw]), node('node-2', [IP.node2, '10.244.2.1'])],
    pods: [
      pod('prod', 'web-0', { app: 'web', solo: 'yes' }, [IP.web0], { ports: http }),
      pod('prod', 'web-1', { app: 'web' }, [IP.web1], { ports: http }),
      pod('prod', 'db-0', { app: 'db' }, [IP.db], { ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] }),
      pod('prod', 'old', { app: 'old' }, [IP.reused], { phase: 'Succeeded' }),
      pod('prod', 'new', { app: 'new' }, [IP.reused]),
      pod('prod', 'v6-0', { app: 'v6' }, [IP.v6pod4, IP.v6pod6]),
      pod('dev', 'client', { app: 'client' }, [IP.client, IP.client6], { nodeName: 'node-2' }),
      pod('dev', 'legacy', {}, [IP.legacy], { nodeName: 'node-2' }),
    ],
    services: [
      service('prod', 'web', [IP.svcWeb], { app: 'web' }, [svcPort(80, 'http')]),
      service('prod', 'solo', [IP.svcSolo], { app: 'web', solo: 'yes' }, [svcPort(80, 8080)]),
      service('prod', 'empty', [IP.svcEmpty], { app: 'nothing' }, [svcPort(80)]),
      service('prod', 'db', [IP.svcDb], { app: 'db' }, [svcPort(5432)]),
      service('prod', 'v6', [IP.svcV6a, IP.svcV6b], { app: 'v6' }, [svcPort(80)]),
    ],
    policies,
  });
}
