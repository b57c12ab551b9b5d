/**
 * Table-driven rule tests: one row per X1–X6, V1–V24, D1–D7 and lint rule. Every bad row is loaded between two
 * valid objects, which must still be loaded (nothing valid is dropped).
 */
import t from 'tap';
import { formatDiagnostic } from '../../src/core/errors.js';
import { parseManifestText } from '../../src/manifests/index.js';
import type { KubeObject, NetworkPolicyObject, PodObject, ServiceObject } from '../../src/manifests/types.js';

const KEEP_BEFORE = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: keep-np, namespace: default}
spec: {podSelector: {}}
`;
const KEEP_AFTER = `apiVersion: v1
kind: Pod
metadata: {name: keep-pod, namespace: default, labels: {app: web}}
spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]}
`;

/** A NetworkPolicy named `bad` with a flow-style spec. */
const np = (spec: string, meta = '{name: bad, namespace: default}', apiVersion = 'networking.k8s.io/v1'): string =>
  `apiVersion: ${apiVersion}\nkind: NetworkPolicy\nmetadata: ${meta}\nspec: ${spec}\n`;

interface Row {
  id: string;
  doc: string;
  path: string;
  msg: string;
  severity?: 'error' | 'warning' | 'notice';
  /** the bad object is still loaded (warnings) */
  loaded?: boolean;
}

const peer = (p: string): string => np(`{ingress: [{from: [${p}]}]}`);
const port = (p: string): string => np(`{ingress: [{ports: [${p}]}]}`);
const sel = (s: string): string => np(`{podSelector: ${s}}`);

const rows: Row[] = [
  // ---- decoding
  { id: 'X1 unknown field', doc: np('{ingress: [{form: []}]}'), path: 'spec.ingress[0].form', msg: 'strict decoding error: unknown field "spec.ingress[0].form"' },
  { id: 'X1 port under ingress', doc: np('{ingress: [{port: 80}]}'), path: 'spec.ingress[0].port', msg: 'unknown field' },
  { id: 'X1 lowercase key', doc: np('{ingress: [{from: [{namespaceselector: {}}]}]}'), path: 'spec.ingress[0].from[0].namespaceselector', msg: 'unknown field' },
  { id: 'X1 metadata.lables', doc: np('{}', '{name: bad, lables: {a: b}}'), path: 'metadata.lables', msg: 'unknown field "metadata.lables"' },
  { id: 'X1 pod containerport', doc: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, ports: [{containerport: 80}]}]}\n', path: 'spec.containers[0].ports[0].containerport', msg: 'unknown field' },
  { id: 'X1 service selecter', doc: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {selecter: {app: web}, ports: [{port: 80}]}\n', path: 'spec.selecter', msg: 'did you mean "selector"?' },
  { id: 'X1 container port for ports', doc: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, port: [{containerPort: 80}]}]}\n', path: 'spec.containers[0].port', msg: 'unknown field' },
  { id: 'X2 duplicate key', doc: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec:\n  podSelector: {}\n  podSelector: {matchLabels: {a: b}}\n', path: 'spec.podSelector', msg: 'duplicate field "spec.podSelector"' },
  { id: 'X2 duplicate label', doc: np('{}', '{name: bad, labels: {a: x, a: y}}'), path: 'metadata.labels[a]', msg: 'duplicate field' },
  { id: 'X3 matchLabels string', doc: sel('{matchLabels: "app=web"}'), path: 'spec.podSelector.matchLabels', msg: 'expected object (map of string), got string "app=web"' },
  { id: 'X3 ports number', doc: np('{ingress: [{ports: 80}]}'), path: 'spec.ingress[0].ports', msg: 'expected array, got number 80' },
  { id: 'X3 containerPort quoted', doc: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, ports: [{containerPort: "80"}]}]}\n', path: 'spec.containers[0].ports[0].containerPort', msg: 'did you mean 80 without quotes?' },
  { id: 'X3 label value bool', doc: np('{}', '{name: bad, labels: {enabled: on}}'), path: 'metadata.labels[enabled]', msg: 'expected string, got boolean true' },
  { id: 'X5 extensions/v1beta1', doc: np('{}', undefined, 'extensions/v1beta1'), path: 'apiVersion', msg: 'document 1: NetworkPolicy is supported as networking.k8s.io/v1 only' },
  { id: 'X5 deployment apps/v1beta1', doc: 'apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: bad}\n', path: 'apiVersion', msg: 'Deployment is supported as apps/v1 only' },
  { id: 'X  kind missing', doc: 'apiVersion: v1\nmetadata: {name: bad}\n', path: 'kind', msg: "Object 'Kind' is missing" },
  { id: 'X  not an object', doc: '- a\n- b\n', path: '', msg: 'expected an object, got array' },
  // ---- metadata
  { id: 'V1 name required', doc: np('{}', '{namespace: default}'), path: 'metadata.name', msg: 'Required value: name or generateName is required' },
  { id: 'V2 name subdomain', doc: np('{}', '{name: Bad_Name}'), path: 'metadata.name', msg: 'a lowercase RFC 1123 subdomain must consist of' },
  { id: 'V2 name too long', doc: np('{}', `{name: ${'a'.repeat(254)}}`), path: 'metadata.name', msg: 'must be no more than 253 characters' },
  { id: 'V3 namespace label', doc: np('{}', '{name: bad, namespace: Prod_1}'), path: 'metadata.namespace', msg: 'a lowercase RFC 1123 label must consist of' },
  { id: 'V3 namespace dots', doc: np('{}', '{name: bad, namespace: a.b}'), path: 'metadata.namespace', msg: 'must not contain dots' },
  { id: 'V4 label key', doc: np('{}', '{name: bad, labels: {"-x": yy}}'), path: 'metadata.labels', msg: 'name part must consist of alphanumeric characters' },
  { id: 'V4 label value', doc: np('{}', '{name: bad, labels: {x: "-y"}}'), path: 'metadata.labels', msg: 'a valid label must be an empty string or consist of' },
  { id: 'V4 other kind name', doc: 'apiVersion: v1\nkind: Service\nmetadata: {name: 1svc}\nspec: {ports: [{port: 80}]}\n', path: 'metadata.name', msg: 'a DNS-1035 label must consist of' },
  // ---- selectors
  { id: 'V5 selector key', doc: sel('{matchLabels: {"a/b/c": x}}'), path: 'spec.podSelector.matchLabels', msg: 'a qualified name must consist of' },
  { id: 'V5 key name > 63', doc: sel(`{matchExpressions: [{key: ${'k'.repeat(64)}, operator: Exists}]}`), path: 'spec.podSelector.matchExpressions[0].key', msg: 'name part must be no more than 63 characters' },
  { id: 'V5 key prefix', doc: sel('{matchLabels: {"Bad_Prefix/x": yy}}'), path: 'spec.podSelector.matchLabels', msg: 'prefix part a lowercase RFC 1123 subdomain' },
  { id: 'V6 selector value', doc: sel('{matchExpressions: [{key: a, operator: In, values: ["x y"]}]}'), path: 'spec.podSelector.matchExpressions[0].values[0]', msg: 'a valid label must be an empty string' },
  { id: 'V7 operator', doc: sel('{matchExpressions: [{key: a, operator: in, values: [x]}]}'), path: 'spec.podSelector.matchExpressions[0].operator', msg: 'Invalid value: "in": not a valid selector operator' },
  { id: 'V8 In without values', doc: sel('{matchExpressions: [{key: a, operator: In}]}'), path: 'spec.podSelector.matchExpressions[0].values', msg: "Required value: must be specified when `operator` is 'In' or 'NotIn'" },
  { id: 'V9 Exists with values', doc: sel('{matchExpressions: [{key: a, operator: Exists, values: [x]}]}'), path: 'spec.podSelector.matchExpressions[0].values', msg: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" },
  // ---- ports
  { id: 'V10 protocol', doc: port('{protocol: ICMP}'), path: 'spec.ingress[0].ports[0].protocol', msg: 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"' },
  { id: 'V11 port 0', doc: port('{port: 0}'), path: 'spec.ingress[0].ports[0].port', msg: 'Invalid value: 0: must be between 1 and 65535, inclusive' },
  { id: 'V11 port 65536', doc: port('{port: 65536}'), path: 'spec.ingress[0].ports[0].port', msg: 'must be between 1 and 65535, inclusive' },
  { id: 'V12 quoted number', doc: port('{port: "80"}'), path: 'spec.ingress[0].ports[0].port', msg: 'must contain at least one letter (a-z) (did you mean 80?)' },
  { id: 'V12 too long', doc: port('{port: abcdefghijklmnop}'), path: 'spec.ingress[0].ports[0].port', msg: 'must be no more than 15 characters' },
  { id: 'V12 upper case', doc: port('{port: HTTP}'), path: 'spec.ingress[0].ports[0].port', msg: 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)' },
  { id: 'V12 double hyphen', doc: port('{port: a--b}'), path: 'spec.ingress[0].ports[0].port', msg: 'must not contain consecutive hyphens' },
  { id: 'V12 edge hyphen', doc: port('{port: -ab}'), path: 'spec.ingress[0].ports[0].port', msg: 'must not begin or end with a hyphen' },
  { id: 'V13 endPort < port', doc: port('{port: 90, endPort: 80}'), path: 'spec.ingress[0].ports[0].endPort', msg: 'must be greater than or equal to `port`' },
  { id: 'V14 endPort range', doc: port('{port: 90, endPort: 70000}'), path: 'spec.ingress[0].ports[0].endPort', msg: 'Invalid value: 70000: must be between 1 and 65535, inclusive' },
  { id: 'V15 endPort named', doc: port('{port: http, endPort: 90}'), path: 'spec.ingress[0].ports[0].endPort', msg: 'may not be specified when `port` is non-numeric' },
  { id: 'V16 endPort alone', doc: port('{endPort: 90}'), path: 'spec.ingress[0].ports[0].endPort', msg: 'may not be specified when `port` is not specified' },
  // ---- peers
  { id: 'V17 empty peer', doc: peer('{}'), path: 'spec.ingress[0].from[0]', msg: 'Required value: must specify a peer' },
  { id: 'V18 ipBlock + selector', doc: peer('{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}'), path: 'spec.ingress[0].from[0]', msg: 'Forbidden: may not specify both ipBlock and another peer' },
  { id: 'V19 cidr required', doc: peer('{ipBlock: {cidr: ""}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'Required value' },
  { id: 'V20 not a cidr', doc: peer('{ipBlock: {cidr: 10.0.0.0}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' },
  { id: 'V20 /33', doc: peer('{ipBlock: {cidr: 10.0.0.0/33}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'must be a valid CIDR value' },
  { id: 'V20 bad except', doc: peer('{ipBlock: {cidr: 10.0.0.0/8, except: [aaaa]}}'), path: 'spec.ingress[0].from[0].ipBlock.except[0]', msg: 'must be a valid CIDR value' },
  { id: 'V21 leading zeros', doc: peer('{ipBlock: {cidr: 010.0.0.0/8}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'must not have leading 0s in IP or prefix length' },
  { id: 'V21 v4-mapped', doc: peer('{ipBlock: {cidr: "::ffff:10.0.0.0/104"}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'must not have an IPv4-mapped IPv6 address' },
  { id: 'V21 host bits', doc: peer('{ipBlock: {cidr: 10.0.0.1/8}}'), path: 'spec.ingress[0].from[0].ipBlock.cidr', msg: 'must not have bits set beyond the prefix length' },
  { id: 'V22 except equal', doc: peer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}'), path: 'spec.ingress[0].from[0].ipBlock.except[0]', msg: 'must be a strict subset of `cidr`' },
  { id: 'V22 except outside', doc: peer('{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}'), path: 'spec.ingress[0].from[0].ipBlock.except[0]', msg: 'must be a strict subset of `cidr`' },
  { id: 'V22 except family', doc: peer('{ipBlock: {cidr: 10.0.0.0/8, except: ["fd00::/64"]}}'), path: 'spec.ingress[0].from[0].ipBlock.except[0]', msg: 'must be a strict subset of `cidr`' },
  { id: 'V23 three types', doc: np('{policyTypes: [Ingress, Egress, Ingress]}'), path: 'spec.policyTypes', msg: 'may not specify more than two policyTypes' },
  { id: 'V24 lowercase type', doc: np('{policyTypes: [ingress]}'), path: 'spec.policyTypes[0]', msg: 'Unsupported value: "ingress": supported values: "Ingress", "Egress"' },
  // ---- other kinds
  { id: 'Svc port range', doc: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 0}]}\n', path: 'spec.ports[0].port', msg: 'must be between 1 and 65535, inclusive' },
  { id: 'Svc port names', doc: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 80, name: a}, {port: 81}]}\n', path: 'spec.ports[1].name', msg: 'Required value' },
  { id: 'Ctr port range', doc: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, ports: [{containerPort: 70000}]}]}\n', path: 'spec.containers[0].ports[0].containerPort', msg: 'must be between 1 and 65535, inclusive' },
  { id: 'Deploy selector', doc: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: b}}, spec: {containers: []}}}\n', path: 'spec.template.metadata.labels', msg: '`selector` does not match template `labels`' },
  { id: 'Pod IP', doc: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nstatus: {podIP: 10.0.0.300}\n', path: 'status.podIP', msg: 'must be a valid IP address' },
  // ---- lint (warnings: object is loaded)
  { id: 'E5 egress: []', doc: np('{egress: []}'), path: 'spec.egress', msg: 'egress: [] does not isolate egress without policyTypes: [Egress]', severity: 'warning', loaded: true },
  { id: 'E32 unlisted dir', doc: np('{policyTypes: [Egress], ingress: [{}]}'), path: 'spec.ingress', msg: 'ingress rules have no effect', severity: 'warning', loaded: true },
  { id: 'E32 unlisted egress', doc: np('{policyTypes: [Ingress], egress: [{}]}'), path: 'spec.egress', msg: 'egress rules have no effect', severity: 'warning', loaded: true },
  { id: 'V24 [Ingress,Ingress]', doc: np('{policyTypes: [Ingress, Ingress]}'), path: 'spec.policyTypes[1]', msg: 'duplicate policy type "Ingress"', severity: 'warning', loaded: true },
  { id: 'Lint named port to ipBlocks', doc: np('{policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: http}]}]}'), path: 'spec.egress[0].ports[0].port', msg: 'named port "http" resolves on the destination pod', severity: 'warning', loaded: true },
  { id: 'Lint overlapping except', doc: peer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.1.2.0/24]}}'), path: 'spec.ingress[0].from[0].ipBlock.except[1]', msg: 'overlaps except[0]', severity: 'warning', loaded: true },
  { id: 'X6 unsupported kind', doc: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n', path: '', msg: 'skipped 1 object of unsupported kinds (ConfigMap ×1)', severity: 'notice' },
];

const names = (objs: KubeObject[]): string[] => objs.map((o) => o.name);

for (const row of rows) {
  t.test(row.id, async (t) => {
    const text = `${KEEP_BEFORE}---\n${row.doc}---\n${KEEP_AFTER}`;
    const r = parseManifestText(text, 'rows.yaml');
    const sev = row.severity ?? 'error';
    const hit = r.diagnostics.find((d) => d.severity === sev && (d.path ?? '') === row.path && d.message.includes(row.msg));
    t.ok(hit, `${sev} at ${row.path} containing ${JSON.stringify(row.msg)}; got:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
    if (sev === 'error') t.ok(hit?.loc && hit.loc.line >= 6 && hit.loc.line <= 11, 'line within the bad document');
    const expected = row.loaded ? ['keep-np', 'bad', 'keep-pod'] : ['keep-np', 'keep-pod'];
    t.same(names(r.objects), expected, 'valid objects still loaded');
    if (sev !== 'error') t.notOk(r.diagnostics.some((d) => d.severity === 'error'), 'no errors');
  });
}

