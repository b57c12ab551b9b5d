/**
 * Reading manifest sources the way `kubectl -f` does (observability.md §5): files, directories (only `.yaml`,
 * `.yml`, `.json`, sorted by name; `-R` descends) and `-` for stdin. Sizes are checked before or while reading, never
 * after reading everything into memory.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { KpfError } from '../core/errors.js';
import { INPUT_LIMITS } from '../core/options.js';

export interface SourceText {
  /** the path as given (or joined from a directory), `<stdin>` for `-` */
  file: string;
  text: string;
}

export interface ReadOptions {
  recursive: boolean;
  stdin?: NodeJS.ReadableStream;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function tooLarge(file: string, limit: number): KpfError {
  return new KpfError('KPF_ERR_MANIFEST_TOO_LARGE', `${file}: input is larger than the limit of ${limit} bytes (${limit / 1024 / 1024} MiB)`);
}

/**
 * A file's text, read synchronously: a manifest file is read once, before anything else runs, and each asynchronous
 * call (stat, open, read, read, close) was a round trip through libuv's thread pool, which the first of them also
 * starts — 6-10 ms of `kpf replay`'s start-up for one 49 KB file, while the worker threads boot on the other core.
 */
function readFileBounded(file: string, limit: number): string {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new KpfError('KPF_ERR_PATH_NOT_FOUND', `the path "${file}" does not exist`);
  }
  if (st.size > limit) throw tooLarge(file, limit);
  // the file may grow between stat and read: read at most limit + 1 bytes
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(st.size, limit) + 1);
    let off = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, off, buf.length - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
      if (off >= buf.length) break;
    }
    if (off > limit) throw tooLarge(file, limit);
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads a stream, failing as soon as more than `limit` bytes arrive. */
export async function readStreamBounded(stream: NodeJS.ReadableStream, name: string, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += b.length;
    if (total > limit) {
      const s = stream as NodeJS.ReadableStream & { destroy?: () => void };
      s.destroy?.();
      throw tooLarge(name, limit);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A directory's manifests, listed synchronously like the files are read (and without loading node:fs/promises). */
async function listDir(dir: string, recursive: boolean, out: string[]): Promise<void> {
  const entries = readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) await listDir(p, recursive, out);
    } else if (EXTENSIONS.has(extname(e.name).toLowerCase())) {
      out.push(p);
    }
  }
}

/**
 * Reads every source. Errors: `the path "x.yaml" does not exist`, a file over INPUT_LIMITS.maxFileBytes (named),
 * `-` without a stdin stream.
 */
export async function readSources(paths: string[], opts: ReadOptions): Promise<SourceText[]> {
  const out: SourceText[] = [];
  const limit = INPUT_LIMITS.maxFileBytes;
  for (const p of paths) {
    if (p === '-') {
      if (!opts.stdin) throw new KpfError('KPF_ERR_NO_STDIN', 'reading from stdin (-f -) is not available here');
      out.push({ file: '<stdin>', text: await readStreamBounded(opts.stdin, '<stdin>', limit) });
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new KpfError('KPF_ERR_PATH_NOT_FOUND', `the path "${p}" does not exist`);
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      await listDir(p, opts.recursive, files);
      for (const f of files) out.push({ file: f, text: readFileBounded(f, limit) });
    } else {
      out.push({ file: p, text: readFileBounded(p, limit) });
    }
  }
  return out;
}
