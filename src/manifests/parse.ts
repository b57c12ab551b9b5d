/**
 * Text → documents → located value trees.
 *
 * The `yaml` package parses (YAML 1.1 scalars, as kubectl's go-yaml does: `yes`/`on` are booleans, `0777` is octal);
 * kpf never calls `toJS()`. Instead every document is walked once into an {@link LValue} tree that keeps the line of
 * every key and item, keeps duplicate keys (so decode can report them with their path) and resolves aliases under a
 * budget. Hostile input (X4) is refused before the `yaml` parser sees it when it would be expensive for the parser
 * (deep flow nesting makes it quadratic and eventually crashes it), and during the walk otherwise:
 *
 *   file size ──▶ pre-scan (nesting estimate) ──▶ parseAllDocuments ──▶ per document: size, syntax errors,
 *                                                                        walk (depth ≤ maxDepth, aliases ≤ maxAliasCount)
 *
 * JSON input (first non-blank character `{`) may be one object or a stream of objects (kubectl's YAMLOrJSONDecoder);
 * each object is parsed on its own with its line offset kept.
 */
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YNode, ParsedNode } from 'yaml';

/**
 * The `yaml` package, loaded on first use: the fast path (yaml-fast.ts) parses the usual manifests without it, and
 * loading it costs ~25-40 ms of start-up.
 */