t.test('all errors of one document are reported', async (t) => {
  const r = parseManifestText(np('{ingress: [{from: [{}], ports: [{port: 0}, {protocol: ICMP}]}], policyTypes: [x]}', '{name: Bad}'), 'f.yaml');
  t.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 5);
});

t.test('X6 empty documents and Lists', async (t) => {
  const r = parseManifestText(`---\n---\n# only a comment\n---\n${KEEP_BEFORE}---\n\n---\napiVersion: v1\nkind: PodList\nitems:\n- ${KEEP_AFTER.replace(/\n(?=.)/g, '\n  ')}`, 'e.yaml');
  t.same(r.diagnostics, []);
  t.same(names(r.objects), ['keep-np', 'keep-pod']);
});

t.test('V21 legacy: accepted, normalised, warned', async (t) => {
  const r = parseManifestText(peer('{ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.1/16]}}'), 'l.yaml', { cidrValidation: 'legacy' });
  t.equal(r.objects.length, 1);
  const p = (r.objects[0] as NetworkPolicyObject).ingress[0]!.peers[0]!;
  t.same(p.ipBlock, { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] });
  t.equal(r.diagnostics.filter((d) => d.severity === 'warning' && d.message.includes('non-standard CIDR value')).length, 2);
});

t.test('D1–D7 defaults', async (t) => {
  const get = (text: string, opts = {}): KubeObject => {
    const r = parseManifestText(text, 'd.yaml', opts);
    t.same(r.diagnostics.filter((d) => d.severity === 'error'), []);
    return r.objects[0]!;
  };
  // D1
  t.same((get(np('{}')) as NetworkPolicyObject).policyTypes, ['Ingress'], 'D1 no egress');
  t.same((get(np('{egress: []}')) as NetworkPolicyObject).policyTypes, ['Ingress'], 'D1 egress: []');
  t.same((get(np('{egress: [{}]}')) as NetworkPolicyObject).policyTypes, ['Ingress', 'Egress'], 'D1 egress rules');
  t.same((get(np('{policyTypes: [Egress]}')) as NetworkPolicyObject).policyTypes, ['Egress'], 'D1 explicit kept');
  // D2
  t.equal((get(port('{port: 80}')) as NetworkPolicyObject).ingress[0]!.ports[0]!.protocol, 'TCP', 'D2');
  // D3
  t.same((get(np('{podSelector: null}')) as NetworkPolicyObject).podSelector, { matchLabels: {}, matchExpressions: [] }, 'D3');
  t.same((get('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: nn}\n') as NetworkPolicyObject).podSelector.matchLabels, {}, 'D3 no spec');
  // D4
  t.equal((get(np('{}', '{name: x}')) as NetworkPolicyObject).namespace, 'default', 'D4 default');
  t.equal((get(np('{}', '{name: x}'), { defaultNamespace: 'prod' }) as NetworkPolicyObject).namespace, 'prod', 'D4 -n');
  t.equal((get(np('{}', '{name: x, namespace: a}'), { defaultNamespace: 'prod' }) as NetworkPolicyObject).namespace, 'a', 'D4 given');
  // D5
  t.same(get('apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: a}}\n').labels, { team: 'a', 'kubernetes.io/metadata.name': 'prod' }, 'D5');
  // D6
  t.equal((get(KEEP_AFTER) as PodObject).spec.ports[0]!.protocol, 'TCP', 'D6');
  // D7
  const svc = get('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: web}, ports: [{port: 80}, {port: 53, protocol: UDP, targetPort: dns, name: dns}]}\n'.replace('{port: 80}', '{port: 80, name: http}')) as ServiceObject;
  t.same(svc.ports, [
    { name: 'http', protocol: 'TCP', port: 80, targetPort: 80 },
    { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' },
  ], 'D7');
  t.equal(svc.type, 'ClusterIP');
  t.same(svc.clusterIPs, []);
});

t.test('open structs accept unread upstream fields and unknown far-off fields', async (t) => {
  const r = parseManifestText(
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: x, annotations: {a: b}}\nspec: {volumes: [], someFutureField: {x: 1}, containers: [{name: c, image: i, livenessProbe: {}}]}\nstatus: {phase: Running, conditions: [], hostIPs: [{ip: 10.0.0.1}], podIPs: [{ip: "fd00::0:1"}, {ip: 10.1.0.2}]}\n',
    'p.yaml',
  );
  t.same(r.diagnostics, []);
  t.same((r.objects[0] as PodObject).podIPs, ['fd00::1', '10.1.0.2']);
});
