/** Text rendering of decisions (observability.md §3.2 shape). */
import t from 'tap';
import { DEFAULT_SEMANTICS } from '../../src/core/options.js';
import { formatFlow, renderDecision } from '../../src/policy/explain-text.js';
import { evaluate } from '../../src/policy/reference.js';
import { netpol, peer, port, rule, sel } from './fixtures.js';
import { IP, scenario } from './scenario.js';

t.test('denied ingress: isolated by, per-rule why-not, final verdict', async (t) => {
  const c = scenario([
    netpol('prod', 'default-deny', { ingress: [] }),
    netpol('prod', 'allow-api', { podSelector: sel({ app: 'db' }), ingress: [rule([peer({ pod: sel({ app: 'api' }) })], [port(5432)])] }),
  ]);
  const text = renderDecision(evaluate(c, { src: IP.client, dst: IP.db, protocol: 'TCP', srcPort: 43512, dstPort: 5432 }));
  const lines = text.split('\n');
  t.equal(lines[0], `Flow: ${IP.client}:43512 -> ${IP.db}:5432 TCP`);
  t.match(text, /^Egress  dev\/client +ALLOWED  \(not isolated for egress: no policy selects it with Egress\)$/m);
  t.match(text, /^Ingress prod\/db-0 +DENIED   policy_denied \(133\)/m);
  t.match(text, /^  isolated by: prod\/allow-api, prod\/default-deny$/m);
  t.match(text, /^  prod\/allow-api ingress\[0\]: peer podSelector app=api does not match dev\/client \(namespace dev ≠ prod\)$/m);
  t.equal(lines.at(-1), 'Final verdict: DENIED');
});

t.test('allowed via DNAT shows the backend and the allowing rule', async (t) => {
  const c = scenario([netpol('prod', 'web-in', { podSelector: sel({ app: 'web' }), ingress: [rule([], [port('http')])] })]);
  const text = renderDecision(evaluate(c, { src: IP.client, dst: IP.svcSolo, protocol: 'TCP', srcPort: 40000, dstPort: 80 }));
  t.match(text, /^DNAT: Service prod\/solo 10\.96\.0\.23:80\/TCP -> backend prod\/web-0 10\.244\.1\.10:8080$/m);
  t.match(text, /allowed by: prod\/web-in ingress\[0\]/);
  t.match(text, /^note: E21 /m);
  t.match(text, /Final verdict: ALLOWED$/);
});

t.test('bypass and no-backend renderings', async (t) => {
  const c = scenario([]);
  t.match(renderDecision(evaluate(c, { src: IP.web0, dst: IP.web0, protocol: 'TCP', dstPort: 1 })), /Bypass: loopback[\s\S]*Final verdict: ALLOWED \(bypass: loopback\)/);
  t.match(renderDecision(evaluate(c, { src: IP.client, dst: IP.svcEmpty, protocol: 'TCP', dstPort: 80 })), /service_backend_not_found \(158\)[\s\S]*Final verdict: DENIED/);
  const sem = { ...DEFAULT_SEMANTICS, nodeIngress: 'allow' as const };
  const nodeText = renderDecision(evaluate(scenario([netpol('prod', 'd', { ingress: [] })]), { src: IP.node1, dst: IP.web0, protocol: 'TCP', dstPort: 8080 }, sem));
  t.match(nodeText, /Ingress prod\/web-0 +BYPASS/);
  t.match(nodeText, /Final verdict: ALLOWED \(bypass: node_ingress\)/);
  t.equal(formatFlow({ src: 'fd00::1', dst: 'fd00::2', protocol: 'ICMPv6', icmpType: 128 }), 'fd00::1 -> fd00::2 ICMPv6 type 128 code 0');
  t.equal(formatFlow({ src: 'fd00::1', dst: 'fd00::2', protocol: 'TCP', srcPort: 1, dstPort: 2 }), '[fd00::1]:1 -> [fd00::2]:2 TCP');
});
