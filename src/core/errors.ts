/**
 * Errors with stable machine codes.
 *
 * Every error kpf raises on purpose is a KpfError: it has a `code` (KPF_ERR_*), an exit code for the CLI and,
 * for input problems, the place (file, line, field path) it concerns. The brand survives structured clone across
 * worker threads (instanceof is answered from the brand, not the prototype chain).
 */
const kBrand = Symbol.for('kpf.error');

/** Exit codes of the CLI (observability.md §5). */
export const ExitCode = { OK: 0, INVALID: 1, USAGE: 2, DEGRADED: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class KpfError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KpfError';
    this.code = code;
    this.exitCode = options?.exitCode ?? ExitCode.INVALID;
    Object.defineProperty(this, kBrand, { value: true });
  }
  /**
   * `x instanceof KpfError` holds for any branded error, also one rebuilt from a structured clone (another realm);
   * subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (this !== KpfError) return typeof x === 'object' && x !== null && this.prototype.isPrototypeOf(x);
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[kBrand] === true;
  }
}

/** Wrong command line: unknown flag, missing argument. Exit 2. */
export class UsageError extends KpfError {
  constructor(message: string) {
    super('KPF_ERR_USAGE', message, { exitCode: ExitCode.USAGE });
    this.name = 'UsageError';
  }
}

/** Where in the input a thing was read from. `line` is 1-based; 0 when unknown. */
export interface SourceLoc {
  file: string;
  line: number;
  /** 0-based document index within the file (multi-document YAML). */
  doc?: number;
}

/** Formats `file:line` (or just `file`). */
export function formatLoc(loc: SourceLoc | undefined): string {
  if (!loc) return '<input>';
  return loc.line > 0 ? `${loc.file}:${loc.line}` : loc.file;
}

/** One problem found in the input. Errors block (exit 1), warnings and notices never do. */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'notice';
  /** Stable code, e.g. KPF_ERR_UNKNOWN_FIELD, KPF_WARN_NO_DNS_EGRESS. */
  code: string;
  message: string;
  loc?: SourceLoc;
  /** Field path in upstream form, e.g. `spec.ingress[0].from[0]`. */
  path?: string;
  /** The object concerned, e.g. `NetworkPolicy prod-nginx/default-deny`. */
  object?: string;
}

/** `netpol.yaml:14: spec.ingress[0].from[0]: must specify a peer` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.loc ? `${formatLoc(d.loc)}: ` : '';
  const path = d.path ? `${d.path}: ` : '';
  const obj = d.object ? ` (${d.object})` : '';
  return `${where}${path}${d.message}${obj}`;
}

/** Input that cannot be used: carries every diagnostic found, not just the first. */
export class ManifestError extends KpfError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[], code = 'KPF_ERR_MANIFEST') {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(code, errors.map(formatDiagnostic).join('\n') || 'invalid input');
    this.name = 'ManifestError';
    this.diagnostics = diagnostics;
  }
}
