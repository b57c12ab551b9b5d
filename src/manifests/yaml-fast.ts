/**
 * Fast path for {@link parseText}: a hand-written parser for a conservative subset of YAML that builds exactly the
 * {@link LValue} trees (values, lines, `quoted` flags, document indexes) the `yaml`-library path builds, or returns
 * `null` so that the caller parses the whole file with the library instead.
 *
 * Why: through the library (lexer → CST → composer → `walk`) `parseText` takes 110-135 ms on its first call and
 * ~33 ms warm for the 49 KB / 210-document manifests of the peers benchmark, a third of `kpf replay`'s start-up.
 * With this parser it takes 13-20 ms cold (of which ~4-5 ms are `prescanDepth` and ~9-12 ms this parser, mostly
 * interpreter time before the JIT warms up) and ~1.3 ms warm (fresh `node` processes, Node 20, shared 2-core machine).
 *
 * Correctness over coverage: anything outside the subset, or anything this parser is unsure about, is a fallback
 * (`null`); a fallback is always safe, a different answer would be a bug. test/manifests/yaml-fast.test.ts compares
 * both paths on every manifest in the repository, on generated documents and on random single-character mutations.
 *
 * The subset:
 * - whole text: no BOM, tab, CR, other control characters, U+0085/U+2028/U+2029/U+FEFF; no line starting with `%`
 *   (directives) or `...`; a line starting with `---` must be exactly `---` (trailing spaces allowed); at least
 *   one content line. Documents are counted like the library: each `---` starts one (an empty document still takes
 *   an index), and content before the first `---` forms document 0; comments and blank lines alone form none.
 * - each document's root is a block mapping or block sequence at column 0, or a one-line flow collection.
 * - block mappings `key: value`; `key:` followed by a more-indented block, by a block sequence at the key's column,
 *   or by nothing (null, on the key's line). Keys are plain (not starting with an indicator) or quoted, one line,
 *   at most 1000 characters; `<<`, `?` and flow-collection keys fall back.
 * - block sequences `- item`, `-` followed by a more-indented block or nothing (null, on the `-` line),
 *   `- key: value` compact mappings whose further keys sit at the first key's column. `- - x` falls back.
 * - scalars on one line: plain (typed as the library's YAML 1.1 schema does, for the forms {@link typePlain} knows),
 *   single-quoted, double-quoted (the library's escapes; an invalid one falls back). A plain value followed by a
 *   more-indented line (a multi-line scalar or an error) falls back, and so do block scalars, anchors, aliases, tags.
 * - flow collections `{a: b, c: [d, 'e']}` / `[...]` opening and closing on one line (nested, empty, trailing
 *   comma, `{a}` entries without value). A `:` pair in a flow sequence, `"a":b` JSON-style adjacency, a comment or
 *   a line break inside a flow collection fall back.
 * - comment lines, blank lines and ` #` comments after values; nesting up to INPUT_LIMITS.maxDepth - 1; documents
 *   up to half of INPUT_LIMITS.maxDocumentBytes and fewer than INPUT_LIMITS.maxDocuments of them.
 */
import { INPUT_LIMITS } from '../core/options.js';
import type { LEntry, LScalar, LValue } from './parse.js';

/** One non-empty document of the file. */
export interface FastDoc {
  /** 0-based document index, counting empty documents like the library does */
  doc: number;
  /** first content line of the document (what `firstContentLine` gives) */
  line: number;
  root: LValue;
}

/** Thrown (not an Error: no stack trace to capture) when the text leaves the subset. */
class Bail {
  constructor(readonly reason: string) {}
}

function bail(reason: string): never {
  throw new Bail(reason);
}

const SP = 32;
const HASH = 35;
const DQ = 34;
const SQ = 39;
const COMMA = 44;
const DASH = 45;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const BACKSLASH = 92;

