import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { once } from 'node:events';

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** LINKTYPE of every record (default 1, ETHERNET) */
  linkType?: number;
  /** snapshot length written in the header; longer packets are cut to it (default 262144) */
  snaplen?: number;
  /** nanosecond timestamps (magic a1b23c4d) instead of microseconds (default false) */
  nanos?: boolean;
  /** write big-endian (default false: little-endian, as tcpdump on x86) */
  bigEndian?: boolean;
  /** internal buffer size before a write() to the stream (default 256 KiB) */
  bufferSize?: number;
}

/**
 * Classic pcap writer (version 2.4), streaming with back-pressure.
 *
 * Records are packed into an internal buffer; when it fills, the bytes are copied out and written to the stream.
 * {@link write} returns false when the stream asked to slow down — then `await writer.drain()` before writing more
 * (no promise is created per packet). {@link close} flushes and ends the stream.
 */
export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanos: boolean;
  private readonly le: boolean;
  private readonly out: Writable;
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;
  private blocked = false;
  private error: Error | null = null;
  /** records written */
  records = 0;

  constructor(dest: string | Writable, opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType ?? 1;
    const snap = opts.snaplen ?? 262144;
    this.snaplen = snap > 0 ? snap : 262144;
    this.nanos = opts.nanos ?? false;
    this.le = !(opts.bigEndian ?? false);
    this.out = typeof dest === 'string' ? createWriteStream(dest) : dest;
    this.out.on('error', (e: Error) => {
      this.error = e;
    });
    this.buf = new Uint8Array(Math.max(opts.bufferSize ?? 256 * 1024, 24 + 16 + this.snaplen));
    this.dv = new DataView(this.buf.buffer);
    const dv = this.dv;
    const le = this.le;
    dv.setUint32(0, this.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
    dv.setUint16(4, 2, le);
    dv.setUint16(6, 4, le);
    dv.setInt32(8, 0, le);
    dv.setUint32(12, 0, le);
    dv.setUint32(16, this.snaplen, le);
    dv.setUint32(20, this.linkType, le);
    this.pos = 24;
  }

  /**
   * Appends one record: `data[off, off + capLen)` (cut to the snaplen), original length `wireLen`, timestamp
   * `sec` + `nsec` nanoseconds (rounded down to µs for µs files). Returns false when the caller should
   * `await drain()` before writing more.
   */
  write(data: Uint8Array, off: number, capLen: number, wireLen: number, sec: number, nsec: number): boolean {
    if (this.error) throw this.error;
    const cap = capLen > this.snaplen ? this.snaplen : capLen;
    if (this.pos + 16 + cap > this.buf.length) this.flush();
    const dv = this.dv;
    const le = this.le;
    const p = this.pos;
    dv.setUint32(p, sec >>> 0, le);
    dv.setUint32(p + 4, this.nanos ? nsec : Math.floor(nsec / 1000), le);
    dv.setUint32(p + 8, cap, le);
    dv.setUint32(p + 12, wireLen < cap ? cap : wireLen, le);
    this.buf.set(data.subarray(off, off + cap), p + 16);
    this.pos = p + 16 + cap;
    this.records++;
    return !this.blocked;
  }

  /** Resolves once the stream can take more (immediately if it is not blocked). */
  async drain(): Promise<void> {
    if (this.error) throw this.error;
    if (this.blocked) {
      await once(this.out, 'drain');
      this.blocked = false;
    }
  }

  /** Hands buffered bytes to the stream (copying them, so the internal buffer can be reused). */
  flush(): void {
    if (this.pos === 0) return;
    const chunk = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    if (!this.out.write(chunk)) this.blocked = true;
  }

  /** Flushes, ends the stream and waits until it is finished (file closed). */
  async close(): Promise<void> {
    this.flush();
    if (this.error) throw this.error;
    const done = once(this.out, 'finish');
    this.out.end();
    await done;
    if (this.error) throw this.error;
  }
}
