import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

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

/** A file read sequentially with positional reads into the caller's buffer. */
export async function fileSource(path: string): Promise<ByteSource> {
  const fh: FileHandle = await open(path, 'r');
  let closed = false;
  return {
    async read(dst, off, len) {
      if (closed || len <= 0) return 0;
      const { bytesRead } = await fh.read(dst, off, len, null);
      return bytesRead;
    },
    async close() {
      if (!closed) {
        closed = true;
        await fh.close();
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
