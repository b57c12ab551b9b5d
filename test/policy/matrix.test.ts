/** Truth tables: format/parse round trip, Service columns with per-backend marks. */
import t from 'tap';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import { diffTruthTables, formatTruthTable, parseTruthTable, truthTable } from '../../src/policy/matrix.js';
import { makeCluster, netpol, sel } from './fixtures.js';
import { scenario } from './scenario.js';

t.test('format / parse round trip', async (t) => {
  const c = scenario([netpol('prod', 'deny', { podSelector: sel({ app: 'db' }), ingress: [] })]);
  const tt = truthTable(c, { port: 8080, protocol: 'TCP' });
  const text = formatTruthTable(tt);
  t.equal(text.split('\n')[0], ['-', ...tt.tos].join('\t'));
  const back = parseTruthTable(text);
  t.same(diffTruthTables(back, tt), []);
  t.equal(formatTruthTable(back), text);
  // spaces are accepted too
  t.same(diffTruthTables(parseTruthTable(text.replace(/\t/g, '   ')), tt), []);
  t.throws(() => parseTruthTable('x\ty'));
  t.throws(() => parseTruthTable('-\ta\tb\nr\t.'));
  t.throws(() => parseTruthTable('-\ta\nr\t!'));
});

t.test('terminal pods are not rows or columns; dual-stack uses the source family', async (t) => {
  const tt = truthTable(scenario([]), { port: 80, protocol: 'TCP' });
  t.notOk(tt.froms.includes('prod/old'));
  t.ok(tt.froms.includes('prod/new'));
  t.equal(tt.values['dev/client']?.['prod/v6-0'], '.');
});

t.test('Service columns: ., X and ~ (partial), no backend = X', async (t) => {
  // web-1 is isolated, web-0 is not: the prod/web Service (web-0, web-1) is partially reachable
  const c = scenario([netpol('prod', 'deny-web-1', { podSelector: sel({ app: 'web', solo: 'no' }), ingress: [] })]);
  const c2 = makeCluster({
    namespaces: [...c.namespaces.values()],
    nodes: [...c.nodes],
    services: [...c.services],
    policies: [...c.policies],
    pods: c.pods.map((p) => (p.name === 'web-1' ? { ...p, labels: { ...p.labels, solo: 'no' } } : p)),
  });
  const tt = truthTable(c2, { port: 80, protocol: 'TCP', namespaces: ['prod', 'dev'], includeServices: true });
  t.ok(tt.tos.includes('svc:prod/web'));
  t.equal(tt.values['dev/client']?.['svc:prod/web'], '~');
  t.equal(tt.values['dev/client']?.['svc:prod/solo'], '.');
  t.equal(tt.values['dev/client']?.['svc:prod/empty'], 'X');
  t.equal(tt.values['dev/client']?.['svc:prod/db'], 'X', 'port 80 is not a port of prod/db');
  const all = truthTable(c2, { port: 80, protocol: 'TCP', namespaces: ['prod', 'dev'], includeServices: true, sem: { ...DEFAULT_SEMANTICS, serviceDnat: 'off' } });
  t.equal(all.values['dev/client']?.['svc:prod/web'], '.', 'without DNAT the ClusterIP is a plain address');
  t.match(formatTruthTable(tt), /~/);
});
