/**
 * API-server validation (semantics.md §2, V1–V24) of defaulted raw objects, with upstream field paths and messages
 * (kubernetes/kubernetes pkg/apis/networking/validation, apimachinery util/validation), plus the checks kpf needs on
 * the other kinds: object names, labels, Service ports, container ports, IPs.
 *
 * Every error of an object is collected (not just the first). A message reads `<Type>: <detail>`, the path is the
 * upstream field path and the line is the line of that field or of its nearest present parent.
 */
import type { Diagnostic } from '../core/errors.js';
import { CIDR_INVALID_MSG, cidrContainsCidr, formatCIDR, parseCIDR, parseIP } from '../core/ip.js';
import type { RawMeta, RawNPPort, RawObject, RawPeer, RawPodSpec, RawSelector, RawService } from './decode.js';

export interface ValidateOptions {
  cidrValidation: 'strict' | 'legacy';
}

/** Resolves a field path to a line (see parse.ts `lineAt`). */
export type LineOf = (path: string) => number;

// ---- apimachinery util/validation messages -------------------------------------------------------------------

const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';
const IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

const maxLen = (n: number): string => `must be no more than ${n} characters`;

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!DNS1123_LABEL_RE.test(v)) {
    if (DNS1123_SUBDOMAIN_RE.test(v)) errs.push('must not contain dots');
    else errs.push(DNS1123_LABEL_MSG);
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!DNS1035_LABEL_RE.test(v)) errs.push(DNS1035_LABEL_MSG);
  return errs;
}

