/** X4: hostile input fails fast, with a clear error and bounded memory. */
import t from 'tap';
import { closeSync, openSync, ftruncateSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests, parseManifestText } from '../../src/manifests/index.js';
import { prescanDepth } from '../../src/manifests/parse.js';

const timed = <T>(fn: () => T): { value: T; ms: number } => {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
};

const KEEP = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: keep}\n';

t.test('billion laughs', async (t) => {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
  const { value: r, ms } = timed(() => parseManifestText(`${KEEP}---\n${bomb}`, 'bomb.yaml'));
  t.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  const e = r.diagnostics.find((d) => d.code === 'KPF_ERR_MANIFEST_LIMIT');
  t.match(e?.message, /alias/);
  t.equal(e?.loc?.doc, 1);
  t.same(r.objects.map((o) => o.name), ['keep'], 'other documents still load');
});

t.test('large alias targets are bounded too', async (t) => {
  const big = `[${Array(5000).fill('x').join(',')}]`;
  const refs = Array(90).fill('*b').join(', ');
  const { value: r, ms } = timed(() => parseManifestText(`b: &b ${big}\nc: [${refs}]\n`, 'big.yaml'));
  t.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  t.match(r.diagnostics[0]?.message, /alias expansion/);
});

t.test('deep flow nesting (10,000 and 1,000,000 levels)', async (t) => {
  for (const n of [10_000, 1_000_000]) {
    const text = `a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    const { value: r, ms } = timed(() => parseManifestText(text, 'deep.yaml'));
    t.ok(ms < 2000, `${n}: ${ms.toFixed(0)} ms`);
    t.match(r.diagnostics[0]?.message, /nesting too deep/);
    t.equal(r.diagnostics[0]?.loc?.line, 1);
  }
});

t.test('nesting above maxDepth but below the pre-scan limit is refused per document', async (t) => {
  const text = `${KEEP}---\na: ${'['.repeat(100)}${']'.repeat(100)}\n`;
  const r = parseManifestText(text, 'deep.yaml');
  t.match(r.diagnostics[0]?.message, /document 1: nesting deeper than 64 levels/);
  t.same(r.objects.map((o) => o.name), ['keep']);
});

t.test('deep block nesting', async (t) => {
  const compact = `${'- '.repeat(100_000)}x\n`;
  const { value: r, ms } = timed(() => parseManifestText(compact, 'compact.yaml'));
  t.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  t.match(r.diagnostics[0]?.message, /nesting too deep/);
  let indented = '';
  for (let i = 0; i < 3000; i++) indented += `${' '.repeat(i)}k:\n`;
  const r2 = parseManifestText(indented, 'indent.yaml');
  t.match(r2.diagnostics[0]?.message, /nesting/);
});

t.test('pre-scan ignores brackets in quotes, comments and block scalars', async (t) => {
  const b = '['.repeat(2000);
  t.equal(prescanDepth(`a: "${b}"\nb: '${b}'\n# ${b}\nc: |\n  ${b}\n  ${b}\nd: x\n`), 0);
  t.equal(prescanDepth(`a: ${b}`), 1);
});

t.test('a 100 MB file is refused without reading it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpf-huge-'));
  const file = join(dir, 'huge.yaml');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(file, 'w');
  ftruncateSync(fd, 100 * 1024 * 1024); // sparse: no disk or memory cost
  closeSync(fd);
  const before = process.memoryUsage().rss;
  const t0 = Date.now();
  await t.rejects(loadManifests([file]), { code: 'KPF_ERR_MANIFEST_TOO_LARGE', message: /huge\.yaml: input is larger than the limit/ });
  t.ok(Date.now() - t0 < 2000);
  t.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024, 'memory bounded');
});

t.test('stdin over the limit is refused while reading', async (t) => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let sent = 0;
  const { Readable } = await import('node:stream');
  const stdin = new Readable({
    read() {
      sent++;
      this.push(sent > 200 ? null : chunk);
    },
  });
  await t.rejects(loadManifests(['-'], { stdin }), { message: /<stdin>: input is larger than the limit/ });
  t.ok(sent < 100, `stopped after ${sent} MiB`);
});
