/**
 * Upstream e2e network policy cases on the x/y/z × a/b/c model: the reference evaluator's truth table must equal the
 * expected one exactly (text in the upstream PrettyPrint format; see cases/tables.ts for the loopback difference).
 */
import t from 'tap';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import { diffTruthTables, formatTruthTable, parseTruthTable, truthTable } from '../../src/policy/matrix.js';
import { e2eCluster } from '../policy/fixtures.js';
import { CASES } from './cases/upstream.js';
import { TABLES } from './cases/tables.js';

t.test('at least 25 upstream cases', async (t) => {
  t.ok(CASES.filter((c) => !c.name.startsWith('kpf:')).length >= 25);
});

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const cluster = e2eCluster(c.policies, c.model);
    for (const probe of c.probes) {
      const sem = { ...DEFAULT_SEMANTICS, ...(probe.sem ?? {}) };
      const actual = truthTable(cluster, { port: probe.port, protocol: probe.protocol, namespaces: ['x', 'y', 'z'], sem });
      const expectedText = TABLES[probe.table].trim();
      const expected = parseTruthTable(expectedText);
      const diff = diffTruthTables(expected, actual);
      const label = `${probe.port}/${probe.protocol}${probe.sem ? ' ' + JSON.stringify(probe.sem) : ''} = ${probe.table}`;
      t.same(diff, [], label);
      // the printed form is exactly the expected text
      t.equal(formatTruthTable(actual), expectedText, `${label} (text)`);
    }
  });
}
