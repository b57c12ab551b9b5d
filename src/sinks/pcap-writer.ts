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

/** Buffers a writer to a file keeps for reuse once the file has taken their bytes. */
const SPARES = 4;
/** Frames up to this many bytes are copied in a loop; longer ones through a view of them (one object a record). */
const COPY_LOOP_MAX = 256;

/**
 * Classic pcap writer (version 2.4), streaming with back-pressure.
 *
 * Records are packed into an internal buffer; when it fills, it is written to the stream. {@link write} returns false
 * when the stream asked to slow down — then `await writer.drain()` before writing more (no promise is created per
 * packet). {@link close} flushes and ends the stream.
 *
 * A record of up to COPY_LOOP_MAX bytes costs no allocation: its frame is copied four bytes at a time (a view of it,
 * `subarray`, would be an object a record: `--write-allowed` of the peers' 2,000,000 records spent ~120 ms in `write`
 * and ~110 ms in buffer allocation and collection on the main thread). A writer to a file (`dest` a path) hands its full buffer itself to
 * the file stream and takes it back, to fill again, once the stream's write of it has completed; a writer to a stream
 * it was given copies the bytes out, because such a stream may keep the chunk (a PassThrough hands it on as it is).
 */
export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanos: boolean;
  private readonly le: boolean;
  private readonly out: Writable;
  private buf: Uint8Array;
  private dv: DataView;
  /** the buffers' size */
  private readonly size: number;
  /** whether full buffers go to the stream as they are and come back (a file stream this writer opened) */
  private readonly recycle: boolean;
  /** buffers whose bytes the stream has written, to fill again */
  private readonly spare: Uint8Array[] = [];
  /** the `data` of the last {@link write} and a view of it */
  private srcData: Uint8Array | null = null;
  private srcView: DataView | null = null;
  /** records {@link writeHeld} holds: runData[runFrom, runTo), to be copied to buf at runAt */
  private runData: Uint8Array | null = null;
  private runFrom = 0;
  private runTo = 0;
  private runAt = 0;
  private pos = 0;
  private blocked = false;
  private error: Error | null = null;
  /** records written */
  records = 0;
  /** of those, the records {@link writeHeld} found as this writer writes them and copied whole, with their header */
  heldRecords = 0;

  constructor(dest: string | Writable, opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType ?? 1;
    const snap = opts.snaplen ?? 262144;
    this.snaplen = snap > 0 ? snap : 262144;
    this.nanos = opts.nanos ?? false;
    this.le = !(opts.bigEndian ?? false);
    this.recycle = typeof dest === 'string';
    this.out = typeof dest === 'string' ? createWriteStream(dest) : dest;
    this.out.on('error', (e: Error) => {
      this.error = e;
    });
    this.size = Math.max(opts.bufferSize ?? 256 * 1024, 24 + 16 + this.snaplen);
    this.buf = new Uint8Array(this.size);
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
    const q = p + 16;
    if (cap <= COPY_LOOP_MAX) {
      // four bytes at a time (a byte loop took ~2.5× as long)
      const sv = this.viewOf(data);
      let k = 0;
      for (; k + 4 <= cap; k += 4) dv.setUint32(q + k, sv.getUint32(off + k));
      const b = this.buf;
      for (; k < cap; k++) b[q + k] = data[off + k]!;
    } else {
      this.buf.set(data.subarray(off, off + cap), q);
    }
    this.pos = q + cap;
    this.records++;
    return !this.blocked;
  }

  /**
   * As {@link write}, but `data` must keep its bytes until {@link settle} (or the next flush, or close): a record
   * that `data` holds as this writer writes it — its 16-byte header right before `off`, the same fields in the same
   * byte order and precision — is not copied at once, and records that follow each other so in `data` are copied as
   * one block. (A classic pcap read in chunks holds its records so: the replay writes `--write-allowed` from the
   * batch's own chunk.) Any other record is written as by {@link write}.
   */
  writeHeld(data: Uint8Array, off: number, capLen: number, wireLen: number, sec: number, nsec: number): boolean {
    if (this.error) throw this.error;
    const h = off - 16;
    if (capLen > this.snaplen || h < 0) return this.write(data, off, capLen, wireLen, sec, nsec);
    const sv = this.viewOf(data);
    const le = this.le;
    if (
      sv.getUint32(h, le) !== sec >>> 0 ||
      sv.getUint32(h + 4, le) !== (this.nanos ? nsec : Math.floor(nsec / 1000)) ||
      sv.getUint32(h + 8, le) !== capLen ||
      sv.getUint32(h + 12, le) !== (wireLen < capLen ? capLen : wireLen)
    ) {
      return this.write(data, off, capLen, wireLen, sec, nsec);
    }
    if (this.pos + 16 + capLen > this.buf.length) this.flush();
    if (data === this.runData && h === this.runTo) {
      this.runTo = off + capLen;
    } else {
      this.settle();
      this.runData = data;
      this.runFrom = h;
      this.runTo = off + capLen;
      this.runAt = this.pos;
    }
    this.pos += 16 + capLen;
    this.records++;
    this.heldRecords++;
    return !this.blocked;
  }

  /** Copies the records {@link writeHeld} holds into the buffer: their `data` may change after this. */
  settle(): void {
    const d = this.runData;
    if (d === null) return;
    this.runData = null;
    this.buf.set(d.subarray(this.runFrom, this.runTo), this.runAt);
  }

  /** A view of `data` (kept while the same array comes again). */
  private viewOf(data: Uint8Array): DataView {
    let sv = this.srcView;
    if (data !== this.srcData || sv === null) {
      sv = this.srcView = new DataView(data.buffer, data.byteOffset, data.byteLength);
      this.srcData = data;
    }
    return sv;
  }

  /** Resolves once the stream can take more (immediately if it is not blocked). */
  async drain(): Promise<void> {
    if (this.error) throw this.error;
    if (this.blocked) {
      await once(this.out, 'drain');
      this.blocked = false;
    }
  }

  /**
   * Hands the buffered bytes to the stream: to a file stream the buffer itself, which comes back once written, while
   * the writer goes on in a spare one (a new one when none has come back yet); to a given stream a copy.
   */
  flush(): void {
    const n = this.pos;
    if (n === 0) return;
    this.settle();
    this.pos = 0;
    const full = this.buf;
    let ok: boolean;
    if (this.recycle) {
      this.buf = this.spare.pop() ?? new Uint8Array(this.size);
      this.dv = new DataView(this.buf.buffer);
      ok = this.out.write(Buffer.from(full.buffer, 0, n), () => {
        if (this.spare.length < SPARES) this.spare.push(full);
      });
    } else {
      ok = this.out.write(Buffer.from(full.subarray(0, n)));
    }
    if (!ok) this.blocked = true;
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