/** Deeper nodes fall back (walk refuses depth > maxDepth; stay one level clear of it). */
const MAX_DEPTH = INPUT_LIMITS.maxDepth - 1;
/** The library refuses implicit keys whose `:` is more than 1024 characters after their start. */
const MAX_KEY_CHARS = 1000;
/** Documents larger than this fall back (the library path checks maxDocumentBytes against its own ranges). */
const MAX_DOC_CHARS = Math.floor(INPUT_LIMITS.maxDocumentBytes / 2);

// Characters the whole-text pre-check refuses: C0 controls other than LF, DEL, C1 NEL, line/paragraph separators,
// BOM/ZWNBSP and non-characters. Tabs and CRs are among them.
// eslint-disable-next-line no-control-regex
const REFUSED_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff\ufffe\uffff]/;

// ---------------------------------------------------------------------------------------------------------------
// Plain-scalar typing (YAML 1.1, as the library and go-yaml type plain scalars), without loading the library

type Resolved = string | number | boolean | null;
const UNRESOLVABLE = Symbol('unresolvable');

const NULLS = new Set(['~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSES = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
/** a decimal integer a double holds exactly, without sign, underscores or a leading zero (0777 is octal in 1.1) */
const DECIMAL = /^(?:0|[1-9][0-9]{0,14})$/;
/** an IPv4 address or CIDR: three dots (a float has one), no `:` (sexagesimal) and no `-` (a date) */
const IPV4 = /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:\/[0-9]{1,2})?$/;
/** a UUID (metadata.uid): its second group has four characters, where a date has one or two digits */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * Typed YAML 1.1 forms starting with a digit (decimal, octal, 0x hex, 0b binary and sexagesimal integers, floats,
 * timestamps) use only digits, `_ . : + -`, spaces, hex letters and `b x e E t T Z`: a letter or character outside
 * those makes the scalar a string (`5s`, `1Gi`, `100m`, `1/2`).
 */
const NOT_TYPED_AFTER_DIGIT = /[^0-9a-fA-F_.:+\- xXtTzZoO]/;
/** YAML 1.1's exponent float needs no digits before the exponent: `e5` and `-E2` are numbers */
const BARE_EXPONENT = /^[eE][-+]?[0-9]/;

/**
 * What the library's YAML 1.1 typing (and walk) gives a plain scalar, for the forms manifests are made of; anything
 * else is UNRESOLVABLE and the file falls back to the library, which knows every form (octal, hex, binary,
 * underscores, signs, floats, `.inf`, sexagesimal numbers, timestamps). The library is not loaded here: loading it
 * costs ~25-40 ms at start-up, more than this whole parser. test/manifests/yaml-fast.test.ts checks this typing
 * against the library's on generated scalars.
 */
export function typePlain(src: string): Resolved | typeof UNRESOLVABLE {
  if (src === '' || NULLS.has(src)) return null;
  if (TRUES.has(src)) return true;
  if (FALSES.has(src)) return false;
  let c = src.charCodeAt(0);
  let rest = src;
  if (c === 43 || c === 45) {
    // a sign: every signed form continues with a digit, a dot or an exponent; a second sign never follows
    if (src.length === 1) return UNRESOLVABLE;
    rest = src.slice(1);
    c = rest.charCodeAt(0);
    if (c === 43 || c === 45) return src;
    if (c >= 48 && c <= 57) return UNRESOLVABLE;
  }
  // no null, boolean, number or timestamp starts with a letter, except the words above and bare exponents
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return BARE_EXPONENT.test(rest) ? UNRESOLVABLE : src;
  if (c >= 48 && c <= 57) {
    if (DECIMAL.test(src)) return Number(src);
    if (IPV4.test(src) || UUID.test(src) || NOT_TYPED_AFTER_DIGIT.test(src)) return src;
    return UNRESOLVABLE;
  }
  // `~x`, `/x`, `_x`, `=`, `<<` (a merge only as a key), non-ASCII: strings; indicators and `.` (`.5`, `.inf`): not here
  if (c === 126 || c === 47 || c === 95 || c === 61 || c === 60 || c > 127) return src;
  return UNRESOLVABLE;
}

// ---------------------------------------------------------------------------------------------------------------

const BLANK = -1;

/** Double-quoted escapes (resolve-flow-scalar.js escapeCodes, minus the tab which the pre-check refuses). */
const DQ_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
};

