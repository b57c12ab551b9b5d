/**
 * Label selectors: evaluation (semantics.md §4.8), kubectl-style formatting and the `-l` flag syntax
 * (observability.md §5).
 *
 * Evaluation is `matchLabels ∧ matchExpressions`:
 *   In            key present and value in the set
 *   NotIn         key absent, or value not in the set (E7)
 *   Exists        key present
 *   DoesNotExist  key absent (E7)
 * An empty selector matches everything.
 */
import { UsageError } from '../core/errors.js';
import type { LabelSelector, LabelSelectorRequirement } from '../manifests/types.js';

type Labels = Readonly<Record<string, string>>;

function has(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/** True when one requirement holds for `labels`. */
export function matchesRequirement(req: LabelSelectorRequirement, labels: Labels): boolean {
  const present = has(labels, req.key);
  switch (req.operator) {
    case 'In':
      return present && req.values.includes(labels[req.key]!);
    case 'NotIn':
      return !present || !req.values.includes(labels[req.key]!);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
  }
}

/** True when `labels` satisfy every matchLabels entry and every matchExpressions requirement. */
export function matchesSelector(sel: LabelSelector, labels: Labels): boolean {
  for (const key of Object.keys(sel.matchLabels)) {
    if (!has(labels, key) || labels[key] !== sel.matchLabels[key]) return false;
  }
  for (const req of sel.matchExpressions) {
    if (!matchesRequirement(req, labels)) return false;
  }
  return true;
}

/** True for `{}`: no matchLabels and no matchExpressions (matches everything). */
export function isEmptySelector(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/** A selector from a plain label map (a Service selector, a workload's matchLabels). */
export function selectorFromLabels(labels: Labels): LabelSelector {
  return { matchLabels: { ...labels }, matchExpressions: [] };
}

/**
 * kubectl-style text: requirements sorted by key (matchLabels before expressions on the same key), values of a set
 * sorted: `app=nginx,env in (a,b),!x`. `<none>` for the empty selector.
 */
export function formatSelector(sel: LabelSelector): string {
  const parts: { key: string; text: string }[] = [];
  for (const key of Object.keys(sel.matchLabels)) parts.push({ key, text: `${key}=${sel.matchLabels[key]}` });
  for (const r of sel.matchExpressions) {
    const values = [...r.values].sort().join(',');
    let text: string;
    switch (r.operator) {
      case 'In':
        text = `${r.key} in (${values})`;
        break;
      case 'NotIn':
        text = `${r.key} notin (${values})`;
        break;
      case 'Exists':
        text = r.key;
        break;
      case 'DoesNotExist':
        text = `!${r.key}`;
        break;
    }
    parts.push({ key: r.key, text });
  }
  if (parts.length === 0) return '<none>';
  // Array.prototype.sort is stable, so matchLabels stay ahead of expressions on the same key
  parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return parts.map((p) => p.text).join(',');
}

// ---------------------------------------------------------------------------------------------------------------
// `-l` parsing

const KEY_RE = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$/;

function fail(input: string, detail: string): never {
  throw new UsageError(`invalid label selector "${input}": ${detail}`);
}

/** Splits on commas that are not inside parentheses; reports unbalanced parentheses. */
function splitRequirements(input: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '(') {
      if (depth > 0) fail(input, 'nested "(" is not allowed');
      depth++;
    } else if (c === ')') {
      if (depth === 0) fail(input, 'unexpected ")"');
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(input.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) fail(input, 'missing ")"');
  out.push(input.slice(start));
  return out;
}

function checkKey(input: string, key: string): string {
  if (key === '') fail(input, 'missing label key');
  if (!KEY_RE.test(key) || key.split('/').length > 2) fail(input, `"${key}" is not a valid label key`);
  return key;
}

function checkValue(input: string, value: string): string {
  if (!VALUE_RE.test(value) || value.length > 63) fail(input, `"${value}" is not a valid label value`);
  return value;
}

/**
 * Parses the `-l/--selector` syntax: `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
 * `key`, `!key`, joined by commas (AND). Whitespace around tokens is ignored. `''` is the empty selector.
 * `key=value` lands in matchLabels (unless the key is already there with another value, then an `In` expression),
 * everything else in matchExpressions.
 * @throws UsageError (KPF_ERR_USAGE) naming the input and what is wrong with it
 */
export function parseSelectorString(s: string): LabelSelector {
  const sel: LabelSelector = { matchLabels: {}, matchExpressions: [] };
  if (s.trim() === '') return sel;
  for (const raw of splitRequirements(s)) {
    const part = raw.trim();
    if (part === '') fail(s, 'empty requirement (stray ",")');
    // key in (a,b) / key notin (a,b)
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (set) {
      const key = checkKey(s, set[1]!);
      const values = set[3]!.split(',').map((v) => checkValue(s, v.trim()));
      if (set[3]!.trim() === '') fail(s, `values set for "${set[2]}" can't be empty`);
      sel.matchExpressions.push({ key, operator: set[2] === 'in' ? 'In' : 'NotIn', values: [...new Set(values)] });
      continue;
    }
    if (/[()]/.test(part)) fail(s, `"${part}": parentheses only follow "in" or "notin"`);
    if (part.startsWith('!')) {
      const key = part.slice(1).trim();
      if (/[=<>!\s]/.test(key)) fail(s, `"${part}": "!" takes a bare key`);
      sel.matchExpressions.push({ key: checkKey(s, key), operator: 'DoesNotExist', values: [] });
      continue;
    }
    const eq = /^([^=!<>\s]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (eq) {
      const key = checkKey(s, eq[1]!);
      const value = checkValue(s, eq[3]!);
      if (eq[2] === '!=') {
        sel.matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      } else if (!Object.prototype.hasOwnProperty.call(sel.matchLabels, key)) {
        sel.matchLabels[key] = value;
      } else if (sel.matchLabels[key] !== value) {
        sel.matchExpressions.push({ key, operator: 'In', values: [value] });
      }
      continue;
    }
    if (/[<>]/.test(part)) fail(s, `"${part}": operators < and > are not supported`);
    if (/\s/.test(part)) fail(s, `"${part}": expected "=", "==", "!=", "in" or "notin" after the key`);
    if (/[=!]/.test(part)) fail(s, `"${part}": malformed requirement`);
    sel.matchExpressions.push({ key: checkKey(s, part), operator: 'Exists', values: [] });
  }
  return sel;
}
