/**
 * The lab of "Kubernetes native network security policies by example" (shared/reference/
 * network-policies-by-example.txt) as data: the manifests of each step (examples/lab/) and the Results lines the
 * lab states, plus the connectivity procedure it runs after every step, evaluated against the cluster model.
 *
 * The procedure, from the debug pod in prod-nginx:
 *   dig +search my-nginx-clusterip      → DNS: UDP/53 to the kube-dns Service
 *   curl http://my-nginx-clusterip      → needs DNS, then TCP/80 to the Service ClusterIP
 *   curl http://$POD                    → TCP/80 to the first nginx pod's IP (no DNS needed)
 *   curl http://cloudyuga.guru          → needs DNS, then TCP/80 to an address outside the cluster
 * and, once the other namespace exists, from myhackns/othernspod:
 *   curl my-nginx-clusterip.prod-nginx  → needs DNS, then TCP/80 to the Service ClusterIP
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFile } from '../core/bundle.js';

/** examples/lab/ in the checkout (works from src/ under ts-node, from dist/ and from a bundle). */
export const LAB_DIR = fileURLToPath(packageFile(import.meta.url, 'examples/lab/'));

/** The external site the lab curls; an address from TEST-NET-3 (RFC 5737) stands in for it. */
export const EXTERNAL_SITE = { name: 'cloudyuga.guru', ip: '203.0.113.80' } as const;

export type Check = 'dns' | 'service' | 'podIP' | 'external' | 'otherNs';
export type Outcome = 'working' | 'failed';

export const CHECK_LABELS: Record<Check, string> = {
  dns: 'DNS resolution',
  service: 'Access to service name',
  podIP: 'Access to the pod IP',
  external: 'Access to the external site',
  otherNs: 'Access from the other namespace',
};

export interface LabStep {
  /** 0 = the environment without policies */
  index: number;
  title: string;
  /** manifest file of this step, in examples/lab/ */
  file: string;
  /** the Results lines of the lab for this step (absent where the lab states none) */
  expected: Partial<Record<Check, Outcome>>;
}

/** The steps in order; expected values are the lab's Results lines, verbatim in meaning. */
export const LAB_STEPS: readonly LabStep[] = [
  { index: 0, title: 'Lab environment (no policies)', file: '00-cluster.yaml', expected: {} },
  {
    index: 1,
    title: 'Default Deny network policy',
    file: '01-default-deny.yaml',
    expected: { dns: 'failed', service: 'failed', podIP: 'failed' },
  },
  {
    index: 2,
    title: 'Egress DNS network policy',
    file: '02-allow-dns.yaml',
    expected: { dns: 'working', service: 'failed', podIP: 'failed' },
  },
  {
    index: 3,
    title: 'Ingress network policy for nginx',
    file: '03-allow-http.yaml',
    expected: { dns: 'working', service: 'failed', podIP: 'failed' },
  },
  {
    index: 4,
    title: 'Egress network policy for client',
    file: '04-allow-debug-egress.yaml',
    expected: { dns: 'working', service: 'working', podIP: 'working' },
  },
  { index: 5, title: 'Access from a different namespace', file: '05-allow-http-other-ns.yaml', expected: {} },
];

/** Absolute paths of every lab manifest, in step order. */
export function labFiles(upTo = LAB_STEPS.length - 1): string[] {
  const present = new Set(readdirSync(LAB_DIR));
  return LAB_STEPS.filter((s) => s.index <= upTo && present.has(s.file)).map((s) => path.join(LAB_DIR, s.file));
}

/**
 * Reads the "Results:" blocks of the lab text, in order: one record per block, keyed by check.
 * Used by the tests to hold kpf to the text itself rather than to a copy of it.
 */
export function parseLabResults(text: string): Array<Partial<Record<Check, Outcome>>> {
  const lines = text.split(/\r?\n/);
  const blocks: Array<Partial<Record<Check, Outcome>>> = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== 'Results:') continue;
    const block: Partial<Record<Check, Outcome>> = {};
    for (let j = i + 1; j < lines.length; j++) {
      const m = /^-\s*(.+?):\s*(working|failed)\s*$/.exec(lines[j]!.trim());
      if (!m) break;
      const what = m[1]!.toLowerCase();
      const key: Check | undefined = what.startsWith('dns')
        ? 'dns'
        : what.includes('service')
          ? 'service'
          : what.includes('pod ip')
            ? 'podIP'
            : undefined;
      if (key) block[key] = m[2] as Outcome;
    }
    blocks.push(block);
  }
  return blocks;
}
