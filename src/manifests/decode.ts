/**
 * Strict decoding (semantics.md §1): located value tree → plain raw object of a supported kind.
 *
 *  - X1 unknown field: `strict decoding error: unknown field "spec.ingress[0].form"` (scope: see schema.ts)
 *  - X2 duplicate key: `strict decoding error: duplicate field "spec.podSelector"`
 *  - X3 wrong type: `Invalid type: expected integer, got string "80"` with the field path; nothing is coerced
 *  - X5 unsupported apiVersion of a supported kind: error naming the document
 *  - unsupported kinds are not errors: the caller counts them (one notice)
 *
 * The raw shapes below are what defaulting and validation work on; they still hold unchecked strings (a protocol
 * may be `ICMP` here). index.ts converts them to the types.ts shapes once they are valid.
 */
import type { Diagnostic } from '../core/errors.js';
import { describe, type LValue, type SourceDoc } from './parse.js';
import { SUPPORTED, type Schema } from './schema.js';

export interface RawOwnerRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

export interface RawMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: RawOwnerRef[];
}

export interface RawRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

export interface RawSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: RawRequirement[];
}

export interface RawNPPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface RawPeer {
  podSelector?: RawSelector;
  namespaceSelector?: RawSelector;
  ipBlock?: { cidr?: string; except?: string[] };
}

export interface RawRule {
  ports?: RawNPPort[];
  from?: RawPeer[];
  to?: RawPeer[];
}

export interface RawNetworkPolicy {
  kind: 'NetworkPolicy';
  apiVersion: string;
  metadata?: RawMeta;
  spec?: { podSelector?: RawSelector; ingress?: RawRule[]; egress?: RawRule[]; policyTypes?: string[] };
}

export interface RawContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
  hostPort?: number;
  hostIP?: string;
}

export interface RawPodSpec {
  hostNetwork?: boolean;
  nodeName?: string;
  containers?: Array<{ ports?: RawContainerPort[] }>;
}

export interface RawPod {
  kind: 'Pod';
  apiVersion: string;
  metadata?: RawMeta;
  spec?: RawPodSpec;
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }>; hostIP?: string };
}

export interface RawWorkload {
  kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet';
  apiVersion: string;
  metadata?: RawMeta;
  spec?: { replicas?: number; selector?: RawSelector; template?: { metadata?: RawMeta; spec?: RawPodSpec } };
}

export interface RawServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface RawService {
  kind: 'Service';
  apiVersion: string;
  metadata?: RawMeta;
  spec?: { type?: string; clusterIP?: string; clusterIPs?: string[]; selector?: Record<string, string>; ports?: RawServicePort[] };
}

export interface RawNamespace {
  kind: 'Namespace';
  apiVersion: string;
  metadata?: RawMeta;
}

export interface RawNode {
  kind: 'Node';
  apiVersion: string;
  metadata?: RawMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: Array<{ type?: string; address?: string }> };
}

export type RawObject = RawNetworkPolicy | RawPod | RawWorkload | RawService | RawNamespace | RawNode;

export type DecodeResult =
  | { status: 'ok'; raw: RawObject; diagnostics: Diagnostic[] }
  | { status: 'skipped'; kind: string }
  | { status: 'error'; diagnostics: Diagnostic[] };

/** `document 3` or `document 3, item 7` — how X5 and friends name the input. */
export function docName(d: SourceDoc): string {
  return d.item === undefined ? `document ${d.doc}` : `document ${d.doc}, item ${d.item}`;
}

interface Ctx {
  doc: SourceDoc;
  diags: Diagnostic[];
}

function push(ctx: Ctx, code: string, path: string, line: number, message: string): void {
  ctx.diags.push({ severity: 'error', code, message, path, loc: { file: ctx.doc.file, line, doc: ctx.doc.doc } });
}

/** Optimal-string-alignment distance, for "did you mean" on misspelled keys. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > 2) return 3;
  const d: number[][] = [];
  for (let i = 0; i <= m; i++) d.push([i, ...Array<number>(n).fill(0)]);
  for (let j = 0; j <= n; j++) d[0]![j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/** The read field `key` probably meant, when it looks like a misspelling of one. */
