/**
 * Structured output shared by the sub-commands: JSON and YAML printing of records, and the kubectl List wrapper.
 * Data never knows how it is printed: commands build plain records, this module prints them.
 */
import { createRequire } from 'node:module';
import { UsageError } from '../core/errors.js';

/** The `yaml` package, loaded on first use: loading it costs ~40 ms, and most runs never print YAML. */
let yamlLib: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  return (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}

/** Checks `-o` against the formats a command supports; the first one is the default. */
export function outputFormat<T extends string>(v: unknown, allowed: readonly [T, ...T[]]): T {
  if (v === undefined) return allowed[0];
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`unable to match a printer suitable for the output format "${String(v)}", allowed formats are: ${allowed.join(',')}`);
}

export function toJson(x: unknown): string {
  return JSON.stringify(x, null, 2) + '\n';
}

export function toYaml(x: unknown): string {
  return yaml().stringify(x, { lineWidth: 0 });
}

/** `{"apiVersion":"v1","kind":"List","items":[…]}` as kubectl prints several objects. */
export function asList(items: unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}