const isFlowIndicator = (c: number): boolean => c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;

/**
 * May a plain scalar start with `c` (followed by `next`, NaN at the end of the line)? Indicator characters are refused
 * (quotes and flow openers are handled before this is asked); `-` only when followed by a non-space (`-1`, `--x`),
 * and in flow context not by a flow indicator either. `?x` and `:x` are valid YAML but refused.
 */
function plainStartOk(c: number, next: number, inFlow: boolean): boolean {
  switch (c) {
    case HASH:
    case 38: // &
    case 42: // *
    case 33: // !
    case 124: // |
    case 62: // >
    case SQ:
    case DQ:
    case 37: // %
    case 64: // @
    case 96: // `
    case COMMA:
    case LBRACKET:
    case RBRACKET:
    case LBRACE:
    case RBRACE:
    case 63: // ?
    case COLON:
    case SP:
      return false;
    case DASH:
      return !(Number.isNaN(next) || next === SP || (inFlow && isFlowIndicator(next)));
    default:
      return true;
  }
}

/** Why a scalar cannot start with `c` (for the fallback reason). */
function startReason(c: number): string {
  switch (c) {
    case 124:
    case 62:
      return 'block scalar';
    case 38:
      return 'anchor';
    case 42:
      return 'alias';
    case 33:
      return 'tag';
    case 63:
    case COLON:
      return '`?`/`:` indicator';
    case DASH:
      return '`-` indicator';
    default:
      return `scalar starting with ${JSON.stringify(String.fromCharCode(c))}`;
  }
}

interface Key {
  key: string;
  /** offset just after the `:` */
  after: number;
}

interface Pos<T> {
  v: T;
  /** offset just after the value */
  end: number;
}

class FastParser {
  private readonly text: string;
  /** per line: start offset, end offset (the `\n` or text.length), indent of a content line or BLANK */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly indents: number[] = [];
  /** line index of each `---` separator */
  private readonly seps: number[] = [];
  /** end (exclusive line index) of the document being parsed */
  private docEnd = 0;
  /** next line not consumed yet */
  private li = 0;

  constructor(text: string) {
    this.text = text;
  }

  parse(): FastDoc[] {
    const { text } = this;
    if (text.length === 0) bail('empty text');
    if (REFUSED_CHARS.test(text)) bail('BOM, tab, CR or another control character');
    this.splitLines();
    const { starts, indents, seps } = this;
    const nLines = starts.length;
    // documents: [first line, end line) with the separator line before them (or -1)
    const ranges: Array<[number, number, number]> = [];
    const firstSep = seps.length > 0 ? seps[0]! : nLines;
    let preamble = false;
    for (let i = 0; i < firstSep; i++) {
      if (indents[i] !== BLANK) {
        preamble = true;
        break;
      }
    }
    if (preamble) ranges.push([-1, 0, firstSep]);
    for (let s = 0; s < seps.length; s++) ranges.push([seps[s]!, seps[s]! + 1, s + 1 < seps.length ? seps[s + 1]! : nLines]);
    if (ranges.length >= INPUT_LIMITS.maxDocuments) bail('too many documents');
    const out: FastDoc[] = [];
    let any = false;
    for (let d = 0; d < ranges.length; d++) {
      const [sep, first, end] = ranges[d]!;
      const from = starts[sep >= 0 ? sep : first] ?? text.length;
      const to = end < nLines ? starts[end]! : text.length;
      if (to - from > MAX_DOC_CHARS) bail('document too large');
      this.docEnd = end;
      const l0 = this.nextContent(first);
      if (l0 >= end) continue; // empty document: skipped, but it keeps its index
      any = true;
      if (indents[l0] !== 0) bail('indented document root');
      const root = this.parseBlock(l0, 0, 0);
      if (this.nextContent(this.li) < end) bail('content after the document root');
      out.push({ doc: d, line: l0 + 1, root });
    }
    if (!any) bail('no content');
    return out;
  }

