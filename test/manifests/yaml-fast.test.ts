/**
 * The YAML fast path (src/manifests/yaml-fast.ts) against the `yaml`-library path: the same ParseResult on every
 * manifest of the repository, on generated documents (fast-check, fixed seed) and on random single-character
 * mutations of them, and a fallback (null) for every construct outside its subset.
 */
import t from 'tap';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseText, parseTextSlow, type ParseResult } from '../../src/manifests/parse.js';
import { parseFast, parseFastExplained, typePlain } from '../../src/manifests/yaml-fast.js';
import { INPUT_LIMITS } from '../../src/core/options.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PEERS = '/tmp/kpf-peers-bench-2000000/manifests.yaml';
/** Deeper fuzzing on demand: KPF_YAML_FAST_RUNS=50000 KPF_YAML_FAST_SEED=7 npx tap test/manifests/yaml-fast.test.ts */
const RUNS = Number(process.env.KPF_YAML_FAST_RUNS) || 0;
const SEED = Number(process.env.KPF_YAML_FAST_SEED) || 0;

type Outcome = { ok: true; r: ParseResult } | { ok: false; error: string };
const run = (f: () => ParseResult): Outcome => {
  try {
    return { ok: true, r: f() };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
};

/** parseText (fast path when accepted) and parseTextSlow give the same result; `accepted`: the fast path took it. */
function compare(text: string): { same: boolean; accepted: boolean; fast: Outcome; slow: Outcome } {
  const fast = run(() => parseText(text, 'f.yaml'));
  const slow = run(() => parseTextSlow(text, 'f.yaml'));
  const accepted = parseFast(text) !== null;
  return { same: isDeepStrictEqual(fast, slow), accepted, fast, slow };
}

function explainDiff(text: string, c: ReturnType<typeof compare>): string {
  return `fast and slow differ on ${JSON.stringify(text)}\nfast: ${JSON.stringify(c.fast)}\nslow: ${JSON.stringify(c.slow)}`;
}

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (['node_modules', '.git', 'dist', '.tap', 'coverage', 'tmp'].includes(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** The library path's value for the plain scalar `src` (as the value of a one-key map), or undefined if not plain. */
function libraryPlain(src: string): unknown {
  const r = parseTextSlow(`k: ${src}\n`, 'f.yaml');
  const root = r.docs[0]?.root;
  if (r.diagnostics.length > 0 || r.docs.length !== 1 || root?.t !== 'map' || root.entries.length !== 1) return undefined;
  const v = root.entries[0]!.value;
  if (v.t !== 'scalar' || v.quoted) return undefined;
  return v.value;
}

t.test('plain scalars are typed as the library types them, or left to it', async (t) => {
  const known = ['', '~', 'null', 'Null', 'NULL', 'y', 'Y', 'n', 'N', 'yes', 'No', 'ON', 'off', 'True', 'FALSE', 'tRue', 'e5', 'E-2', 'e',
    'ex', 'e5x', 'E+', '0', '7', '80', '0777', '0x1F', '0b101', '1_000', '-1', '+1', '1.5', '.5', '1e3', '1:20', '1:20:30', '10.244.0.5',
    '10.0.0.0/8', '1.2.3', '1.2.3.4.5', '01.02.03.04', '256.1.1.1', '2024-01-02', '999999999999999', '9999999999999999', 'nginx:1.25',
    'app.kubernetes.io/name', 'fd00::1', '2001:db8::1', '.inf', '.nan', 'a b', 'x_y', 'Infinity', 'NaN'];
  let typed = 0;
  const check = (src: string): boolean => {
    const fast = typePlain(src);
    if (typeof fast === 'symbol') return true;
    typed++;
    const lib = libraryPlain(src);
    // undefined: the library does not read `k: src` as one plain scalar (the fast parser bails on such lines itself)
    return lib === undefined || Object.is(lib, fast);
  };
  for (const src of known) t.ok(check(src), `${JSON.stringify(src)} → ${typeof typePlain(src) === 'symbol' ? 'library' : JSON.stringify(typePlain(src))}`);
  // generated scalars over the characters numbers, booleans, times and addresses are made of
  const chars = fc.constantFrom(...'0123456789012345.:-+_/~ eExXbBoOyYnNtTfFaAlLsSuUzZgG%<=é'.split(''));
  fc.assert(fc.property(fc.array(chars, { minLength: 1, maxLength: 12 }).map((a) => a.join('').trim()), (src) => check(src)), { numRuns: 4000, seed: 11 });
  t.ok(typed > 500, `${typed} scalars typed without the library and checked against it`);
});

t.test('repository manifests: same result, and the fast path accepts them', async (t) => {
  const files = yamlFiles(ROOT);
  const ref = join(ROOT, '..', 'shared', 'reference');
  if (existsSync(ref)) yamlFiles(ref, files);
  if (existsSync(PEERS)) files.push(PEERS);
  t.ok(files.length >= 5, `${files.length} files`);
  const fallbacks: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const c = compare(text);
    t.ok(c.same, relative(ROOT, f)) || t.comment(explainDiff(text, c));
    const ex = parseFastExplained(text);
    if (!ex.docs) fallbacks.push(`${relative(ROOT, f)}: ${ex.reason}`);
  }
  t.comment(`fallbacks: ${fallbacks.length ? fallbacks.join('; ') : 'none'}`);
  // kubectl-get-all.yaml carries last-applied-configuration block scalars (`|`): outside the subset
  t.strictSame(
    fallbacks.map((f) => f.split(':')[0]),
    ['test/fixtures/manifests/kubectl-get-all.yaml'],
    'only the fixture with block scalars falls back',
  );
  if (existsSync(PEERS)) {
    const text = readFileSync(PEERS, 'utf8');
    const fd = parseFast(text);
    t.ok(fd, 'the peers benchmark manifests take the fast path');
    t.equal(fd?.length, parseTextSlow(text, 'm.yaml').docs.length);
  }
});

t.test('document counting, empty documents, lines, List flattening', async (t) => {
  const cases = [
    'a: 1\n',
    'a: 1',
    '---\na: 1\n',
    '# c\n---\na: 1\n',
    '# c\n\n---\n# d\na: 1\n',
    'a: 1\n---\n',
    'a: 1\n---',
    'a: 1\n---\n# trailing\n',
    '---\n---\na: 1\n---\n---\nb: 2\n---\n',
    '---   \na: 1\n---  \nb: 2\n',
    'a: 1\n---\n\n\n  # indented comment\nb: 2\n',
    'kind: List\nitems:\n- {kind: Pod, metadata: {name: a}}\n-\n- kind: Pod\n  metadata: {name: b}\n',
    'kind: PodList\nitems: []\n',
    'kind: List\nitems:\n',
    'kind: List\nitems: 3\n',
    'kind: List\nitems: {a: 1}\n',
    '- a\n- b\n',
    'a : 1\n"b" : 2\n\'c\' :\nd: {e : 1, "f" : [g , h ]}\n',
    '- a : 1\n  b : 2\n',
    'a:\n- b\n- c:\n  - d\n  e: 1\nf: 2\n',
    '-   # c\n  a: 1\n- # c\n  - x\n-\n # c\n y: 2\n',
    'a: # c\n  - x\nb: # c\n- y\nc:    # c\n\n    d: e   \n',
    '[a, b]\n',
    '[a, b]\n---\n{c: d}\n',
    'a: ~\n---\nb: null\n',
  ];
  for (const text of cases) {
    const c = compare(text);
    t.ok(c.same, JSON.stringify(text)) || t.comment(explainDiff(text, c));
    t.ok(c.accepted, `accepted: ${JSON.stringify(text)}`);
  }
  // the doc index of the document after two separators is 2 (empty documents keep their index)
  const r = parseText('---\n---\na: 1\n', 'x.yaml');
  t.equal(r.docs[0]?.doc, 1);
  t.equal(r.docs[0]?.line, 3);
  // a `key:` with nothing gets a null on the key's line, even with comments and blank lines before the next key
  const n = parseText('a:\n  # c\n\nb:\n', 'x.yaml').docs[0]!.root;
  t.strictSame(n, {
    t: 'map',
    line: 1,
    entries: [
      { key: 'a', line: 1, value: { t: 'scalar', line: 1, value: null } },
      { key: 'b', line: 4, value: { t: 'scalar', line: 4, value: null } },
    ],
  });
});

t.test('scalars: YAML 1.1 typing, quoting, escapes, comments', async (t) => {
  const values = [
    ...['yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'N', 'True', 'FALSE', '~', 'null', 'Null', 'NULL', '0777', '0x1F', '0b101'],
    ...['1_000', '1:20', '1:20:30', '1:20.5', '1e3', '1.5', '.5', '-1', '+1', '.inf', '-.inf', '.nan', '.NaN', '0', '-0', '0.0'],
    ...['-0.0', '2001:db8::1', '10.244.0.5', '2024-01-02', '2024-01-02T03:04:05Z', '2024-1-2 3:04:05.5 +01:00', 'a:b', '12345678901234567890'],
    ...['a#b', 'a[0]', 'a,b', 'a{b}', '--x', '-x', "it's", 'a"b', 'x y  z', 'é', '日本', '<<', '=', '0o17', '1__0', '0x_1', '+.5'],
    ...['"a: b"', "'it''s'", '"x\\"y"', "'#'", '"a #b"', '"\\u00e9\\x41\\U0001F600\\t\\n\\\\\\/\\0\\ \\_"', "''", '""', '"\'"', "'\"'"],
  ];
  for (const v of values) {
    for (const text of [
      `k: ${v}\n`,
      `k: ${v} # c\n`,
      `- ${v}\n`,
      `k: [${v}]\n`,
      `k: {x: ${v}}\n`,
      `${v}: k\n`,
      `k: {${v}: x}\n`,
      `- ${v}: x\n  y: ${v}\n`,
    ]) {
      const c = compare(text);
      t.ok(c.same, JSON.stringify(text)) || t.comment(explainDiff(text, c));
    }
  }
  const accepted = ['k: yes\n', 'k: "a: b"\n', "k: 'it''s'\n", 'k: {x: fd00::1}\n', 'k: a#b # c\n', 'k: [--x, -x, 10.0.0.0/8, 5s]\n'];
  for (const text of accepted) t.ok(parseFast(text), `accepted: ${JSON.stringify(text)}`);
});

t.test('fallback constructs', async (t) => {
  const fallbacks: Array<[string, string]> = [
    ['\ufeffa: 1\n', 'BOM'],
    ['a:\n\tb: 1\n', 'tab'],
    ['a: 1\r\nb: 2\r\n', 'CRLF'],
    ['a: "x\u0001"\n', 'control character'],
    ['%YAML 1.1\n---\na: 1\n', 'directive'],
    ['a: 1\n...\n', 'document end marker'],
    ['--- a: 1\n', 'content after ---'],
    ['--- # c\na: 1\n', 'comment after ---'],
    ['# only a comment\n', 'no content'],
    ['', 'empty text'],
    ['---\n# c\n---\n', 'only empty documents'],
    ['  a: 1\n', 'indented root'],
    ['just a scalar\n', 'scalar root'],
    ['"quoted root"\n', 'quoted scalar root'],
    ['a: &x 1\nb: *x\n', 'anchor and alias'],
    ['a: !!str 1\n', 'tag'],
    ['a: !foo 1\n', 'local tag'],
    ['a: |\n  text\n', 'literal block scalar'],
    ['a: >-\n  text\n', 'folded block scalar'],
    ['? a\n: b\n', 'complex key'],
    ['<<: {a: 1}\n', 'merge key'],
    ['a: {<<: {b: 1}}\n', 'merge key in flow'],
    ['- - x\n', 'compact nested sequence'],
    ['- ? x\n', 'compact complex key'],
    ['a: b\n  c\n', 'multi-line plain scalar'],
    ['a: b\n\n  c\n', 'multi-line plain scalar after a blank line'],
    ['- a\n  b\n', 'multi-line plain item'],
    ['a: "x\n  y"\n', 'multi-line double-quoted'],
    ["a: 'x\n  y'\n", 'multi-line single-quoted'],
    ['a: [b,\n  c]\n', 'multi-line flow sequence'],
    ['a: {b: 1,\n  c: 2}\n', 'multi-line flow mapping'],
    ['a: [b: c]\n', 'pair in a flow sequence'],
    ['a: {"b":1}\n', 'JSON-style adjacent colon'],
    ['a: {? b}\n', 'complex key in flow'],
    ['a: [b # c\n  ]\n', 'comment in flow'],
    ['a: "\\q"\n', 'invalid escape'],
    ['a: "\\x4"\n', 'short hex escape'],
    ['a: b: c\n', 'nested mapping in a compact mapping'],
    ['a: b:\n', 'plain value ending in a colon'],
    ['a: - b\n', 'sequence after a key on one line'],
    ['a:\n  b: 1\n c: 2\n', 'bad indentation'],
    ['a:\n- b\n  - c\n', 'bad sequence indentation'],
    ['a: 1\n- b\n', 'sequence item among mapping entries'],
    ['{a: 1}: b\n', 'flow key'],
    ['[a]: b\n', 'flow sequence key'],
    ['a: @x\n', 'reserved indicator'],
    ['a: `x\n', 'reserved indicator backtick'],
    ['a: %x\n', 'percent'],
    ['a: "x" y\n', 'text after a quoted scalar'],
    ['a: [x] y\n', 'text after a flow collection'],
    ['a: "x"#c\n', 'comment not separated by a space'],
    [`${'k'.repeat(1100)}: v\n`, 'long key'],
    ['a: [-]\n', 'lone dash in flow'],
    ['a: [,]\n', 'empty flow entry'],
    ['a: -\n', 'lone dash value'],
    ['a:\n  x\n', 'scalar value on the next line'],
    [`a: ${'['.repeat(70)}${']'.repeat(70)}\n`, 'too deep (flow)'],
  ];
  for (const [text, what] of fallbacks) {
    const ex = parseFastExplained(text);
    t.equal(ex.docs, null, `${what}: falls back (${ex.reason ?? 'accepted!'})`);
    const c = compare(text);
    t.ok(c.same, `${what}: parseText still equals the library path`) || t.comment(explainDiff(text, c));
  }
  // too many documents: falls back, so the library path reports the limit
  t.equal(parseFast('a: 1\n---\n'.repeat(INPUT_LIMITS.maxDocuments)), null, 'maxDocuments');
});

t.test('nesting around maxDepth', async (t) => {
  for (const d of [10, 60, 62, 63, 64, 65, 66, 70]) {
    const flow = `a: ${'['.repeat(d)}x${']'.repeat(d)}\n`;
    let block = '';
    for (let i = 0; i < d; i++) block += `${' '.repeat(i)}k${i}:\n`;
    block += `${' '.repeat(d)}z: 1\n`;
    let seq = '';
    for (let i = 0; i < d; i++) seq += `${' '.repeat(2 * i)}-\n`;
    seq += `${' '.repeat(2 * d)}- x\n`;
    for (const text of [flow, block, seq]) {
      const c = compare(text);
      t.ok(c.same, `depth ${d}`) || t.comment(explainDiff(text, c));
      if (d <= 60) t.ok(c.accepted, `depth ${d} accepted`);
    }
  }
});

// ------------------------------------------------------------------------------------------------------------------
// Generated documents

const TRICKY = [
  ...['yes', 'no', 'on', 'off', 'y', 'n', 'Y', '~', 'null', 'Null', '0777', '0x1F', '0b101', '1_000', '1:20', '1:20:30'],
  ...['1e3', '1.5', '.5', '-1', '+1', '.inf', '.nan', '2001:db8::1', '10.244.0.5', '2024-01-02', '2024-01-02T03:04:05Z'],
  ...['a:b', '"a: b"', "'it''s'", '"x\\"y"', "'#'", 'a#b', '"a #b"', 'List', 'PodList', 'TCP', '80', 'true', '--v=2'],
];
const KEYS = ['a', 'b', 'kind', 'items', 'name', 'app.kubernetes.io/name', '"a b"', "'q'", '80', 'yes', '~', 'a:b', 'x-y', 'null'];

type GNode =
  | { k: 's'; v: string }
  | { k: 'null' }
  | { k: 'map'; flow: boolean; entries: Array<[string, GNode]> }
  | { k: 'seq'; flow: boolean; items: GNode[] };

const alnum = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,7}$/);
/** the tricky scalars the fast path types itself (the others make a file fall back: see the typing test above) */
const TRICKY_FAST = TRICKY.filter((v) => v.startsWith('"') || v.startsWith("'") || typeof typePlain(v) !== 'symbol');
const fastAlnum = alnum.filter((v) => typeof typePlain(v) !== 'symbol');
// mostly scalars the fast path types, so that generated documents exercise its structure; sometimes any tricky one
const scalarArb: fc.Arbitrary<GNode> = fc
  .oneof({ arbitrary: fc.constantFrom(...TRICKY_FAST), weight: 16 }, { arbitrary: fastAlnum, weight: 16 }, { arbitrary: fc.constantFrom(...TRICKY), weight: 1 })
  .map((v) => ({ k: 's', v }));
const keyArb = fc.oneof(fc.constantFrom(...KEYS), alnum);

const { node: nodeArb } = fc.letrec<{ node: GNode; map: GNode; seq: GNode }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, scalarArb, scalarArb, fc.constant({ k: 'null' } as GNode), tie('map'), tie('seq')),
  map: fc
    .record({ flow: fc.boolean(), entries: fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 4 }) })
    .map((r) => ({ k: 'map', ...r }) as GNode),
  seq: fc.record({ flow: fc.boolean(), items: fc.array(tie('node'), { maxLength: 4 }) }).map((r) => ({ k: 'seq', ...r }) as GNode),
}));
const rootArb: fc.Arbitrary<GNode> = fc.oneof(
  fc.record({ flow: fc.constant(false), entries: fc.array(fc.tuple(keyArb, nodeArb), { minLength: 1, maxLength: 5 }) }).map(
    (r) => ({ k: 'map', ...r }) as GNode,
  ),
  fc.record({ flow: fc.boolean(), items: fc.array(nodeArb, { minLength: 1, maxLength: 4 }) }).map((r) => ({ k: 'seq', ...r }) as GNode),
);

