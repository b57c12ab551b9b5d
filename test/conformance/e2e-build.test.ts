/**
 * The same upstream cases, but with the cluster built the way kpf builds it from manifests: KubeObjects
 * (test/helpers/objects.ts) → cluster/build.ts buildCluster → reference evaluator truth table. Guards the seam between
 * the cluster model and the evaluator (namespace labels, podByIP, ports) in addition to e2e-model.test.ts — and runs
 * every table through the compiled dataplane as well.
 */
import t from 'tap';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import { buildCluster } from '../../src/cluster/build.js';
import type { KubeObject, NetworkPolicyObject } from '../../src/manifests/types.js';
import { diffTruthTables, parseTruthTable, truthTable, type TruthMark, type TruthTable } from '../../src/policy/matrix.js';
import type { Cluster } from '../../src/cluster/model.js';
import type { SemanticsOptions } from '../../src/core/options.js';
import { Decision, Verdict, decide } from '../../src/datapath/decide.js';
import { compile } from '../../src/policy/compile.js';
import { buildSnapshot, decideInputOf } from '../../src/policy/snapshot.js';
import * as k from '../helpers/objects.js';
import { E2E_NAMESPACES, E2E_PODS, e2eContainerPorts, e2ePodIP, type E2EModelOpts } from '../policy/fixtures.js';
import { CASES } from './cases/upstream.js';
import { TABLES } from './cases/tables.js';

function e2eObjects(policies: NetworkPolicyObject[], o: E2EModelOpts = {}): KubeObject[] {
  const out: KubeObject[] = [];
  for (const n of E2E_NAMESPACES) out.push(k.ns(n, { ns: n, ...(o.namespaceLabels?.[n] ?? {}) }));
  for (const n of E2E_NAMESPACES) {
    for (const p of E2E_PODS) {
      out.push(
        k.pod(n, p, {
          labels: { pod: p, ...(o.podLabels?.[`${n}/${p}`] ?? {}) },
          ips: [e2ePodIP(n, p)],
          ports: e2eContainerPorts(),
          phase: 'Running',
        }),
      );
    }
  }
  if (o.dns) {
    out.push(
      k.pod('kube-system', 'coredns-0', {
        labels: { 'k8s-app': 'kube-dns' },
        ips: ['10.244.0.53'],
        ports: [k.port(53, 'dns', 'UDP'), k.port(53, 'dns-tcp', 'TCP')],
        phase: 'Running',
      }),
    );
  }
  out.push(...policies);
  return out;
}

/** The truth table as the compiled dataplane (identities, ipcache, policy maps) gives it. */
function compiledTable(cluster: Cluster, port: number, protocol: 'TCP' | 'UDP' | 'SCTP', sem: SemanticsOptions, like: TruthTable): TruthTable {
  const snap = buildSnapshot(compile(cluster, { semantics: sem }), { shared: false });
  const d = new Decision();
  const ipOf = (key: string) => cluster.pods.find((p) => `${p.namespace}/${p.name}` === key)!.ips[0]!;
  const values: Record<string, Record<string, TruthMark>> = {};
  for (const from of like.froms) {
    values[from] = {};
    for (const to of like.tos) {
      const v = decide(snap, decideInputOf({ src: ipOf(from), dst: ipOf(to), protocol, srcPort: 40000, dstPort: port }), d).verdict;
      values[from]![to] = v === Verdict.DROP ? 'X' : '.';
    }
  }
  return { froms: like.froms, tos: like.tos, values };
}

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const built = buildCluster(e2eObjects(c.policies, c.model), { defaultDns: false });
    t.same(built.diagnostics.filter((d) => d.severity === 'error'), [], 'builds without errors');
    for (const probe of c.probes) {
      const sem = { ...DEFAULT_SEMANTICS, ...(probe.sem ?? {}) };
      const actual = truthTable(built.cluster, { port: probe.port, protocol: probe.protocol, namespaces: ['x', 'y', 'z'], sem });
      const expected = parseTruthTable(TABLES[probe.table]);
      t.same(diffTruthTables(expected, actual), [], `${probe.port}/${probe.protocol} = ${probe.table}`);
      t.same(diffTruthTables(expected, compiledTable(built.cluster, probe.port, probe.protocol, sem, expected)), [], `compiled dataplane: ${probe.port}/${probe.protocol} = ${probe.table}`);
    }
  });
}