export function nearMiss(key: string, fields: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  for (const f of fields) {
    const fl = f.toLowerCase();
    if (k === fl) return f;
    const dist = editDistance(k, fl);
    if (dist <= 1 && f.length >= 4) return f;
    if (dist <= 2 && f.length >= 8) return f;
  }
  return undefined;
}

/**
 * {@link nearMiss} of a key among a struct's fields, remembered per schema: an open struct's unread keys (a container's
 * `image`) repeat in every object of a manifest.
 */
const nearMisses = new WeakMap<object, Map<string, string | undefined>>();
function nearMissOf(s: { fields: Record<string, unknown> }, key: string): string | undefined {
  let m = nearMisses.get(s);
  if (m === undefined) nearMisses.set(s, (m = new Map()));
  if (m.has(key)) return m.get(key);
  const near = nearMiss(key, Object.keys(s.fields));
  m.set(key, near);
  return near;
}

function typeName(s: Schema): string {
  switch (s.k) {
    case 'string':
      return 'string';
    case 'int':
      return 'integer';
    case 'bool':
      return 'boolean';
    case 'intOrString':
      return 'integer or string';
    case 'map':
      return `object (map of ${typeName(s.of)})`;
    case 'list':
      return 'array';
    case 'struct':
      return 'object';
    default:
      return 'any';
  }
}

function wrongType(ctx: Ctx, path: string, v: LValue, s: Schema): undefined {
  let hint = '';
  if (s.k === 'int' && v.t === 'scalar' && typeof v.value === 'string' && /^[0-9]+$/.test(v.value.trim())) {
    hint = ` (did you mean ${Number(v.value.trim())} without quotes?)`;
  }
  push(ctx, 'KPF_ERR_MANIFEST_WRONG_TYPE', path, v.line, `Invalid type: expected ${typeName(s)}, got ${describe(v)}${hint}`);
  return undefined;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Decodes `v` against `s`; returns undefined for null/absent and after an error (which is recorded). */
function decodeValue(v: LValue, s: Schema, path: string, ctx: Ctx): unknown {
  if (s.k === 'any') return undefined;
  if (v.t === 'scalar' && v.value === null) return undefined; // JSON null = absent
  switch (s.k) {
    case 'string':
      return v.t === 'scalar' && typeof v.value === 'string' ? v.value : wrongType(ctx, path, v, s);
    case 'int':
      return v.t === 'scalar' && typeof v.value === 'number' && Number.isInteger(v.value) ? v.value : wrongType(ctx, path, v, s);
    case 'bool':
      return v.t === 'scalar' && typeof v.value === 'boolean' ? v.value : wrongType(ctx, path, v, s);
    case 'intOrString':
      if (v.t === 'scalar' && typeof v.value === 'string') return v.value;
      if (v.t === 'scalar' && typeof v.value === 'number' && Number.isInteger(v.value)) return v.value;
      return wrongType(ctx, path, v, s);
    case 'list': {
      if (v.t !== 'seq') return wrongType(ctx, path, v, s);
      const out: unknown[] = [];
      v.items.forEach((it, i) => {
        const p = `${path}[${i}]`;
        if (it.t === 'scalar' && it.value === null) {
          if (s.of.k === 'struct') out.push({});
          else wrongType(ctx, p, it, s.of);
          return;
        }
        out.push(decodeValue(it, s.of, p, ctx));
      });
      return out;
    }
    case 'map': {
      if (v.t !== 'map') return wrongType(ctx, path, v, s);
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const e of v.entries) {
        const p = `${path}[${e.key}]`;
        if (seen.has(e.key)) {
          push(ctx, 'KPF_ERR_MANIFEST_DUPLICATE_FIELD', p, e.line, `strict decoding error: duplicate field "${p}"`);
          continue;
        }
        seen.add(e.key);
        if (e.value.t === 'scalar' && e.value.value === null && s.of.k === 'string') {
          out[e.key] = ''; // `key:` with no value is the empty label value upstream too
          continue;
        }
        const dv = decodeValue(e.value, s.of, p, ctx);
        if (dv !== undefined) out[e.key] = dv;
      }
      return out;
    }
    case 'struct': {
      if (v.t !== 'map') return wrongType(ctx, path, v, s);
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const e of v.entries) {
        const p = join(path, e.key);
        if (seen.has(e.key)) {
          push(ctx, 'KPF_ERR_MANIFEST_DUPLICATE_FIELD', p, e.line, `strict decoding error: duplicate field "${p}"`);
          continue;
        }
        seen.add(e.key);
        const fs = s.fields[e.key];
        if (!fs) {
          if (s.open) {
            if (s.open.includes(e.key)) continue;
            const near = nearMissOf(s, e.key);
            if (!near) continue;
            push(
              ctx,
              'KPF_ERR_MANIFEST_UNKNOWN_FIELD',
              p,
              e.line,
              `strict decoding error: unknown field "${p}" (did you mean "${near}"?)`,
            );
            continue;
          }
          const near = nearMissOf(s, e.key);
          push(
            ctx,
            'KPF_ERR_MANIFEST_UNKNOWN_FIELD',
            p,
            e.line,
            `strict decoding error: unknown field "${p}"${near ? ` (did you mean "${near}"?)` : ''}`,
          );
          continue;
        }
        const dv = decodeValue(e.value, fs, p, ctx);
        if (dv !== undefined) out[e.key] = dv;
      }
      return out;
    }
  }
}

