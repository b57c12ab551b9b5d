import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { kpf } from '../helpers/cli.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LAB = path.resolve(here, '../../examples/lab');
const BAD = path.resolve(here, '../fixtures/cli/bad.yaml');

t.test('usage', async (t) => {
  const none = await kpf([]);
  t.equal(none.code, 2, 'no command is a usage error');
  t.match(none.stdout, /Usage: kpf <command>/);
  t.equal((await kpf(['--help'])).code, 0);
  t.match((await kpf(['version'])).stdout, /^kpf \d+\.\d+\.\d+/);
  const unknown = await kpf(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  const flag = await kpf(['get', 'pods', '--lab', '--bogus']);
  t.equal(flag.code, 2, 'unknown flag is a usage error');
  t.match(flag.stderr, /^error: .*bogus/m);
  t.notMatch(flag.stderr, /\n\s+at /, 'no stack trace');
  const nof = await kpf(['matrix']);
  t.equal(nof.code, 2);
  t.match(nof.stderr, /must specify one of -f or --lab/);
  const badSwitch = await kpf(['matrix', '--lab', '--hairpin=maybe']);
  t.equal(badSwitch.code, 2);
  t.match(badSwitch.stderr, /invalid value for --hairpin: "maybe" \(choose policy, allow\)/);
  for (const cmd of ['validate', 'get', 'explain', 'matrix', 'lab']) {
    const h = await kpf([cmd, '--help']);
    t.equal(h.code, 0, `${cmd} --help`);
    t.match(h.stdout, /Usage: kpf /);
  }
});

t.test('validate', async (t) => {
  const ok = await kpf(['validate', '-f', LAB]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^valid: .*5 NetworkPolicies/m);
  const bad = await kpf(['validate', '-f', BAD]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /bad\.yaml:20: .*spec\.ingress\[0\]\.form/, 'unknown field with file, line and path');
  t.match(bad.stderr, /bad\.yaml:3[0-9]: spec\.ingress\[0\]\.from\[0\]: Required value: must specify a peer/);
  t.notMatch(bad.stderr, /\n\s+at /);
  const json = await kpf(['validate', '-f', BAD, '-o', 'json']);
  t.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { valid: boolean; objects: Record<string, number>; errors: unknown[] };
  t.equal(doc.valid, false);
  t.equal(doc.objects['NetworkPolicy'], 1, 'the valid policy in the same file was still read');
  t.ok(doc.errors.length >= 2);
  const missing = await kpf(['validate', '-f', 'no/such/file.yaml']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /the path "no\/such\/file.yaml" does not exist/);
  const stdin = await kpf(['validate', '-f', '-'], {
    stdin: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector: {}\n  egress: []\n',
  });
  t.equal(stdin.code, 0, stdin.stderr);
  t.match(stdin.stdout, /Warning: .*egress: \[\]/, 'lint warning for egress: [] without policyTypes');
});

t.test('get', async (t) => {
  const pods = await kpf(['get', 'pods', '-n', 'prod-nginx', '--lab']);
  t.equal(pods.code, 0, pods.stderr);
  t.match(pods.stdout, /^NAME\s+STATUS\s+IP\s+NODE\s+ISOLATED\s+POLICIES$/m);
  t.match(pods.stdout, /^debug\s+Running\s+10\.244\.\d+\.\d+\s+kpf-node\s+Ingress,Egress\s+/m);
  const all = await kpf(['get', 'po', '-A', '--lab', '-o', 'wide']);
  t.match(all.stdout, /^NAMESPACE\s+NAME/m);
  t.match(all.stdout, /kube-system\s+coredns-/);
  t.match(all.stdout, /k8s-app=kube-dns/);
  const sel = await kpf(['get', 'pods', '-A', '--lab', '-l', 'app=nginx', '-o', 'name']);
  t.equal(sel.stdout.trim().split('\n').length, 3);
  t.match(sel.stdout, /^pod\/nginx-deployment-/m);
  const svc = await kpf(['get', 'svc', '-A', '--lab']);
  t.match(svc.stdout, /kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+53\/UDP,53\/TCP,9153\/TCP/);
  const np = await kpf(['get', 'netpol', '-n', 'prod-nginx', '--lab']);
  t.match(np.stdout, /^default-deny\s+<none>\s+Ingress,Egress\s+4$/m);
  t.match(np.stdout, /^allow-http\s+app=nginx\s+Ingress\s+3$/m);
  const ns = await kpf(['get', 'ns', '--lab', '-o', 'wide']);
  t.match(ns.stdout, /myhackns\s+Active\s+1\s+kubernetes\.io\/metadata\.name=myhackns,project=debug/);
  const none = await kpf(['get', 'pods', '-n', 'nowhere', '--lab']);
  t.equal(none.code, 0);
  t.match(none.stderr, /No resources found in nowhere namespace/);
  const bad = await kpf(['get', 'widgets', '--lab']);
  t.equal(bad.code, 2);
  // -o yaml round-trips through kpf itself
  const yaml = await kpf(['get', 'ns,pods,svc,netpol', '-A', '--lab', '-o', 'yaml']);
  t.equal(yaml.code, 0);
  t.match(yaml.stdout, /^kind: List$/m);
  const again = await kpf(['get', 'pods', '-A', '-f', '-', '-o', 'json'], { stdin: yaml.stdout });
  t.equal(again.code, 0, again.stderr);
  const before = JSON.parse((await kpf(['get', 'pods', '-A', '--lab', '-o', 'json'])).stdout) as { items: unknown[] };
  t.same(JSON.parse(again.stdout), before, 'pods read back from kpf get -o yaml are the same pods');
});

t.test('explain', async (t) => {
  const svc = await kpf(['explain', '--lab', '--from', 'prod-nginx/debug', '--to', 'prod-nginx/svc/my-nginx-clusterip', '--port', '80/TCP']);
  t.equal(svc.code, 0, svc.stderr);
  t.match(svc.stdout, /Final verdict: ALLOWED/);
  const json = await kpf(['explain', '--lab', '--from', 'myhackns/othernspod', '--to', 'prod-nginx/svc/my-nginx-clusterip', '-o', 'json']);
  const d = JSON.parse(json.stdout) as { decision: { verdict: string; nat: { service: string; backendPort: number }; ingress: { allowedBy: Array<{ policy: string }> } } };
  t.equal(d.decision.verdict, 'ALLOW');
  t.equal(d.decision.nat.service, 'prod-nginx/my-nginx-clusterip');
  t.equal(d.decision.nat.backendPort, 80);
  t.same(d.decision.ingress.allowedBy.map((r) => r.policy), ['prod-nginx/allow-http-other-ns']);
  const ext = await kpf(['explain', '--lab', '--from', 'prod-nginx/debug', '--to', '203.0.113.80', '--port', '443']);
  t.match(ext.stdout, /Final verdict: DENIED/);
  const icmp = await kpf(['explain', '--lab', '--from', 'myhackns/othernspod', '--to', '203.0.113.80', '--protocol', 'icmp']);
  t.match(icmp.stdout, /Final verdict: ALLOWED/);
  const nopod = await kpf(['explain', '--lab', '--from', 'prod-nginx/nope', '--to', '1.2.3.4', '--port', '80']);
  t.equal(nopod.code, 2);
  t.match(nopod.stderr, /pod "nope" not found in namespace "prod-nginx"/);
  const svcAsPod = await kpf(['explain', '--lab', '--from', 'prod-nginx/debug', '--to', 'prod-nginx/my-nginx-clusterip', '--port', '80']);
  t.match(svcAsPod.stderr, /use prod-nginx\/svc\/my-nginx-clusterip/);
  const noport = await kpf(['explain', '--lab', '--from', 'prod-nginx/debug', '--to', '1.2.3.4']);
  t.equal(noport.code, 2);
  t.match(noport.stderr, /--port is needed for TCP/);
});

t.test('matrix', async (t) => {
  const m = await kpf(['matrix', '--lab', '-n', 'prod-nginx', '-o', 'e2e']);
  t.equal(m.code, 0, m.stderr);
  const lines = m.stdout.trim().split('\n').slice(1);
  t.equal(lines[0]!.split('\t')[0], '-', 'upstream header');
  const debugRow = lines.find((l) => l.startsWith('prod-nginx/debug\t'))!;
  t.same(debugRow.split('\t').slice(1), ['.', '.', '.', '.', '.'], 'debug reaches everything in prod-nginx in the last step');
  const j = JSON.parse((await kpf(['matrix', '--lab', '-o', 'json', '--port', '53/UDP'])).stdout) as { tos: string[]; values: Record<string, Record<string, string>> };
  t.ok(j.tos.includes('svc:kube-system/kube-dns'), 'the DNS Service has a 53/UDP column');
  t.notOk(j.tos.includes('svc:prod-nginx/my-nginx-clusterip'), 'a Service without the port has no column');
  t.equal(j.values['prod-nginx/debug']!['svc:kube-system/kube-dns'], '.');
  const bad = await kpf(['matrix', '--lab', '--port', '0']);
  t.equal(bad.code, 2);
});

t.test('compile: endpoints, identities, ipcache and policy maps in the cilium-dbg shape', async (t) => {
  const all = await kpf(['compile', '--lab']);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^Revision 1: \d+ identities, 6 endpoints/m);
  t.match(all.stdout, /^ENDPOINT\s+POD\s+IPV4\/IPV6\s+IDENTITY\s+INGRESS ENFORCED\s+EGRESS ENFORCED\s+POLICIES$/m);
  t.match(all.stdout, /^10\.96\.0\.10:53\/UDP\s+kube-system\/kube-dns\s+10\.244\.\d+\.\d+:53$/m);
  const one = await kpf(['compile', '--lab', '--pod', 'prod-nginx/debug']);
  t.match(one.stdout, /^Endpoint: prod-nginx\/debug +ID: \d+ +Identity: \d+ +Revision: 1 +Entries: 3\/16384$/m);
  t.match(one.stdout, /^POLICY\s+DIRECTION\s+LABELS \(source:key\[=value\]\)\s+PORT\/PROTO\s+BYTES\s+PACKETS\s+PREFIX\s+DERIVED FROM$/m);
  t.match(one.stdout, /^Allow\s+Egress\s+k8s:k8s-app=kube-dns,k8s:io\.kubernetes\.pod\.namespace=kube-system\s+ANY\s+0\s+0\s+0\s+prod-nginx\/allow-dns#egress\[0\]$/m);
  t.match(one.stdout, /ingress: isolated, no entry \(default deny\)/);
  const nginx = await kpf(['compile', '--lab', '--section', 'policy', '-o', 'json']);
  const doc = JSON.parse(nginx.stdout) as { endpoints: Array<{ pod: string; policyMap: Array<{ portProto: string; prefix: number; derivedFrom: Array<{ policy: string }> }> }> };
  const ep = doc.endpoints.find((e) => e.pod.startsWith('prod-nginx/nginx-deployment-'))!;
  t.ok(ep.policyMap.some((e) => e.portProto === '80/TCP' && e.prefix === 24 && e.derivedFrom[0]!.policy === 'prod-nginx/allow-http'));
  t.equal((await kpf(['compile', '--lab', '--pod', 'prod-nginx/nope'])).code, 2);
  t.equal((await kpf(['compile', '--lab', '--section', 'bogus'])).code, 2);
  const tight = await kpf(['compile', '--lab', '--policy-map-max', '2']);
  t.equal(tight.code, 1, 'a policy map over its cap is a compile error');
  t.match(tight.stderr, /would need more than 2 entries/);
});

t.test('bench: generates and replays, per worker count', async (t) => {
  const r = await kpf(['bench', '--packets', '20k', '--flows', '2k', '--workers', '1', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: Array<{ workers: number; records: number; denied: number; mppsWhole: number }> };
  t.equal(doc.results[0]!.records, 20000);
  const share = doc.results[0]!.denied / doc.results[0]!.records;
  t.ok(share > 0.1 && share < 0.6, `denied share ${share.toFixed(2)}`);
  t.ok(doc.results[0]!.mppsWhole > 0);
  t.equal((await kpf(['bench', '--packets', 'lots'])).code, 2);
  const many = await kpf(['bench', '--packets', '20k', '--workers', '1,65']);
  t.equal(many.code, 2, 'bench --workers 1,65: a usage error');
  t.match(many.stderr, /each 1 to 64/);
});

t.test('lab --workers: a whole number from 1 to 64, else a usage error', async (t) => {
  for (const w of ['0', 'two', '65']) {
    const r = await kpf(['lab', '--workers', w]);
    t.equal(r.code, 2, `--workers ${w}`);
    t.match(r.stderr, /invalid --workers/);
  }
});

t.test('the version is the package version', async (t) => {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(path.resolve(here, '../../package.json'), 'utf8')) as { version: string };
  t.equal((await kpf(['version'])).stdout.trim(), `kpf ${pkg.version}`);
});

t.test('--strict is --on-policy-change=reevaluate', async (t) => {
  const { parse, semanticsFrom, SEMANTICS_OPTIONS } = await import('../../src/cli/args.js');
  t.equal(semanticsFrom(parse(['--strict'], SEMANTICS_OPTIONS).values).onPolicyChange, 'reevaluate');
  t.equal(semanticsFrom(parse([], SEMANTICS_OPTIONS).values).onPolicyChange, 'keep');
});
