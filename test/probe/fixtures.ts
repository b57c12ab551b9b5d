/** The manifests of the probe tests: pods a and b, a Service of b, a policy admitting only a, only on 80/TCP. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildCluster } from '../../src/cluster/build.js';
import { DEFAULT_LOAD } from '../../src/core/options.js';
import { loadManifests } from '../../src/manifests/index.js';

export const PROBE_MANIFESTS = (a: string, b: string, vip: string): string => `
apiVersion: v1
kind: Namespace
metadata: {name: pt, labels: {kubernetes.io/metadata.name: pt}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: pt, labels: {app: a}}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running, podIP: ${a}, podIPs: [{ip: ${a}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: pt, labels: {app: b}}
spec: {containers: [{name: c, image: nginx}]}
status: {phase: Running, podIP: ${b}, podIPs: [{ip: ${b}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: pt}
spec:
  clusterIP: ${vip}
  selector: {app: b}
  ports: [{name: http, port: 80, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-80-from-a, namespace: pt}
spec:
  podSelector: {matchLabels: {app: b}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: TCP, port: 80}]
`;

export async function probeCluster(text: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-probe-'));
  try {
    const f = path.join(dir, 'm.yaml');
    writeFileSync(f, text);
    const opts = { ...DEFAULT_LOAD, podCidrs: ['198.18.0.0/16'], serviceCidr: '198.19.0.0/16', defaultDns: false };
    const loaded = await loadManifests([f], opts);
    return buildCluster(loaded.objects, opts).cluster;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