function scalarString(root: LValue, key: string): { value: unknown; line: number; present: boolean } {
  if (root.t !== 'map') return { value: undefined, line: root.line, present: false };
  const e = root.entries.find((x) => x.key === key);
  if (!e) return { value: undefined, line: root.line, present: false };
  return { value: e.value.t === 'scalar' ? e.value.value : undefined, line: e.line, present: true };
}

/** Decodes one document (or List item). */
export function decodeDocument(doc: SourceDoc): DecodeResult {
  const ctx: Ctx = { doc, diags: [] };
  const root = doc.root;
  if (root.t !== 'map') {
    push(ctx, 'KPF_ERR_MANIFEST_WRONG_TYPE', '', root.line, `${docName(doc)}: Invalid type: expected an object, got ${describe(root)}`);
    return { status: 'error', diagnostics: ctx.diags };
  }
  const kind = scalarString(root, 'kind');
  const apiVersion = scalarString(root, 'apiVersion');
  if (typeof kind.value !== 'string' || kind.value === '') {
    push(ctx, 'KPF_ERR_MANIFEST_MISSING_KIND', 'kind', kind.line, `Required value: ${docName(doc)}: Object 'Kind' is missing`);
    return { status: 'error', diagnostics: ctx.diags };
  }
  const sup = SUPPORTED[kind.value];
  if (!sup) return { status: 'skipped', kind: kind.value };
  if (typeof apiVersion.value !== 'string' || apiVersion.value === '') {
    push(
      ctx,
      'KPF_ERR_MANIFEST_MISSING_KIND',
      'apiVersion',
      apiVersion.line,
      `Required value: ${docName(doc)}: Object 'apiVersion' is missing (${kind.value} needs apiVersion: ${sup.apiVersion})`,
    );
    return { status: 'error', diagnostics: ctx.diags };
  }
  if (apiVersion.value !== sup.apiVersion) {
    push(
      ctx,
      'KPF_ERR_MANIFEST_API_VERSION',
      'apiVersion',
      apiVersion.line,
      `Unsupported value: ${JSON.stringify(apiVersion.value)}: ${docName(doc)}: ${kind.value} is supported as ${sup.apiVersion} only`,
    );
    return { status: 'error', diagnostics: ctx.diags };
  }
  const raw = decodeValue(root, sup.schema, '', ctx) as RawObject | undefined;
  if (ctx.diags.length > 0 || !raw) return { status: 'error', diagnostics: ctx.diags };
  return { status: 'ok', raw, diagnostics: [] };
}
