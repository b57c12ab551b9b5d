import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, KpfError } from '../../src/core/errors.js';
import { loadManifests, parseManifestText } from '../../src/manifests/index.js';
import { readSources } from '../../src/manifests/load.js';
import type { PodObject, ServiceObject, WorkloadObject } from '../../src/manifests/types.js';

const fixture = fileURLToPath(new URL('../fixtures/manifests/kubectl-get-all.yaml', import.meta.url));

t.test('kubectl get -A -o yaml output loads without errors', async (t) => {
  const r = await loadManifests([fixture]);
  t.same(r.diagnostics.filter((d) => d.severity !== 'notice').map(formatDiagnostic), []);
  t.same(
    r.objects.map((o) => `${o.kind}/${o.name}`),
    [
      'Namespace/default', 'Namespace/kube-system', 'Namespace/shop',
      'Pod/coredns-7db6d8ff4d-4xk2p', 'Pod/web-5d9c7b6f8-q7w2x',
      'Service/kube-dns', 'Service/kubernetes', 'Service/web',
      'Deployment/web', 'Deployment/coredns',
      'NetworkPolicy/web-allow-frontend', 'NetworkPolicy/default-deny-egress',
    ],
  );
  const dns = r.objects[3] as PodObject;
  t.equal(dns.owner, 'ReplicaSet/coredns-7db6d8ff4d');
  t.same(dns.podIPs, ['10.244.0.3']);
  t.equal(dns.hostIP, '172.18.0.2');
  t.equal(dns.phase, 'Running');
  t.same(dns.spec.ports.map((p) => `${p.name}:${p.containerPort}/${p.protocol}`), ['dns:53/UDP', 'dns-tcp:53/TCP', 'metrics:9153/TCP']);
  t.equal(dns.loc.line, 64, 'List item line');
  const web = r.objects[7] as ServiceObject;
  t.same(web.ports, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 31080 }]);
  t.equal(web.type, 'NodePort');
  t.same((r.objects[8] as WorkloadObject).selector.matchLabels, { app: 'web' });
});

t.test('exact lines in multi-doc files and List items', async (t) => {
  const text = [
    '# leading comment', // 1
    'apiVersion: networking.k8s.io/v1', // 2
    'kind: NetworkPolicy',
    'metadata: {name: ok}',
    '---', // 5
    'apiVersion: networking.k8s.io/v1', // 6
    'kind: NetworkPolicy',
    'metadata: {name: np2}',
    'spec:',
    '  ingress:', // 10
    '  - from:',
    '    - {}', // 12
    '    ports:',
    '    - port: 0', // 14
    '---',
    'apiVersion: v1', // 16
    'kind: List',
    'items:',
    '- apiVersion: v1', // 19
    '  kind: Pod',
    '  metadata: {name: p1}',
    '- apiVersion: v1', // 22
    '  kind: Pod',
    '  metadata:',
    '    name: p2',
    '    lables: {a: b}', // 26
    '- apiVersion: v1',
    '  kind: Service',
    '  metadata: {name: s}',
    '  spec:',
    '    ports:',
    '    - port: 80',
    '      protocol: icmp', // 33
    '',
  ].join('\n');
  const r = parseManifestText(text, 'multi.yaml');
  const at = (path: string): string | undefined => {
    const d = r.diagnostics.find((x) => x.path === path);
    return d ? formatDiagnostic(d) : undefined;
  };
  t.equal(at('spec.ingress[0].from[0]'), 'multi.yaml:12: spec.ingress[0].from[0]: Required value: must specify a peer (NetworkPolicy default/np2)');
  t.match(at('spec.ingress[0].ports[0].port'), /^multi\.yaml:14: /);
  t.match(at('metadata.lables'), /^multi\.yaml:26: metadata\.lables: strict decoding error: unknown field "metadata\.lables"/);
  t.match(at('spec.ports[0].protocol'), /^multi\.yaml:33: .*Unsupported value: "icmp"/);
  t.same(r.objects.map((o) => [o.name, o.loc.line, o.loc.doc]), [['ok', 2, 0], ['p1', 19, 2]]);
  t.equal(r.diagnostics.find((x) => x.path === 'metadata.lables')?.loc?.doc, 2);
});

t.test('YAML syntax error names file:line and does not hide other documents', async (t) => {
  const text = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n';
  const r = parseManifestText(text, 's.yaml');
  t.same(r.objects.map((o) => o.name), ['a', 'b']);
  const e = r.diagnostics.find((d) => d.code === 'KPF_ERR_MANIFEST_SYNTAX');
  t.ok(e);
  t.equal(e?.loc?.file, 's.yaml');
  t.ok(e!.loc!.line >= 7 && e!.loc!.line <= 8, `line ${e?.loc?.line}`);
  t.match(e?.message, /document 1/);
});

t.test('JSON: one object, a stream of objects, a List', async (t) => {
  const one = parseManifestText('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}', 'a.json');
  t.same(one.objects.map((o) => o.name), ['a']);
  const stream = parseManifestText(
    '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}\n{\n "apiVersion":"v1",\n "kind":"Pod",\n "metadata":{"name":"p","lables":{}}\n}\n{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}]}',
    's.json',
  );
  t.same(stream.objects.map((o) => o.name), ['a', 'c']);
  t.equal(stream.diagnostics.find((d) => d.path === 'metadata.lables')?.loc?.line, 5);
  const dup = parseManifestText('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","name":"b"}}', 'd.json');
  t.match(dup.diagnostics[0]?.message, /duplicate field "metadata.name"/);
});

t.test('readSources: files, directories, -R, stdin, missing path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpf-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ns = (n: string): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}\n`;
  writeFileSync(join(dir, 'b.yaml'), ns('b'));
  writeFileSync(join(dir, 'a.yml'), ns('a'));
  writeFileSync(join(dir, 'c.json'), '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}');
  writeFileSync(join(dir, 'notes.txt'), 'not yaml: [');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'd.yaml'), ns('d'));

  const flat = await loadManifests([dir]);
  t.same(flat.objects.map((o) => o.name), ['a', 'b', 'c']);
  const rec = await loadManifests([dir], { recursive: true });
  t.same(rec.objects.map((o) => o.name), ['a', 'b', 'c', 'd']);

  const stdin = Readable.from([Buffer.from(ns('from-stdin'))]);
  const s = await loadManifests(['-', join(dir, 'a.yml')], { stdin });
  t.same(s.objects.map((o) => o.name), ['from-stdin', 'a']);
  t.equal(s.objects[0]!.loc.file, '<stdin>');

  await t.rejects(readSources(['nope.yaml'], { recursive: false }), { message: 'the path "nope.yaml" does not exist' });
  await t.rejects(loadManifests(['-']), KpfError);
});

t.test('unsupported kinds are skipped with one notice', async (t) => {
  const text = ['ConfigMap', 'Secret', 'ConfigMap', 'EndpointSlice'].map((k) => `apiVersion: v1\nkind: ${k}\nmetadata: {name: x}\n`).join('---\n');
  const r = parseManifestText(text, 'k.yaml');
  t.same(r.objects, []);
  t.same(r.diagnostics.map((d) => [d.severity, d.message]), [['notice', 'skipped 4 objects of unsupported kinds (ConfigMap ×2, Secret ×1, EndpointSlice ×1)']]);
});
