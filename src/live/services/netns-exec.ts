/**
 * Processes inside a live namespace: `ip netns exec NS …` — which also bind-mounts /etc/netns/NS/* over /etc
 * (resolv.ts) — for the service entries (long-running, stdin/stdout protocol of stdio-config.ts) and for one-shot
 * commands with a hard timeout (the lab's dig and curl).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KpfError } from '../../core/errors.js';

let transpiled: string | undefined;

/**
 * Running from TypeScript sources (the tests): transpiles the entries and the modules they import (relative
 * imports that survive type erasure) with the typescript package into a private temporary directory, once per
 * process, so each service starts as plain JavaScript in milliseconds instead of loading a TypeScript loader.
 * The directory is removed when this process exits.
 */
function transpiledDir(): string {
  if (transpiled) return transpiled;
  const require = createRequire(import.meta.url);
  let ts: typeof import('typescript');
  try {
    ts = require('typescript') as typeof import('typescript');
  } catch {
    throw new KpfError('KPF_ERR_LIVE', 'running kpf from TypeScript sources needs the typescript package (or build kpf first)');
  }
  const srcRoot = fileURLToPath(new URL('../../', import.meta.url)); // src/
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-live-services-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  const todo = ['live/services/dns-main.ts', 'live/services/http-main.ts'];
  const done = new Set<string>();
  while (todo.length) {
    const rel = todo.pop()!;
    if (done.has(rel)) continue;
    done.add(rel);
    const source = readFileSync(path.join(srcRoot, rel), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: rel,
    }).outputText;
    const target = path.join(dir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, out);
    for (const m of out.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]! + '.ts')));
    }
  }
  transpiled = dir;
  return dir;
}

/**
 * The node command line of an entry of this folder (`dns-main`, `http-main`): the compiled .js next to this file,
 * or — when kpf runs from TypeScript sources (tests) — a transpiled copy (see transpiledDir).
 */
export function entryCommand(entry: 'dns-main' | 'http-main'): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return [process.execPath, path.join(transpiledDir(), 'live', 'services', `${entry}.js`)];
  const file = fileURLToPath(new URL(`./${entry}.js`, import.meta.url));
  if (!existsSync(file)) throw new KpfError('KPF_ERR_LIVE', `missing ${file} (build kpf first)`);
  return [process.execPath, file];
}

/** A clean environment for programs run in a pod: no proxies, no user configuration, C locale. */
export function podEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', HOME: '/nonexistent' };
}

/** A running service entry inside a namespace. */
export class NetnsService {
  readonly child: ChildProcess;
  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  private exitCode: number | null | undefined;
  stderr = '';
  /** the ready line's fields */
  info: Record<string, unknown> = {};

  constructor(
    readonly netns: string,
    readonly name: string,
    command: string[],
  ) {
    this.child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    let buf = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      if (this.stderr.length < 8192) this.stderr += d;
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', (e) => {
      this.stderr += e.message;
      this.exitCode = -1;
      this.wake();
    });
    this.child.on('exit', (code) => {
      this.exitCode = code ?? -1;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  send(config: unknown): void {
    if (this.running) this.child.stdin!.write(JSON.stringify(config) + '\n');
  }

  /** Sends the configuration and waits for the ready line (rejects on an error line, an exit or the timeout). */
  async start(config: unknown, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    this.send(config);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(l) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (o['ready']) {
          this.info = o;
          return o;
        }
        if (o['error']) throw new KpfError('KPF_ERR_LIVE', `${this.name} in ${this.netns}: ${String(o['error'])}`);
      }
      if (!this.running) throw new KpfError('KPF_ERR_LIVE', `${this.name} in ${this.netns} exited (${this.exitCode}) before it was ready: ${this.stderr.trim().slice(-600)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new KpfError('KPF_ERR_LIVE', `${this.name} in ${this.netns} not ready after ${timeoutMs} ms: ${this.stderr.trim().slice(-600)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Closes stdin (the service stops), then SIGTERM, then SIGKILL; resolves once the process is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    const gone = new Promise<void>((r) => {
      if (!this.running) r();
      else this.child.once('exit', () => r());
    });
    this.child.stdin!.end();
    const t1 = setTimeout(() => this.child.kill('SIGTERM'), graceMs);
    const t2 = setTimeout(() => this.child.kill('SIGKILL'), graceMs * 2);
    await gone;
    clearTimeout(t1);
    clearTimeout(t2);
  }

  /** Synchronous last resort (process exit handlers). */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

export interface ExecResult {
  command: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs `argv` in namespace `netns` with a hard timeout (SIGKILL); never rejects for the command's own failure. */
export function execInNetns(netns: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
  const t0 = Date.now();
  return new Promise<ExecResult>((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: podEnv() });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (stdout.length < 65536) stdout += d;
    });
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ command: [...argv], code: null, signal: null, stdout, stderr: stderr + e.message, timedOut, ms: Date.now() - t0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command: [...argv], code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}
