/**
 * The comparison logic of kpf probe: the plan, the computed tables (kpf matrix's), the observed ones from agent
 * results, the differences and their printing; and the CLI's refusal when kpf live is not running.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { run, parsePorts } from '../../src/cli/commands/probe.js';
import { buildPlan, compareTables, expectedTable, formatSideBySide, observedTable } from '../../src/probe/plan.js';
import type { AgentResult } from '../../src/probe/probe-agent.js';
import { PROBE_MANIFESTS, probeCluster } from './fixtures.js';

t.test('plan, computed and observed tables, differences', async (t) => {
  const cluster = await probeCluster(PROBE_MANIFESTS('198.18.1.1', '198.18.1.2', '198.19.0.10'));
  const plan = buildPlan(cluster, parsePorts('80/TCP,53/UDP,9/SCTP'));
  t.same(plan.tables.map((x) => x.label), ['80/TCP', '53/UDP', '9/SCTP', 'ICMP']);
  t.same(plan.sources.map((s) => s.key), ['pt/a', 'pt/b']);
  const tcp = plan.probes.filter((p) => p.table === '80/TCP');
  t.same(tcp.map((p) => `${p.from}>${p.to}`), ['pt/a>pt/a', 'pt/a>pt/b', 'pt/a>svc:pt/web', 'pt/b>pt/a', 'pt/b>pt/b', 'pt/b>svc:pt/web']);
  t.equal(plan.probes.filter((p) => p.table === '9/SCTP' && p.to.startsWith('svc:')).length, 0, 'no Service column without the port');
  t.equal(plan.probes.filter((p) => p.table === 'ICMP' && p.to.startsWith('svc:')).length, 0, 'ICMP: pods only');
  t.match(tcp.find((p) => p.to === 'svc:pt/web'), { dst: '198.19.0.10', port: 80, proto: 'TCP' });

  const eTcp = expectedTable(cluster, plan.tables[0]!);
  t.same(eTcp.tos, ['pt/a', 'pt/b', 'svc:pt/web']);
  t.equal(eTcp.values['pt/a']!['pt/b'], '.');
  t.equal(eTcp.values['pt/b']!['pt/b'], '.', 'own address: hairpin-free loopback');
  const eUdp = expectedTable(cluster, plan.tables[1]!);
  t.equal(eUdp.values['pt/a']!['pt/b'], 'X');
  t.equal(eUdp.values['pt/a']!['svc:pt/web'], 'X');
  const eIcmp = expectedTable(cluster, plan.tables[3]!);
  t.equal(eIcmp.values['pt/a']!['pt/b'], 'X');
  t.equal(eIcmp.values['pt/b']!['pt/a'], '.');

  // everything answered but a->b 80/TCP timed out; the Service's UDP probe could not run
  const results = new Map<number, AgentResult>();
  for (const p of plan.probes) results.set(p.id, { id: p.id, result: 'reachable', how: 'RST' });
  const ab = tcp.find((p) => p.from === 'pt/a' && p.to === 'pt/b')!;
  results.set(ab.id, { id: ab.id, result: 'unreachable', how: 'no answer in 1000 ms (3 sent)' });
  const svcUdp = plan.probes.find((p) => p.table === '53/UDP' && p.from === 'pt/a' && p.to === 'svc:pt/web')!;
  results.set(svcUdp.id, { id: svcUdp.id, result: 'unsupported', how: 'IPv6' });
  const oTcp = observedTable(plan, plan.tables[0]!, eTcp, results);
  t.equal(oTcp.values['pt/a']!['pt/b'], 'X');
  const dTcp = compareTables('80/TCP', eTcp, oTcp, () => 'why');
  t.same(dTcp, [
    { table: '80/TCP', from: 'pt/a', to: 'pt/b', expected: '.', observed: 'X', how: 'why' },
    // b -> its own Service: DNAT back to b (hairpin), and b's ingress admits only a
    { table: '80/TCP', from: 'pt/b', to: 'svc:pt/web', expected: 'X', observed: '.', how: 'why' },
  ]);
  const oUdp = observedTable(plan, plan.tables[1]!, eUdp, results);
  t.equal(oUdp.values['pt/a']!['svc:pt/web'], '?');
  const dUdp = compareTables('53/UDP', eUdp, oUdp);
  t.same(dUdp.map((d) => `${d.from}>${d.to}`), ['pt/a>pt/b', 'pt/b>svc:pt/web'], 'denied but answered; ? cells are no difference');
  const text = formatSideBySide(eTcp, oTcp, dTcp);
  t.match(text, /computed \(kpf matrix\)\s+\| observed \(probe\)/);
  t.match(text, /^pt\/a\s+\.\s+\.\s+\.\s+\| pt\/a\s+\.\s+X!\s+\.$/m);
  t.match(text, /^pt\/b\s+\.\s+\.\s+X\s+\| pt\/b\s+\.\s+\.\s+\.!$/m);

  // a Service computed ~ (some backends) matches either observation
  const partial = { froms: ['x'], tos: ['svc:y'], values: { x: { 'svc:y': '~' as const } } };
  t.same(compareTables('t', partial, { ...partial, values: { x: { 'svc:y': 'X' as const } } }), []);
});

t.test('--ports parsing', async (t) => {
  t.same(parsePorts('80/TCP, 53/udp,80/TCP,132/SCTP'), [
    { port: 80, protocol: 'TCP' },
    { port: 53, protocol: 'UDP' },
    { port: 132, protocol: 'SCTP' },
  ]);
  t.throws(() => parsePorts('http/TCP'), { code: 'KPF_ERR_USAGE' });
  t.throws(() => parsePorts(','), { code: 'KPF_ERR_USAGE' });
});

t.test('the CLI refuses to probe when kpf live is not running', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'm.yaml');
  // pod names no kpf live of another test uses
  writeFileSync(f, PROBE_MANIFESTS('198.18.1.1', '198.18.1.2', '198.19.0.10').replaceAll('name: a,', 'name: probe-not-live-a,').replaceAll('name: b,', 'name: probe-not-live-b,'));
  const io = { stdout: { write: () => true }, stderr: { write: () => true } };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  await t.rejects(
    run(['-f', f, '--pod-cidr', '198.18.0.0/16', '--service-cidr', '198.19.0.0/16'], io),
    { code: 'KPF_ERR_PROBE', exitCode: 1, message: root ? /kpf live is not running with these manifests.*start `kpf live/ : /needs root/ },
  );
  await t.rejects(run(['-f', f, '--ports', 'x/TCP'], io), { code: 'KPF_ERR_USAGE' });
  await t.rejects(run(['-f', f, '--timeout', '5'], io), { code: 'KPF_ERR_USAGE' });
});