/** IsQualifiedName (label keys, selector keys). */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [`a qualified name ${QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (name.length > 0 && !QUALIFIED_NAME_RE.test(name)) errs.push(`name part ${QUALIFIED_NAME_MSG}`);
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!LABEL_VALUE_RE.test(v)) errs.push(LABEL_VALUE_MSG);
  return errs;
}

export function isValidPortNum(n: number): string[] {
  return n >= 1 && n <= 65535 ? [] : [PORT_RANGE_MSG];
}

/** IsValidPortName (IANA_SVC_NAME). */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length < 1 || v.length > 15) errs.push(maxLen(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.length > 0 && (v.startsWith('-') || v.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** Go-ish rendering of a value in `Invalid value: <v>` (strings quoted, numbers bare). */
function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

// ---- collector ----------------------------------------------------------------------------------------------

class Errs {
  readonly list: Diagnostic[] = [];
  constructor(
    private readonly lineOf: LineOf,
    private readonly file: string,
    private readonly doc: number | undefined,
  ) {}
  private add(severity: Diagnostic['severity'], path: string, message: string, linePath?: string): void {
    const loc = { file: this.file, line: this.lineOf(linePath ?? path), ...(this.doc === undefined ? {} : { doc: this.doc }) };
    this.list.push({ severity, code: severity === 'error' ? 'KPF_ERR_MANIFEST_INVALID' : 'KPF_WARN_MANIFEST', message, path, loc });
  }
  invalid(path: string, value: unknown, detail: string, linePath?: string): void {
    this.add('error', path, `Invalid value: ${show(value)}: ${detail}`, linePath);
  }
  required(path: string, detail = ''): void {
    this.add('error', path, detail ? `Required value: ${detail}` : 'Required value');
  }
  forbidden(path: string, detail: string): void {
    this.add('error', path, `Forbidden: ${detail}`);
  }
  notSupported(path: string, value: unknown, supported: string[]): void {
    this.add('error', path, `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`);
  }
  duplicate(path: string, value: unknown): void {
    this.add('error', path, `Duplicate value: ${show(value)}`);
  }
  warn(path: string, message: string): void {
    this.add('warning', path, message);
  }
}

// ---- shared pieces ------------------------------------------------------------------------------------------

function validateLabels(labels: Record<string, string> | undefined, path: string, e: Errs): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const at = `${path}[${k}]`;
    for (const m of isQualifiedName(k)) e.invalid(path, k, m, at);
    for (const m of isValidLabelValue(v)) e.invalid(path, v, m, at);
  }
}

type NameRule = 'subdomain' | 'label' | 'dns1035';

function validateMeta(meta: RawMeta | undefined, rule: NameRule, namespaced: boolean, e: Errs): void {
  const name = meta?.name;
  if (!name) {
    if (!meta?.generateName) e.required('metadata.name', 'name or generateName is required');
  } else {
    const errs = rule === 'label' ? isDNS1123Label(name) : rule === 'dns1035' ? isDNS1035Label(name) : isDNS1123Subdomain(name);
    for (const m of errs) e.invalid('metadata.name', name, m); // V2
  }
  const ns = meta?.namespace;
  if (namespaced) {
    if (ns) for (const m of isDNS1123Label(ns)) e.invalid('metadata.namespace', ns, m); // V3
  } else if (ns) {
    e.forbidden('metadata.namespace', 'not allowed on this type');
  }
  validateLabels(meta?.labels, 'metadata.labels', e); // V4
}

/** V5–V9. */
function validateSelector(sel: RawSelector | undefined, path: string, e: Errs): void {
  if (!sel) return;
  validateLabels(sel.matchLabels, `${path}.matchLabels`, e);
  (sel.matchExpressions ?? []).forEach((r, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) e.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"); // V8
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) e.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"); // V9
        break;
      default:
        e.invalid(`${p}.operator`, r.operator ?? '', 'not a valid selector operator'); // V7
    }
    for (const m of isQualifiedName(r.key ?? '')) e.invalid(`${p}.key`, r.key ?? '', m); // V5
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) e.invalid(`${p}.values[${j}]`, v, m); // V6
    });
  });
}

/** Does `sel` match `labels` (for the workload selector/template check)? */
function selectorMatches(sel: RawSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key ?? '');
    const val = has ? labels[r.key ?? ''] : undefined;
    const vals = r.values ?? [];
    if (r.operator === 'In' && !(has && vals.includes(val!))) return false;
    if (r.operator === 'NotIn' && has && vals.includes(val!)) return false;
    if (r.operator === 'Exists' && !has) return false;
    if (r.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function validateIP(v: string | undefined, path: string, e: Errs): void {
  if (v === undefined || v === '') return;
  if (!parseIP(v)) e.invalid(path, v, IP_MSG);
}

function validatePodSpec(spec: RawPodSpec | undefined, path: string, e: Errs): void {
  (spec?.containers ?? []).forEach((c, i) => {
    (c.ports ?? []).forEach((p, j) => {
      const pp = `${path}.containers[${i}].ports[${j}]`;
      if (p.containerPort === undefined) e.required(`${pp}.containerPort`);
      else for (const m of isValidPortNum(p.containerPort)) e.invalid(`${pp}.containerPort`, p.containerPort, m);
      if (p.hostPort !== undefined && p.hostPort !== 0) for (const m of isValidPortNum(p.hostPort)) e.invalid(`${pp}.hostPort`, p.hostPort, m);
      if (p.name !== undefined) for (const m of isValidPortName(p.name)) e.invalid(`${pp}.name`, p.name, m);
      if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) e.notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS);
      validateIP(p.hostIP, `${pp}.hostIP`, e);
    });
  });
}

// ---- NetworkPolicy --------------------------------------------------------------------------------------------

/** V10–V16. */
function validateNPPort(port: RawNPPort, path: string, e: Errs): void {
  if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) e.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS);
  if (port.port !== undefined) {
    if (typeof port.port === 'number') {
      for (const m of isValidPortNum(port.port)) e.invalid(`${path}.port`, port.port, m); // V11
      if (port.endPort !== undefined) {
        if (port.endPort < port.port) e.invalid(`${path}.endPort`, port.port, 'must be greater than or equal to `port`'); // V13
        for (const m of isValidPortNum(port.endPort)) e.invalid(`${path}.endPort`, port.endPort, m); // V14
      }
    } else {
      if (port.endPort !== undefined) e.invalid(`${path}.endPort`, port.endPort, 'may not be specified when `port` is non-numeric'); // V15
      const hint = /^[0-9]+$/.test(port.port) ? ` (did you mean ${Number(port.port)}?)` : '';
      for (const m of isValidPortName(port.port)) e.invalid(`${path}.port`, port.port, m + hint); // V12
    }
  } else if (port.endPort !== undefined) {
    e.invalid(`${path}.endPort`, port.endPort, 'may not be specified when `port` is not specified'); // V16
  }
}

/** V20/V21 for one CIDR; returns the parsed CIDR (normalised) when usable. */
function checkCIDR(v: string, path: string, opts: ValidateOptions, e: Errs): void {
  const strict = parseCIDR(v, opts.cidrValidation === 'strict');
  if (!strict.ok) {
    e.invalid(path, v, strict.message);
    return;
  }
  if (strict.normalised) {
    e.warn(path, `Invalid value: ${show(v)}: non-standard CIDR value, normalised to ${formatCIDR(strict.cidr)} (--cidr-validation=legacy)`);
  }
}

/** V17–V22. */
function validatePeer(peer: RawPeer, path: string, opts: ValidateOptions, e: Errs): void {
  let n = 0;
  if (peer.podSelector) {
    n++;
    validateSelector(peer.podSelector, `${path}.podSelector`, e);
  }
  if (peer.namespaceSelector) {
    n++;
    validateSelector(peer.namespaceSelector, `${path}.namespaceSelector`, e);
  }
  if (peer.ipBlock) {
    n++;
    const ib = peer.ipBlock;
    const bp = `${path}.ipBlock`;
    if (!ib.cidr) e.required(`${bp}.cidr`); // V19
    else {
      checkCIDR(ib.cidr, `${bp}.cidr`, opts, e);
      // V22 compares the network addresses, as upstream's ParseCIDRSloppy does
      const outer = parseCIDR(ib.cidr, false);
      const outerCidr = outer.ok ? outer.cidr : undefined;
      (ib.except ?? []).forEach((x, k) => {
        const xp = `${bp}.except[${k}]`;
        checkCIDR(x, xp, opts, e);
        const inner = parseCIDR(x, false);
        if (!inner.ok || !outerCidr) return;
        if (!cidrContainsCidr(outerCidr, inner.cidr) || inner.cidr.prefix <= outerCidr.prefix) {
          e.invalid(xp, x, 'must be a strict subset of `cidr`'); // V22
        }
      });
    }
  }
  if (n === 0) e.required(path, 'must specify a peer'); // V17
  else if (peer.ipBlock && n > 1) e.forbidden(path, 'may not specify both ipBlock and another peer'); // V18
}

function validateNetworkPolicy(o: Extract<RawObject, { kind: 'NetworkPolicy' }>, opts: ValidateOptions, e: Errs): void {
  validateMeta(o.metadata, 'subdomain', true, e);
  const spec = o.spec ?? {};
  validateSelector(spec.podSelector, 'spec.podSelector', e);
  for (const [dir, peerKey] of [['ingress', 'from'], ['egress', 'to']] as const) {
    (spec[dir] ?? []).forEach((rule, i) => {
      const rp = `spec.${dir}[${i}]`;
      (rule.ports ?? []).forEach((p, j) => validateNPPort(p, `${rp}.ports[${j}]`, e));
      (rule[peerKey] ?? []).forEach((peer, j) => validatePeer(peer, `${rp}.${peerKey}[${j}]`, opts, e));
    });
  }
  const types = spec.policyTypes ?? [];
  if (types.length > 2) e.invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'); // V23
  else {
    types.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') e.notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']); // V24
    });
  }
}

// ---- other kinds --------------------------------------------------------------------------------------------

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function validateService(o: RawService, e: Errs): void {
  validateMeta(o.metadata, 'dns1035', true, e);
  const spec = o.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) e.notSupported('spec.type', type, SERVICE_TYPES);
  validateLabels(spec.selector, 'spec.selector', e);
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== 'None') validateIP(spec.clusterIP, 'spec.clusterIP', e);
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (ip !== 'None' && ip !== '') validateIP(ip, `spec.clusterIPs[${i}]`, e);
  });
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && type !== 'ExternalName' && !headless) e.required('spec.ports');
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) e.required(`${pp}.name`);
    if (p.name) {
      for (const m of isDNS1123Label(p.name)) e.invalid(`${pp}.name`, p.name, m);
      if (names.has(p.name)) e.duplicate(`${pp}.name`, p.name);
      names.add(p.name);
    }
    if (p.port === undefined) e.required(`${pp}.port`);
    else for (const m of isValidPortNum(p.port)) e.invalid(`${pp}.port`, p.port, m);
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) e.notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS);
    if (typeof p.targetPort === 'number') for (const m of isValidPortNum(p.targetPort)) e.invalid(`${pp}.targetPort`, p.targetPort, m);
    else if (typeof p.targetPort === 'string') for (const m of isValidPortName(p.targetPort)) e.invalid(`${pp}.targetPort`, p.targetPort, m);
    if (p.nodePort !== undefined && p.nodePort !== 0) for (const m of isValidPortNum(p.nodePort)) e.invalid(`${pp}.nodePort`, p.nodePort, m);
  });
}

/**
 * Validates one defaulted object. Returns errors and warnings (V21 legacy normalisation); the object is usable iff
 * no error is among them.
 */
export function validateObject(o: RawObject, lineOf: LineOf, file: string, doc: number | undefined, opts: ValidateOptions): Diagnostic[] {
  const e = new Errs(lineOf, file, doc);
  switch (o.kind) {
    case 'NetworkPolicy':
      validateNetworkPolicy(o, opts, e);
      break;
    case 'Namespace':
      validateMeta(o.metadata, 'label', false, e);
      break;
    case 'Node':
      validateMeta(o.metadata, 'subdomain', false, e);
      if (o.spec?.podCIDR) checkPlainCIDR(o.spec.podCIDR, 'spec.podCIDR', e);
      (o.spec?.podCIDRs ?? []).forEach((c, i) => checkPlainCIDR(c, `spec.podCIDRs[${i}]`, e));
      (o.status?.addresses ?? []).forEach((a, i) => {
        if (a.type === 'InternalIP' || a.type === 'ExternalIP') validateIP(a.address ?? '', `status.addresses[${i}].address`, e);
      });
      break;
    case 'Pod':
      validateMeta(o.metadata, 'subdomain', true, e);
      validatePodSpec(o.spec, 'spec', e);
      validateIP(o.status?.podIP, 'status.podIP', e);
      (o.status?.podIPs ?? []).forEach((p, i) => {
        if (!p.ip) e.required(`status.podIPs[${i}].ip`);
        else validateIP(p.ip, `status.podIPs[${i}].ip`, e);
      });
      validateIP(o.status?.hostIP, 'status.hostIP', e);
      break;
    case 'Service':
      validateService(o, e);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet': {
      validateMeta(o.metadata, 'subdomain', true, e);
      const spec = o.spec ?? {};
      if (spec.replicas !== undefined && spec.replicas < 0) e.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0');
      const tlabels = spec.template?.metadata?.labels ?? {};
      validateLabels(tlabels, 'spec.template.metadata.labels', e);
      if (!spec.selector) e.required('spec.selector');
      else {
        validateSelector(spec.selector, 'spec.selector', e);
        const empty = Object.keys(spec.selector.matchLabels ?? {}).length === 0 && (spec.selector.matchExpressions ?? []).length === 0;
        if (empty) e.invalid('spec.selector', spec.selector, `empty selector is invalid for ${o.kind.toLowerCase()}`);
        else if (!selectorMatches(spec.selector, tlabels)) {
          e.invalid('spec.template.metadata.labels', tlabels, '`selector` does not match template `labels`');
        }
      }
      validatePodSpec(spec.template?.spec, 'spec.template.spec', e);
      break;
    }
  }
  return e.list;
}

function checkPlainCIDR(v: string, path: string, e: Errs): void {
  if (!parseCIDR(v, false).ok) e.invalid(path, v, CIDR_INVALID_MSG);
}