let yamlLib: typeof import('yaml') | undefined;
function Y(): typeof import('yaml') {
  return (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}
import type { Diagnostic } from '../core/errors.js';
import { INPUT_LIMITS } from '../core/options.js';
import { parseFast } from './yaml-fast.js';

/** A scalar, mapping or sequence with the 1-based line it starts on. */
export type LValue = LScalar | LMap | LSeq;

export interface LScalar {
  t: 'scalar';
  line: number;
  value: string | number | boolean | null;
  /** `true` when the scalar was quoted or a block scalar (never a number/bool then) */
  quoted?: boolean;
}

export interface LEntry {
  key: string;
  /** line of the key itself */
  line: number;
  value: LValue;
}

export interface LMap {
  t: 'map';
  line: number;
  /** in input order; duplicate keys are kept (decode reports them) */
  entries: LEntry[];
}

export interface LSeq {
  t: 'seq';
  line: number;
  items: LValue[];
}

/** One object-to-be: a document, or one item of a `kind: List` document. */
export interface SourceDoc {
  file: string;
  /** 0-based index of the document within its file */
  doc: number;
  /** index within `items` when the document is a List */
  item?: number;
  /** line where the object starts */
  line: number;
  root: LValue;
}

export interface ParseResult {
  docs: SourceDoc[];
  diagnostics: Diagnostic[];
}

/** Estimated nesting above which the text is refused before parsing (the exact limit is checked in the walk). */
const PRESCAN_DEPTH = 1000;
/** Nodes that may be visited through aliases per document (besides the alias count). */
const MAX_ALIAS_NODES = 100_000;

class LimitError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

function err(code: string, message: string, file: string, line: number, doc?: number, path?: string): Diagnostic {
  const d: Diagnostic = { severity: 'error', code, message, loc: { file, line, ...(doc === undefined ? {} : { doc }) } };
  if (path) d.path = path;
  return d;
}

/**
 * Cheap linear estimate of the nesting depth, run before the parser. Counts flow brackets outside quotes, comments
 * and block scalars, plus block indentation levels and compact indicators (`- - -`). It over-estimates rather than
 * under-estimates; it only has to stop input that would make the parser slow or crash (the exact depth limit is
 * checked while walking the parsed document). Returns the 1-based line where the estimate first exceeds `limit`, or 0.
 */
export function prescanDepth(text: string, limit = PRESCAN_DEPTH): number {
  const n = text.length;
  const indents: number[] = [];
  let flow = 0;
  let line = 1;
  let blockIndent = -1; // >= 0: inside a block scalar whose parent line had this indent
  let quote = ''; // the open quote character, when inside a quoted scalar
  let i = 0;
  while (i < n) {
    const eol = text.indexOf('\n', i);
    const end = eol < 0 ? n : eol;
    let j = i;
    let lineIndent = 0;
    if (quote === '') {
      while (j < end && text.charCodeAt(j) === 32) j++;
      lineIndent = j - i;
      const blank = j >= end || text[j] === '\r' || text[j] === '#';
      if (blockIndent >= 0) {
        if (blank || lineIndent > blockIndent) {
          i = end + 1;
          line++;
          continue;
        }
        blockIndent = -1;
      }
      if (flow === 0 && !blank) {
        if (lineIndent === 0 && (text.startsWith('---', j) || text.startsWith('...', j))) indents.length = 0;
        while (indents.length > 0 && indents[indents.length - 1]! >= lineIndent) indents.pop();
        indents.push(lineIndent);
        let compact = 0;
        while (j + 1 < end && (text[j] === '-' || text[j] === '?' || text[j] === ':') && (text[j + 1] === ' ' || text[j + 1] === '\t')) {
          compact++;
          j += 2;
          while (j < end && text[j] === ' ') j++;
        }
        if (indents.length + compact > limit) return line;
      }
    }
    let prev = j > i ? text[j - 1]! : '\n';
    let last = '';
    for (; j < end; j++) {
      const c = text[j]!;
      if (quote !== '') {
        if (quote === '"' && c === '\\') j++;
        else if (c === quote) {
          quote = '';
          prev = last = c;
        }
        continue;
      }
      if (c === '#' && (prev === ' ' || prev === '\t' || prev === '\n')) break;
      if ((c === '"' || c === "'") && ' \t\n[{,:'.includes(prev)) {
        quote = c;
        prev = c;
        continue;
      }
      if (c === '[' || c === '{') {
        if (++flow + indents.length > limit) return line;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
      if (c !== ' ' && c !== '\t' && c !== '\r') last = c;
      prev = c;
    }
    if (quote === '' && flow === 0 && last !== '' && '|>-+0123456789'.includes(last)) {
      if (/(^|[\s:?-])[|>][-+0-9]*\s*(#.*)?\r?$/.test(text.slice(i, end))) blockIndent = lineIndent;
    }
    i = end + 1;
    line++;
  }
  return 0;
}

interface WalkState {
  lc: LineCounter;
  doc: Document.Parsed;
  lineBase: number;
  aliases: number;
  aliasNodes: number;
  inAlias: number;
  maxDepth: number;
}

function lineOf(st: WalkState, offset: number | undefined): number {
  if (offset === undefined) return 0;
  return st.lc.linePos(offset).line + st.lineBase;
}

function walk(node: YNode | null | undefined, st: WalkState, depth: number, fallbackLine: number): LValue {
  if (depth > st.maxDepth) throw new LimitError(`nesting deeper than ${st.maxDepth} levels`, fallbackLine);
  if (node === null || node === undefined) return { t: 'scalar', line: fallbackLine, value: null };
  if (st.inAlias > 0 && ++st.aliasNodes > MAX_ALIAS_NODES) {
    throw new LimitError(`alias expansion exceeds ${MAX_ALIAS_NODES} nodes`, fallbackLine);
  }
  const line = node.range ? lineOf(st, node.range[0]) : fallbackLine;
  if (Y().isAlias(node)) {
    if (++st.aliases > INPUT_LIMITS.maxAliasCount) {
      throw new LimitError(`more than ${INPUT_LIMITS.maxAliasCount} alias references in one document`, line);
    }
    const target = node.resolve(st.doc);
    if (!target) throw new LimitError(`unresolved alias *${node.source}`, line);
    st.inAlias++;
    try {
      const v = walk(target as YNode, st, depth, line);
      // an alias takes the line where it is used
      return { ...v, line };
    } finally {
      st.inAlias--;
    }
  }
  if (Y().isScalar(node)) {
    let v = node.value;
    const quoted = node.type !== undefined && node.type !== 'PLAIN';
    if (v instanceof Date) v = node.source ?? v.toISOString();
    if (typeof v === 'bigint') v = Number(v);
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') v = String(node.source ?? v);
    const s: LScalar = { t: 'scalar', line, value: v as LScalar['value'] };
    if (quoted) s.quoted = true;
    return s;
  }
  if (Y().isSeq(node)) {
    const items: LValue[] = [];
    for (const it of node.items) items.push(walk(it as YNode, st, depth + 1, line));
    return { t: 'seq', line, items };
  }
  if (Y().isMap(node)) {
    const entries: LEntry[] = [];
    const merged: LEntry[] = [];
    for (const p of node.items) {
      if (!Y().isPair(p)) continue;
      const k = p.key as YNode | null;
      const kLine = k && k.range ? lineOf(st, k.range[0]) : line;
      let key: string;
      if (Y().isScalar(k)) {
        key = k.type === 'PLAIN' || k.type === undefined ? String(k.source ?? k.value) : String(k.value);
        if (key === '<<' && (k.type === 'PLAIN' || k.type === undefined)) {
          // YAML 1.1 merge key, as go-yaml supports it: explicit keys win
          const mv = walk(p.value as YNode, st, depth + 1, kLine);
          const sources = mv.t === 'seq' ? mv.items : [mv];
          for (const s of sources) if (s.t === 'map') merged.push(...s.entries);
          continue;
        }
      } else if (k === null) {
        key = '';
      } else {
        throw new LimitError('complex (non-scalar) mapping keys are not supported', kLine);
      }
      entries.push({ key, line: kLine, value: walk(p.value as YNode, st, depth + 1, kLine) });
    }
    for (const m of merged) if (!entries.some((e) => e.key === m.key)) entries.push(m);
    return { t: 'map', line, entries };
  }
  throw new LimitError('unsupported YAML node', line);
}

function firstContentLine(text: string, from: number, to: number, lc: LineCounter, base: number): number {
  // the first line with content (skips `---`, comments and blank lines)
  let i = from;
  while (i < to) {
    const e = text.indexOf('\n', i);
    const end = e < 0 || e > to ? to : e;
    const s = text.slice(i, end).trim();
    if (s !== '' && !s.startsWith('#') && s !== '---' && !s.startsWith('%')) return lc.linePos(i).line + base;
    i = end + 1;
  }
  return lc.linePos(from).line + base;
}

/** Splits a JSON text into top-level values (a stream of objects); returns [start, end) offsets. */
function splitJsonStream(text: string): Array<[number, number]> | null {
  const out: Array<[number, number]> = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
      continue;
    }
    if (c === 34) {
      inStr = true;
      if (depth === 0) return null;
    } else if (c === 123 || c === 91) {
      if (depth === 0) start = i;
      depth++;
      if (depth > PRESCAN_DEPTH) return null;
    } else if (c === 125 || c === 93) {
      depth--;
      if (depth < 0) return null;
      if (depth === 0) out.push([start, i + 1]);
    } else if (depth === 0 && c !== 32 && c !== 10 && c !== 13 && c !== 9) {
      return null;
    }
  }
  if (depth !== 0 || inStr) return null;
  return out;
}

/**
 * Parses one file's text into located documents. Syntax errors and limit violations become diagnostics for their
 * document; every other document is still returned. `kind: List` documents are flattened.
 *
 * YAML text in the subset of ./yaml-fast.ts (plain block/flow manifests) is parsed by that hand-written parser, which
 * gives the same result (~7x faster on a cold start, ~25x warm); anything else, and JSON, goes through the `yaml`
 * library. {@link parseTextSlow} always takes the library path.
 */
export function parseText(text: string, file: string): ParseResult {
  return parseTextWith(text, file, true);
}

/** {@link parseText} without the fast path: always the `yaml` library (kept reachable for tests). */
export function parseTextSlow(text: string, file: string): ParseResult {
  return parseTextWith(text, file, false);
}

function parseTextWith(text: string, file: string, fast: boolean): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const docs: SourceDoc[] = [];
  if (text.length > INPUT_LIMITS.maxFileBytes) {
    diagnostics.push(err('KPF_ERR_MANIFEST_LIMIT', `input is larger than ${INPUT_LIMITS.maxFileBytes} bytes`, file, 0));
    return { docs, diagnostics };
  }
  const trimmed = text.trimStart();
  // the fast path first: it keeps to depths below the limit (it falls back beyond), so a text it accepts is one the
  // nesting pre-scan — the library parser's guard against hostile input — would pass
  if (fast && !trimmed.startsWith('{')) {
    const fd = parseFast(text);
    if (fd) {
      for (const d of fd) flatten(d.root, file, d.doc, d.line, docs, diagnostics);
      return { docs, diagnostics };
    }
  }
  const deep = prescanDepth(text);
  if (deep > 0) {
    diagnostics.push(
      err('KPF_ERR_MANIFEST_LIMIT', `nesting too deep (more than ${INPUT_LIMITS.maxDepth} levels); refusing to parse`, file, deep),
    );
    return { docs, diagnostics };
  }
  let chunks: Array<[number, number]> = [[0, text.length]];
  let json = false;
  if (trimmed.startsWith('{')) {
    const s = splitJsonStream(text);
    if (s && s.length > 0) {
      chunks = s;
      json = true;
    }
  }
  let docIndex = 0;
  const lcAll = new (Y().LineCounter)();
  if (json) {
    // line starts of the whole text, to offset each object's lines
    for (let i = 0; i >= 0; i = text.indexOf('\n', i) + 1 || -1) {
      lcAll.addNewLine(i);
      if (i >= text.length) break;
    }
  }
  for (const [from, to] of chunks) {
    const src = text.slice(from, to);
    const base = json ? lcAll.linePos(from).line - 1 : 0;
    const lc = new (Y().LineCounter)();
    let parsed: Array<Document.Parsed<ParsedNode>>;
    try {
      const parser = new (Y().Parser)(lc.addNewLine);
      const composer = new (Y().Composer)({ version: '1.1', uniqueKeys: false });
      parsed = Array.from(composer.compose(parser.parse(src)));
    } catch (e) {
      diagnostics.push(err('KPF_ERR_MANIFEST_SYNTAX', `cannot parse: ${(e as Error).message}`, file, base + 1));
      docIndex++;
      continue;
    }
    for (const d of parsed) {
      const index = docIndex++;
      if (index >= INPUT_LIMITS.maxDocuments) {
        diagnostics.push(err('KPF_ERR_MANIFEST_LIMIT', `more than ${INPUT_LIMITS.maxDocuments} documents`, file, 0));
        return { docs, diagnostics };
      }
      const [start, , end] = d.range;
      const startLine = firstContentLine(src, start, end, lc, base);
      if (end - start > INPUT_LIMITS.maxDocumentBytes) {
        diagnostics.push(
          err('KPF_ERR_MANIFEST_LIMIT', `document ${index} is larger than ${INPUT_LIMITS.maxDocumentBytes} bytes`, file, startLine, index),
        );
        continue;
      }
      if (d.errors.length > 0) {
        for (const e of d.errors) {
          const line = (e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line) + base;
          const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
          diagnostics.push(err('KPF_ERR_MANIFEST_SYNTAX', `YAML syntax error in document ${index}: ${msg}`, file, line, index));
        }
        continue;
      }
      if (d.contents === null || (Y().isScalar(d.contents) && d.contents.value === null)) continue; // empty document (X6)
      const st: WalkState = { lc, doc: d, lineBase: base, aliases: 0, aliasNodes: 0, inAlias: 0, maxDepth: INPUT_LIMITS.maxDepth };
      let root: LValue;
      try {
        root = walk(d.contents as YNode, st, 0, startLine);
      } catch (e) {
        if (e instanceof LimitError) {
          diagnostics.push(err('KPF_ERR_MANIFEST_LIMIT', `document ${index}: ${e.message}`, file, e.line || startLine, index));
          continue;
        }
        if (e instanceof RangeError) {
          diagnostics.push(err('KPF_ERR_MANIFEST_LIMIT', `document ${index}: input too complex`, file, startLine, index));
          continue;
        }
        throw e;
      }
      flatten(root, file, index, startLine, docs, diagnostics);
    }
  }
  return { docs, diagnostics };
}

function getEntry(m: LMap, key: string): LEntry | undefined {
  return m.entries.find((e) => e.key === key);
}

/** X6: `kind: List` and `kind: <Kind>List` with `items` are flattened (one level, as kubectl does). */
function flatten(root: LValue, file: string, doc: number, line: number, out: SourceDoc[], diags: Diagnostic[]): void {
  if (root.t === 'map') {
    const kind = getEntry(root, 'kind')?.value;
    const items = getEntry(root, 'items');
    if (kind && kind.t === 'scalar' && typeof kind.value === 'string' && kind.value.endsWith('List') && items) {
      if (items.value.t === 'scalar' && items.value.value === null) return;
      if (items.value.t !== 'seq') {
        diags.push(err('KPF_ERR_MANIFEST_WRONG_TYPE', `Invalid type: expected array, got ${describe(items.value)}`, file, items.line, doc, 'items'));
        return;
      }
      items.value.items.forEach((it, i) => {
        if (it.t === 'scalar' && it.value === null) return;
        out.push({ file, doc, item: i, line: it.line, root: it });
      });
      return;
    }
  }
  out.push({ file, doc, line, root });
}

/** `string "x"`, `number 80`, `object`, `array`, `null` — for type errors. */
export function describe(v: LValue): string {
  if (v.t === 'map') return 'object';
  if (v.t === 'seq') return 'array';
  if (v.value === null) return 'null';
  if (typeof v.value === 'string') return `string ${JSON.stringify(v.value)}`;
  return `${typeof v.value} ${String(v.value)}`;
}

/** Parses a field path (`spec.ingress[0].from[1].ipBlock.cidr`) into segments. */
export function pathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\[([^\]]*)\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3]!);
  }
  return out;
}

/**
 * The line of the field at `path` (the key's line for a mapping entry, the item's line for a list item), or of its
 * nearest present parent. Map keys may be given in brackets (`metadata.labels[app.kubernetes.io/name]`).
 */
export function lineAt(root: LValue, path: string | Array<string | number>): number {
  const segs = typeof path === 'string' ? pathSegments(path) : path;
  let cur: LValue = root;
  let line = root.line;
  for (const s of segs) {
    if (typeof s === 'number') {
      if (cur.t !== 'seq' || s >= cur.items.length) break;
      cur = cur.items[s]!;
      line = cur.line;
    } else {
      if (cur.t !== 'map') break;
      const e = cur.entries.find((x) => x.key === s);
      if (!e) break;
      line = e.line;
      cur = e.value;
    }
  }
  return line;
}