  private splitLines(): void {
    const { text, starts, ends, indents, seps } = this;
    const n = text.length;
    let i = 0;
    for (;;) {
      let e = text.indexOf('\n', i);
      if (e < 0) e = n;
      let j = i;
      while (j < e && text.charCodeAt(j) === SP) j++;
      let indent = j - i;
      if (j === e || text.charCodeAt(j) === HASH) indent = BLANK;
      else if (j === i) {
        const c = text.charCodeAt(i);
        if (c === 37) bail('directive');
        if ((c === DASH || c === 46) && text.startsWith(c === DASH ? '---' : '...', i)) {
          if (c !== DASH) bail('document end marker');
          let k = i + 3;
          while (k < e && text.charCodeAt(k) === SP) k++;
          if (k < e) bail('content after ---');
          seps.push(starts.length);
          indent = BLANK;
        }
      }
      starts.push(i);
      ends.push(e);
      indents.push(indent);
      if (e >= n) break;
      i = e + 1;
    }
  }

  private nextContent(i: number): number {
    const { indents, docEnd } = this;
    while (i < docEnd && indents[i] === BLANK) i++;
    return i;
  }

  private isSeqItem(li: number, col: number): boolean {
    const p = this.starts[li]! + col;
    if (this.text.charCodeAt(p) !== DASH) return false;
    return p + 1 >= this.ends[li]! || this.text.charCodeAt(p + 1) === SP;
  }

  /** A block node whose first line is `li`, at column `indent` (the line's indentation). */
  private parseBlock(li: number, indent: number, depth: number): LValue {
    if (depth > MAX_DEPTH) bail('too deep');
    const p = this.starts[li]! + indent;
    const c = this.text.charCodeAt(p);
    if (this.isSeqItem(li, indent)) return this.parseSeq(li, indent, depth);
    if (c === LBRACKET || c === LBRACE) {
      const v = this.parseFlow(li, p, depth);
      this.afterValue(li, v.end);
      this.li = li + 1;
      return v.v;
    }
    return this.parseMap(li, indent, p, depth, null);
  }

  private parseSeq(li: number, indent: number, depth: number): LValue {
    if (depth > MAX_DEPTH) bail('too deep');
    const { text, starts, ends, indents } = this;
    const items: LValue[] = [];
    const line = li + 1;
    for (;;) {
      const e = ends[li]!;
      let p = starts[li]! + indent + 1;
      while (p < e && text.charCodeAt(p) === SP) p++;
      if (p >= e || text.charCodeAt(p) === HASH) {
        // `-` with nothing after it: a more-indented block, or null on the `-` line
        const n = this.nextContent(li + 1);
        if (n < this.docEnd && indents[n]! > indent) items.push(this.parseBlock(n, indents[n]!, depth + 1));
        else {
          items.push({ t: 'scalar', line: li + 1, value: null });
          this.li = li + 1;
        }
      } else {
        const c = text.charCodeAt(p);
        const next = p + 1 < e ? text.charCodeAt(p + 1) : NaN;
        if ((c === DASH || c === 63 || c === COLON) && (Number.isNaN(next) || next === SP)) bail('compact nested indicator');
        const k = this.tryKey(li, p);
        if (k) items.push(this.parseMap(li, p - starts[li]!, p, depth + 1, k));
        else {
          items.push(this.inlineValue(li, p, depth + 1));
          this.li = li + 1;
        }
      }
      const n = this.nextContent(this.li);
      if (n >= this.docEnd) break;
      const ni = indents[n]!;
      if (ni < indent) break;
      if (ni > indent) bail('unexpected indentation after a sequence item');
      if (!this.isSeqItem(n, indent)) break; // the parent decides (`key:\n- a\nother: b`)
      li = n;
    }
    return { t: 'seq', line, items };
  }

