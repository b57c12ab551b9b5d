/**
 * kubectl-style tables: upper-case headers, columns padded to the widest cell plus three spaces,
 * `<none>` for empty cells, the last column unpadded.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === '' ? '<none>' : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join(''))
    .join('\n')
    .concat('\n');
}

/** `a=b,c=d` in key order; empty → `<none>`. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${labels[k]}`).join(',');
}