/** Small deterministic PRNG for layout choices (indent widths, comments, blank lines). */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/** Serializes a generated tree into YAML text (mostly within the fast path's subset, sometimes just outside). */
function serialize(root: GNode, seed: number): string {
  const r = prng(seed);
  const out: string[] = [];
  const w = 1 + r(4); // indent width of this document
  const comment = (): string => (r(6) === 0 ? `${' '.repeat(1 + r(2))}# c${r(9)}${r(4) === 0 ? ': x' : ''}` : '');
  const gap = (): string => ' '.repeat(r(6) === 0 ? 2 + r(2) : 1);
  const colon = (): string => (r(8) === 0 ? ' :' : ':');
  const noise = (ind: number): void => {
    const x = r(12);
    if (x === 0) out.push('');
    else if (x === 1) out.push(' '.repeat(r(3)));
    else if (x === 2) out.push(`${' '.repeat(r(ind + 3))}# note${r(2) ? ' - a: b' : ''}`);
  };
  const flowScalar = (v: string): string => (/[,[\]{}]|: | #/.test(v) && !/^["']/.test(v) ? JSON.stringify(v) : v);
  const sp = (): string => (r(5) === 0 ? '' : ' ');
  const flow = (n: GNode): string => {
    if (n.k === 's') return flowScalar(n.v);
    if (n.k === 'null') return r(2) ? '~' : 'null';
    if (n.k === 'seq') return `[${n.items.map(flow).join(`,${sp()}`)}${n.items.length && r(6) === 0 ? ',' : ''}]`;
    const es = n.entries.map(([k, v]) => (v.k === 'null' && r(3) === 0 ? (r(2) ? flowScalar(k) : `${flowScalar(k)}: `) : `${flowScalar(k)}: ${flow(v)}`));
    return `{${r(4) === 0 ? ' ' : ''}${es.join(`,${sp()}`)}${n.entries.length && r(6) === 0 ? ', ' : ''}}`;
  };
  const isBlock = (n: GNode): boolean =>
    (n.k === 'map' && !n.flow && n.entries.length > 0) || (n.k === 'seq' && !n.flow && n.items.length > 0);
  // writes the block node `n` at column `ind`; `prefix` is the start of its first line (`- ` for compact items)
  const block = (n: GNode, ind: number, prefix: string | null): void => {
    noise(ind);
    if (n.k === 'map') {
      n.entries.forEach(([k, v], i) => {
        const head = i === 0 && prefix !== null ? prefix : ' '.repeat(ind);
        if (i > 0) noise(ind);
        value(`${head}${k}${colon()}`, v, ind);
      });
    } else if (n.k === 'seq') {
      for (const it of n.items) {
        noise(ind);
        const dash = `${' '.repeat(ind)}-`;
        if (isBlock(it) && it.k === 'map' && r(3) > 0) {
          const gap = 1 + r(3);
          block(it, ind + 1 + gap, `${dash}${' '.repeat(gap)}`);
        } else if (isBlock(it)) {
          out.push(`${dash}${comment()}`);
          block(it, ind + w, null);
        } else if (it.k === 'null') out.push(`${dash}${r(3) === 0 ? ' ' : ''}${comment()}`);
        else out.push(`${dash}${gap()}${it.k === 's' ? it.v : flow(it)}${comment()}`);
      }
    }
  };
  const value = (head: string, v: GNode, ind: number): void => {
    if (v.k === 'null') out.push(`${head}${r(3) === 0 ? ' ' : ''}${comment()}`);
    else if (v.k === 's') out.push(`${head}${gap()}${v.v}${comment()}`);
    else if (!isBlock(v)) out.push(`${head}${gap()}${flow(v)}${comment()}`);
    else {
      out.push(`${head}${comment()}`);
      // a sequence value may sit at the key's column
      block(v, v.k === 'seq' && r(2) === 0 ? ind : ind + w, null);
    }
  };
  if (isBlock(root)) block(root, 0, null);
  else out.push(flow(root));
  return out.map((l) => (r(10) === 0 ? `${l}  ` : l)).join('\n');
}

const docsArb = fc.record({
  docs: fc.array(fc.option(rootArb, { freq: 6 }), { minLength: 1, maxLength: 4 }),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  leading: fc.constantFrom('', '---\n', '# head\n---\n', '\n# head\n\n'),
  trailing: fc.constantFrom('', '\n', '\n---\n', '\n# tail\n', '\n---'),
});

function serializeStream(s: { docs: Array<GNode | null>; seed: number; leading: string; trailing: string }): string {
  const parts = s.docs.map((d, i) => (d ? serialize(d, s.seed + i) : '# empty'));
  let text = s.leading + parts.join('\n---\n') + s.trailing;
  if (!text.endsWith('\n') && s.seed % 3 > 0) text += '\n';
  return text;
}

t.test('generated documents: fast === slow, and most are accepted', async (t) => {
  let total = 0;
  let accepted = 0;
  const reasons = new Map<string, number>();
  fc.assert(
    fc.property(docsArb, (s) => {
      const text = serializeStream(s);
      const c = compare(text);
      total++;
      if (c.accepted) accepted++;
      else {
        const why = parseFastExplained(text).reason ?? '?';
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      if (!c.same) throw new Error(explainDiff(text, c));
      if (!c.fast.ok) throw new Error(`parseText threw on ${JSON.stringify(text)}: ${c.fast.error}`);
    }),
    { seed: SEED || 20260101, numRuns: RUNS || 1500 },
  );
  t.comment(`accepted ${accepted} of ${total}; fallbacks: ${JSON.stringify(Object.fromEntries(reasons))}`);
  t.ok(accepted / total > 0.8, `${((100 * accepted) / total).toFixed(1)}% of generated samples take the fast path`);
});

t.test('mutations: single-character edits never give a different answer', async (t) => {
  const CHARS = [':', '-', '#', '{', '}', '[', ']', ',', "'", '"', ' ', '\n', '?', '&', '*', '!', '|', '>', '\\', '%', '@', 'a', '0', '.', '\t', '~'];
  let total = 0;
  let accepted = 0;
  fc.assert(
    fc.property(
      docsArb,
      fc.nat(),
      fc.constantFrom('insert', 'delete', 'replace'),
      fc.constantFrom(...CHARS),
      (s, at, op, ch) => {
        const base = serializeStream(s);
        const i = at % (base.length + 1);
        const text =
          op === 'insert' ? base.slice(0, i) + ch + base.slice(i) : op === 'delete' ? base.slice(0, i) + base.slice(i + 1) : base.slice(0, i) + ch + base.slice(i + 1);
        let c: ReturnType<typeof compare>;
        try {
          c = compare(text);
        } catch (e) {
          throw new Error(`parseFast threw on ${JSON.stringify(text)}: ${String(e)}`);
        }
        total++;
        if (c.accepted) accepted++;
        if (!c.same) throw new Error(explainDiff(text, c));
      },
    ),
    { seed: SEED || 20260102, numRuns: RUNS || 3000 },
  );
  t.comment(`mutations accepted by the fast path: ${accepted} of ${total}`);
  t.ok(accepted > 0 && accepted < total);
});

t.test('mutations of the repository manifests (1-3 edits)', async (t) => {
  const texts = yamlFiles(ROOT)
    .filter((f) => !f.includes('kubectl-get-all'))
    .map((f) => readFileSync(f, 'utf8'));
  if (existsSync(PEERS)) texts.push(readFileSync(PEERS, 'utf8').slice(0, 4000));
  const CHARS = [':', '-', '#', '{', '}', '[', ']', ',', "'", '"', ' ', '  ', '\n', '\n  ', '- ', ': ', '?', '&', '*', '!', '|', 'a', '0', '~'];
  let accepted = 0;
  let total = 0;
  fc.assert(
    fc.property(
      fc.nat(texts.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...CHARS)), { minLength: 1, maxLength: 3 }),
      (which, edits) => {
        let text = texts[which]!;
        for (const [at, op, ch] of edits) {
          const i = at % (text.length + 1);
          text = op === 'insert' ? text.slice(0, i) + ch + text.slice(i) : text.slice(0, i) + (op === 'replace' ? ch : '') + text.slice(i + 1);
        }
        const c = compare(text);
        total++;
        if (c.accepted) accepted++;
        if (!c.same) throw new Error(explainDiff(text, c));
      },
    ),
    { seed: SEED || 20260103, numRuns: RUNS || 1500 },
  );
  t.comment(`accepted by the fast path: ${accepted} of ${total}`);
  t.ok(accepted > 0 && accepted < total);
});
