import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { KpfError } from '../core/errors.js';

/**
 * Where capture bytes come from: a minimal pull interface so readers own their buffer (no per-chunk allocation for
 * files; stream chunks are copied once into the reader's buffer).
 */
export interface ByteSource {
  /** Reads up to `len` bytes into `dst[off…]`; resolves 0 only at end of input. */
  read(dst: Uint8Array, off: number, len: number): Promise<number>;
  /** Releases the file handle / stops consuming the stream. Idempotent. */
  close(): Promise<void>;
}

/**
 * A file read sequentially into the caller's buffer. A regular file is opened, read and closed synchronously: a read
 * is one bounded copy (the reader asks for at most a chunk, 1 MB in a replay: ~0.1-0.3 ms from the page cache, less
 * than counting one batch's verdicts, which holds the event loop too), and through libuv's thread pool each read was a
 * third thread on the replay's two busy cores and a round trip the main thread waited for (peers' replay ~364 →
 * ~346 ms, median of 16 alternating); the open and its stat were two more round trips, the first of which started
 * the pool, before the first batch. Anything else (a FIFO, a character device) could block for as long as its writer
 * likes, so it is opened and read asynchronously; so is a path that cannot be stat'ed, for the open's own error.
 * Errors of the file system name the capture and what is wrong with it (KPF_ERR_CAPTURE_READ, exit 1).
 */
export async function fileSource(path: string): Promise<ByteSource> {
  try {
    if (statRegular(path)) {
      // non-blocking, should the path have become a FIFO since: its open then returns at once, and it is read below
      const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      if (fstatSync(fd).isFile()) return fileReader(path, (dst, off, len) => readSync(fd, dst, off, len, null), () => closeSync(fd));
      closeSync(fd);
    }
    // node:fs/promises only for these (loading it was ~1 ms of a replay's start-up); by require, as this module may
    // run inside a script bundle (core/bundle.ts), where import() has no loader
    const { open } = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
    const fh = await open(path, 'r');
    return fileReader(path, async (dst, off, len) => (await fh.read(dst, off, len, null)).bytesRead, () => fh.close());
  } catch (e) {
    throw captureError(path, e);
  }
}

/**
 * An error of the file system about the capture `path` as a KpfError that says what is wrong with it (exit 1), like
 * the manifests' (`the path "…" does not exist`); anything else as it is.
 */
function captureError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('E')) return e;
  const why =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read: permission denied'
          : `cannot be read: ${(e as Error).message}`;
  return new KpfError('KPF_ERR_CAPTURE_READ', `the capture "${path}" ${why}`, { cause: e });
}

function statRegular(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A source over a file's read and close (either synchronous or not), whose errors name the capture
 * ({@link captureError}).
 */
function fileReader(path: string, read: (dst: Uint8Array, off: number, len: number) => number | Promise<number>, close: () => unknown): ByteSource {
  let closed = false;
  return {
    async read(dst, off, len) {
      if (closed || len <= 0) return 0;
      try {
        return await read(dst, off, len);
      } catch (e) {
        throw captureError(path, e);
      }
    },
    async close() {
      if (!closed) {
        closed = true;
        await close();
      }
    },
  };
}

/** A Node Readable (e.g. process.stdin for `-`): chunks are copied into the reader's buffer as requested. */
export function streamSource(stream: Readable): ByteSource {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let chunk: Uint8Array | null = null;
  let pos = 0;
  let done = false;
  return {
    async read(dst, off, len) {
      if (len <= 0) return 0;
      while (!done && (chunk === null || pos >= chunk.length)) {
        const r = await it.next();
        if (r.done) {
          done = true;
          chunk = null;
          break;
        }
        chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
        pos = 0;
      }
      if (chunk === null) return 0;
      const n = Math.min(len, chunk.length - pos);
      dst.set(chunk.subarray(pos, pos + n), off);
      pos += n;
      return n;
    },
    async close() {
      if (!done) {
        done = true;
        await it.return?.();
      }
    },
  };
}

/** An in-memory capture (tests, fuzzing). */
export function bufferSource(data: Uint8Array): ByteSource {
  let pos = 0;
  return {
    async read(dst, off, len) {
      const n = Math.max(0, Math.min(len, data.length - pos));
      if (n > 0) dst.set(data.subarray(pos, pos + n), off);
      pos += n;
      return n;
    },
    async close() {
      pos = data.length;
    },
  };
}

/** Returns `head` first, then the rest of `src` (format sniffing without seeking). */
export function prependSource(head: Uint8Array, src: ByteSource): ByteSource {
  let pos = 0;
  return {
    async read(dst, off, len) {
      if (pos < head.length) {
        const n = Math.min(len, head.length - pos);
        dst.set(head.subarray(pos, pos + n), off);
        pos += n;
        return n;
      }
      return src.read(dst, off, len);
    },
    close: () => src.close(),
  };
}
