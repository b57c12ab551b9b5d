/**
 * Command-line parsing shared by the sub-commands: node:util parseArgs with strict checking, the manifest-loading
 * flags (-f, -R, -n, …) and the implementation-defined switches of semantics.md §6, each with its default.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';
import { DEFAULT_LOAD, DEFAULT_SEMANTICS, type LoadOptions, type SemanticsOptions } from '../core/options.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags that load manifests and build the cluster model. */
export const LOAD_OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  namespace: { type: 'string', short: 'n' },
  'no-default-dns': { type: 'boolean' },
  'create-namespaces': { type: 'boolean' },
  duplicates: { type: 'string' },
  'cidr-validation': { type: 'string' },
  'pod-cidr': { type: 'string', multiple: true },
  'service-cidr': { type: 'string' },
  lab: { type: 'boolean' },
} as const satisfies Options;

/** Implementation-defined switches (semantics.md §6). */
export const SEMANTICS_OPTIONS = {
  'ipblock-pods': { type: 'string' },
  'ipblock-excludes-pods': { type: 'boolean' },
  hairpin: { type: 'string' },
  icmp: { type: 'string' },
  'non-ip': { type: 'string' },
  'icmpv6-bypass': { type: 'string' },
  'node-ingress': { type: 'string' },
  'on-policy-change': { type: 'string' },
  strict: { type: 'boolean' },
  'service-dnat': { type: 'string' },
} as const satisfies Options;

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  output: { type: 'string', short: 'o' },
} as const satisfies Options;

export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Parses argv strictly; unknown flags and missing values are usage errors (exit 2). */
export function parse(argv: string[], options: Options, allowPositionals = true): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError(msg.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** One of a fixed set of values, or a usage error naming the flag and the choices. */
export function choice<T extends string>(flag: string, value: unknown, choices: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`invalid value for --${flag}: "${String(value)}" (choose ${choices.join(', ')})`);
}

/** Parses a list like `133-137,143` or `none`. */
export function parseNumberList(flag: string, s: string): number[] {
  if (s === 'none' || s === '') return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(part.trim());
    if (!m) throw new UsageError(`invalid value for --${flag}: "${s}" (expected numbers and ranges such as 133-137,143, or none)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > 255 || b > 255 || b < a) throw new UsageError(`invalid value for --${flag}: "${part}" (types are 0-255)`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export function semanticsFrom(v: Values): SemanticsOptions {
  const d = DEFAULT_SEMANTICS;
  let ipBlockPods = choice('ipblock-pods', v['ipblock-pods'], ['match', 'ignore'] as const, d.ipBlockPods);
  if (v['ipblock-excludes-pods']) ipBlockPods = 'ignore';
  return {
    ipBlockPods,
    hairpin: choice('hairpin', v['hairpin'], ['policy', 'allow'] as const, d.hairpin),
    icmp: choice('icmp', v['icmp'], ['portless', 'allow'] as const, d.icmp),
    nonIp: choice('non-ip', v['non-ip'], ['allow', 'drop'] as const, d.nonIp),
    icmpv6Bypass:
      typeof v['icmpv6-bypass'] === 'string' ? parseNumberList('icmpv6-bypass', v['icmpv6-bypass']) : [...d.icmpv6Bypass],
    nodeIngress: choice('node-ingress', v['node-ingress'], ['allow', 'policy'] as const, d.nodeIngress),
    // --strict (issue wording, as kube-network-policies calls it) = --on-policy-change=reevaluate
    onPolicyChange: v['strict'] === true ? 'reevaluate' : choice('on-policy-change', v['on-policy-change'], ['keep', 'reevaluate'] as const, d.onPolicyChange),
    serviceDnat: choice('service-dnat', v['service-dnat'], ['on', 'off'] as const, d.serviceDnat),
  };
}

export function loadOptionsFrom(v: Values): LoadOptions {
  const d = DEFAULT_LOAD;
  return {
    recursive: v['recursive'] === true,
    defaultNamespace: typeof v['namespace'] === 'string' ? v['namespace'] : d.defaultNamespace,
    cidrValidation: choice('cidr-validation', v['cidr-validation'], ['strict', 'legacy'] as const, d.cidrValidation),
    duplicates: choice('duplicates', v['duplicates'], ['reject', 'last-wins'] as const, d.duplicates),
    createNamespaces: v['create-namespaces'] === true,
    defaultDns: v['no-default-dns'] !== true,
    podCidrs: Array.isArray(v['pod-cidr']) && v['pod-cidr'].length > 0 ? (v['pod-cidr'] as string[]) : [...d.podCidrs],
    serviceCidr: typeof v['service-cidr'] === 'string' ? v['service-cidr'] : d.serviceCidr,
  };
}

/** The switch values as `--flag=value` words, for run headers and JSON metadata. */
export function describeSemantics(s: SemanticsOptions): Record<string, string> {
  return {
    'ipblock-pods': s.ipBlockPods,
    hairpin: s.hairpin,
    icmp: s.icmp,
    'non-ip': s.nonIp,
    'icmpv6-bypass': s.icmpv6Bypass.length ? compressRanges(s.icmpv6Bypass) : 'none',
    'node-ingress': s.nodeIngress,
    'on-policy-change': s.onPolicyChange,
    'service-dnat': s.serviceDnat,
  };
}

function compressRanges(xs: number[]): string {
  const s = [...new Set(xs)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** `80`, `80/TCP`, `53/udp`, `dns/UDP` (named) → port and protocol. */
export function parsePortSpec(spec: string): { port: number | string; protocol: 'TCP' | 'UDP' | 'SCTP' } {
  const m = /^([A-Za-z0-9-]+)(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m) throw new UsageError(`invalid --port "${spec}" (expected PORT[/PROTOCOL], e.g. 80/TCP)`);
  const proto = (m[2] ?? 'TCP').toUpperCase();
  if (proto !== 'TCP' && proto !== 'UDP' && proto !== 'SCTP')
    throw new UsageError(`invalid protocol "${m[2]}" in --port (TCP, UDP or SCTP; use --protocol for ICMP)`);
  const n = /^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!;
  if (typeof n === 'number' && (n < 1 || n > 65535)) throw new UsageError(`invalid --port "${spec}": must be between 1 and 65535`);
  return { port: n, protocol: proto };
}