  /** A block mapping at column `indent` whose first key starts at offset `p` of line `li`. */
  private parseMap(li: number, indent: number, p: number, depth: number, first: Key | null): LValue {
    if (depth > MAX_DEPTH) bail('too deep');
    const { text, starts, ends, indents } = this;
    const entries: LEntry[] = [];
    const line = li + 1;
    let k = first;
    for (;;) {
      if (!k) k = this.tryKey(li, p);
      if (!k) bail('not a mapping entry');
      const e = ends[li]!;
      let q = k.after;
      while (q < e && text.charCodeAt(q) === SP) q++;
      let value: LValue;
      if (q >= e || text.charCodeAt(q) === HASH) {
        // `key:` with nothing after it: a more-indented block, a sequence at the key's column, or null
        const n = this.nextContent(li + 1);
        if (n < this.docEnd && indents[n]! > indent) value = this.parseBlock(n, indents[n]!, depth + 1);
        else if (n < this.docEnd && indents[n] === indent && this.isSeqItem(n, indent)) value = this.parseSeq(n, indent, depth + 1);
        else {
          value = { t: 'scalar', line: li + 1, value: null };
          this.li = li + 1;
        }
      } else {
        value = this.inlineValue(li, q, depth + 1);
        this.li = li + 1;
      }
      entries.push({ key: k.key, line: li + 1, value });
      k = null;
      const n = this.nextContent(this.li);
      if (n >= this.docEnd) break;
      const ni = indents[n]!;
      if (ni < indent) break;
      if (ni > indent) bail('unexpected indentation after a mapping entry');
      if (this.isSeqItem(n, indent)) bail('sequence item among mapping entries');
      li = n;
      p = starts[n]! + indent;
    }
    return { t: 'map', line, entries };
  }

  /**
   * An implicit block-mapping key at offset `p` of line `li`: `key:` followed by a space or the end of the line.
   * null when the text there is not a key (a value); bails on anything doubtful.
   */
  private tryKey(li: number, p: number): Key | null {
    const { text } = this;
    const e = this.ends[li]!;
    const c = text.charCodeAt(p);
    if (c === DQ || c === SQ) {
      const qv = this.parseQuoted(li, p);
      let q = qv.end;
      while (q < e && text.charCodeAt(q) === SP) q++;
      if (q < e && text.charCodeAt(q) === COLON && (q + 1 >= e || text.charCodeAt(q + 1) === SP)) {
        if (q - p > MAX_KEY_CHARS) bail('long key');
        return { key: qv.v, after: q + 1 };
      }
      return null;
    }
    if (c === LBRACKET || c === LBRACE) return null;
    if (!plainStartOk(c, p + 1 < e ? text.charCodeAt(p + 1) : NaN, false)) bail(startReason(c));
    for (let i = p; i < e; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== COLON && ch !== SP) continue;
      if (ch === COLON) {
        if (i + 1 >= e || text.charCodeAt(i + 1) === SP) {
          if (i - p > MAX_KEY_CHARS) bail('long key');
          const key = text.slice(p, i).trimEnd();
          if (key === '<<') bail('merge key');
          return { key, after: i + 1 };
        }
      } else if (text.charCodeAt(i + 1) === HASH) return null; // ` #`
    }
    return null;
  }

  /** A scalar or flow collection at offset `p` of line `li` that must end the line (comment allowed). */
  private inlineValue(li: number, p: number, depth: number): LValue {
    if (depth > MAX_DEPTH) bail('too deep');
    const { text } = this;
    const e = this.ends[li]!;
    const c = text.charCodeAt(p);
    if (c === DQ || c === SQ) {
      const qv = this.parseQuoted(li, p);
      this.afterValue(li, qv.end);
      return { t: 'scalar', line: li + 1, value: qv.v, quoted: true };
    }
    if (c === LBRACKET || c === LBRACE) {
      const fv = this.parseFlow(li, p, depth);
      this.afterValue(li, fv.end);
      return fv.v;
    }
    if (!plainStartOk(c, p + 1 < e ? text.charCodeAt(p + 1) : NaN, false)) bail(startReason(c));
    let i = p;
    for (; i < e; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== COLON && ch !== SP) continue;
      if (ch === COLON) {
        if (i + 1 >= e || text.charCodeAt(i + 1) === SP) bail('mapping in a plain value');
      } else if (text.charCodeAt(i + 1) === HASH) break; // ` #`
    }
    return this.plain(text.slice(p, i).trimEnd(), li + 1);
  }

  /** After a value: spaces, then the end of the line or a ` #` comment. */
  private afterValue(li: number, end: number): void {
    const { text } = this;
    const e = this.ends[li]!;
    let q = end;
    while (q < e && text.charCodeAt(q) === SP) q++;
    if (q < e && !(q > end && text.charCodeAt(q) === HASH)) bail('text after a value');
  }

  private plain(src: string, line: number): LScalar {
    const r = typePlain(src);
    if (r === UNRESOLVABLE) bail('plain scalar outside the typed forms');
    return { t: 'scalar', line, value: r };
  }

  /** A single- or double-quoted scalar starting at offset `p` and closing on the same line. */
  private parseQuoted(li: number, p: number): Pos<string> {
    const { text } = this;
    const e = this.ends[li]!;
    if (text.charCodeAt(p) === SQ) {
      let i = p + 1;
      for (;;) {
        const j = text.indexOf("'", i);
        if (j < 0 || j >= e) bail('multi-line single-quoted scalar');
        if (j + 1 < e && text.charCodeAt(j + 1) === SQ) {
          i = j + 2;
          continue;
        }
        const raw = text.slice(p + 1, j);
        return { v: raw.includes("''") ? raw.replace(/''/g, "'") : raw, end: j + 1 };
      }
    }
    let out = '';
    let from = p + 1;
    for (let i = p + 1; i < e; i++) {
      const ch = text.charCodeAt(i);
      if (ch === DQ) return { v: out + text.slice(from, i), end: i + 1 };
      if (ch !== BACKSLASH) continue;
      out += text.slice(from, i);
      if (i + 1 >= e) bail('escaped line break');
      const nx = text[i + 1]!;
      const esc = DQ_ESCAPES[nx];
      if (esc !== undefined) {
        out += esc;
        i += 1;
      } else if (nx === 'x' || nx === 'u' || nx === 'U') {
        const len = nx === 'x' ? 2 : nx === 'u' ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + len);
        if (hex.length !== len || i + 2 + len > e || !/^[0-9a-fA-F]+$/.test(hex)) bail('bad escape');
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) bail('bad escape');
        out += String.fromCodePoint(code);
        i += 1 + len;
      } else bail('bad escape');
      from = i + 1;
    }
    return bail('multi-line double-quoted scalar');
  }

  /** A flow collection opening at offset `p` of line `li` and closing on the same line. */
  private parseFlow(li: number, p: number, depth: number): Pos<LValue> {
    if (depth > MAX_DEPTH) bail('too deep');
    const { text } = this;
    const e = this.ends[li]!;
    const line = li + 1;
    const skip = (i: number): number => {
      while (i < e && text.charCodeAt(i) === SP) i++;
      if (i >= e) bail('multi-line flow collection');
      return i;
    };
    if (text.charCodeAt(p) === LBRACKET) {
      const items: LValue[] = [];
      let i = skip(p + 1);
      if (text.charCodeAt(i) === RBRACKET) return { v: { t: 'seq', line, items }, end: i + 1 };
      for (;;) {
        const v = this.flowValue(li, i, depth + 1);
        items.push(v.v);
        i = skip(v.end);
        const ch = text.charCodeAt(i);
        if (ch === RBRACKET) return { v: { t: 'seq', line, items }, end: i + 1 };
        if (ch !== COMMA) bail('unexpected character in a flow sequence');
        i = skip(i + 1);
        if (text.charCodeAt(i) === RBRACKET) return { v: { t: 'seq', line, items }, end: i + 1 };
      }
    }
    const entries: LEntry[] = [];
    let i = skip(p + 1);
    if (text.charCodeAt(i) === RBRACE) return { v: { t: 'map', line, entries }, end: i + 1 };
    for (;;) {
      // key
      const c = text.charCodeAt(i);
      let key: string;
      let kEnd: number;
      if (c === DQ || c === SQ) {
        const qv = this.parseQuoted(li, i);
        key = qv.v;
        kEnd = qv.end;
      } else {
        if (!plainStartOk(c, i + 1 < e ? text.charCodeAt(i + 1) : NaN, true)) bail(startReason(c));
        kEnd = this.flowPlainEnd(li, i);
        key = text.slice(i, kEnd).trimEnd();
        if (key === '<<') bail('merge key');
      }
      if (kEnd - i > MAX_KEY_CHARS) bail('long key');
      i = skip(kEnd);
      let ch = text.charCodeAt(i);
      let value: LValue;
      if (ch === COLON) {
        if (!(i + 1 < e && text.charCodeAt(i + 1) === SP)) bail('flow `:` not followed by a space');
        i = skip(i + 1);
        ch = text.charCodeAt(i);
        if (ch === COMMA || ch === RBRACE) value = { t: 'scalar', line, value: null };
        else {
          const v = this.flowValue(li, i, depth + 1);
          value = v.v;
          i = skip(v.end);
          ch = text.charCodeAt(i);
        }
      } else value = { t: 'scalar', line, value: null }; // `{a}` / `{a, b: c}`
      entries.push({ key, line, value });
      if (ch === RBRACE) return { v: { t: 'map', line, entries }, end: i + 1 };
      if (ch !== COMMA) bail('unexpected character in a flow mapping');
      i = skip(i + 1);
      if (text.charCodeAt(i) === RBRACE) return { v: { t: 'map', line, entries }, end: i + 1 };
    }
  }

  /** A value inside a flow collection: quoted, nested collection or plain. */
  private flowValue(li: number, i: number, depth: number): Pos<LValue> {
    const { text } = this;
    const c = text.charCodeAt(i);
    if (c === DQ || c === SQ) {
      const qv = this.parseQuoted(li, i);
      return { v: { t: 'scalar', line: li + 1, value: qv.v, quoted: true }, end: qv.end };
    }
    if (c === LBRACKET || c === LBRACE) return this.parseFlow(li, i, depth);
    if (depth > MAX_DEPTH) bail('too deep');
    const e = this.ends[li]!;
    if (!plainStartOk(c, i + 1 < e ? text.charCodeAt(i + 1) : NaN, true)) bail(startReason(c));
    const end = this.flowPlainEnd(li, i);
    return { v: this.plain(text.slice(i, end).trimEnd(), li + 1), end };
  }

  /** End of a plain scalar in flow context (lexer.js parsePlainScalar with inFlow): before `,[]{}` or `: `/`:,`. */
  private flowPlainEnd(li: number, i: number): number {
    const { text } = this;
    const e = this.ends[li]!;
    for (; i < e; i++) {
      const ch = text.charCodeAt(i);
      if (ch > COLON && ch !== LBRACKET && ch !== RBRACKET && ch !== LBRACE && ch !== RBRACE) continue;
      if (ch === COLON) {
        const nx = i + 1 < e ? text.charCodeAt(i + 1) : SP;
        if (nx === SP || isFlowIndicator(nx)) return i;
      } else if (ch === SP) {
        if (text.charCodeAt(i + 1) === HASH) bail('comment in a flow collection');
      } else if (isFlowIndicator(ch)) return i;
    }
    return bail('multi-line flow collection');
  }
}

/**
 * Parses `text` if it lies in the subset described above: the non-empty documents (in order, with their index and
 * first content line) — or null, and then the caller must parse the whole text with the `yaml` library.
 */
export function parseFast(text: string): FastDoc[] | null {
  return parseFastExplained(text).docs;
}

/** {@link parseFast}, with the reason of a fallback (for tests and diagnostics). */
export function parseFastExplained(text: string): { docs: FastDoc[] | null; reason?: string } {
  try {
    return { docs: new FastParser(text).parse() };
  } catch (e) {
    if (e instanceof Bail) return { docs: null, reason: e.reason };
    throw e;
  }
}
