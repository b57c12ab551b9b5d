import { isSupportedLinkType, linkTypeToString } from '../core/enums.js';
import { CaptureErrorCode, CaptureFormatError } from './errors.js';
import { BatchReader, ERROR, FULL, MAX_BLOCK, MAX_SNAPLEN, NEED, type ReaderOptions } from './reader.js';
import type { ByteSource } from './source.js';

/** pcapng block types. */
export const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  JOURNAL: 0x00000009,
  DSB: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
} as const;

/** Section Header Block byte-order magic. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** One Interface Description Block of the current section. */
export interface PcapngInterface {
  linkType: number;
  /** 0 = unlimited */
  snaplen: number;
  /** if_tsresol raw byte (default 6) */
  tsresol: number;
  /** if_tsoffset seconds */
  tsoffset: number;
  /** if_fcslen bytes (0 when absent) */
  fcsLen: number;
  /** 10^n divisor for the fast path, 0 when the BigInt path is needed (2^-n or 10^-n with n > 9) */
  div: number;
  /** nanoseconds per timestamp unit remainder (10^(9-n)) for the fast path */
  mul: number;
  /** link type verified supported (P17 is raised at the interface's first packet) */
  checked: boolean;
}

/**
 * pcapng (draft-ietf-opsawg-pcapng) reader. What it accepts:
 *
 * - any number of sections, each with its own byte order (P25: kpf is more tolerant than libpcap, which refuses
 *   mixed byte orders) and its own interface list (ids restart at 0); SHB major 1, minor 0 or 2 (P24).
 * - any number of interfaces with different link types (libpcap refuses; mergecap/dumpcap output needs it); each
 *   packet carries its interface's link type; unsupported link types fail at that interface's first packet (P17).
 * - IDB options if_tsresol (10^-n, 2^-n), if_tsoffset, if_fcslen; bad/duplicate ones fail (P29); unknown options
 *   skipped by length.
 * - EPB, SPB (interface 0; caplen = min(original length, snaplen, bytes in the block); timestamp of the previous
 *   packet), obsolete PB (like EPB). NRB, ISB, DSB, journal, custom and unknown blocks are skipped.
 * - block checks: length < 12 (P18), not a multiple of 4 (P19), > 16 MiB (P20), header/trailer mismatch (P21),
 *   fixed part or an option past the body (P22), bad byte-order magic (P23), packet before any IDB / no IDB
 *   (P26), unknown interface (P27), caplen above snaplen / the block / 262144 (P28, P10).
 */
export class PcapngReader extends BatchReader {
  readonly format = 'pcapng' as const;
  /** byte order of the current section */
  littleEndian = true;
  /** number of sections seen */
  sections = 0;
  /** interfaces of the current section */
  readonly interfaces: PcapngInterface[] = [];
  private anyIdb = false;
  private lastSec = 0;
  private lastNsec = 0;
  // scratch for the timestamp conversion (no allocation)
  private tsS = 0;
  private tsN = 0;

  constructor(src: ByteSource, opts?: ReaderOptions) {
    super(src, opts);
  }

  protected parseHeader(): number {
    if (this.end - this.start < 12) {
      this.need = 12;
      return NEED;
    }
    return this.shb(true);
  }

  /** Section Header Block at `start`. */
  private shb(first: boolean): number {
    const dv = this.dv;
    const p = this.start;
    const off = this.base + p;
    const bom = dv.getUint32(p + 8, true);
    let le: boolean;
    if (bom === BYTE_ORDER_MAGIC) le = true;
    else if (bom === 0x4d3c2b1a) le = false;
    else if (first) return this.fail(CaptureErrorCode.UNKNOWN_FORMAT, 'unknown file format', off);
    else return this.fail(CaptureErrorCode.BAD_BLOCK, 'the file has a section with a bad byte order magic field', off);
    const len = dv.getUint32(p + 4, le);
    if (len < 28)
      return this.fail(CaptureErrorCode.BAD_BLOCK, `Section Header Block in pcapng dump file has invalid length ${len} < minimum of 28`, off);
    if (len > MAX_BLOCK)
      return this.fail(CaptureErrorCode.BAD_BLOCK, `Section Header Block in pcapng dump file has invalid length ${len} > maximum of ${MAX_BLOCK}`, off);
    if (len % 4 !== 0)
      return this.fail(CaptureErrorCode.BAD_BLOCK, `block in pcapng dump file has a length of ${len} that is not a multiple of 4`, off);
    if (this.end - p < len) {
      this.need = len;
      return NEED;
    }
    const trailer = dv.getUint32(p + len - 4, le);
    if (trailer !== len)
      return this.fail(CaptureErrorCode.BAD_BLOCK, `block total length in header ${len} and trailer ${trailer} don't match`, off);
    const major = dv.getUint16(p + 12, le);
    const minor = dv.getUint16(p + 14, le);
    if (major !== 1 || (minor !== 0 && minor !== 2))
      return this.fail(CaptureErrorCode.VERSION, `unsupported pcapng savefile version ${major}.${minor}`, off);
    this.littleEndian = le;
    this.sections++;
    this.interfaces.length = 0;
    this.start = p + len;
    return FULL;
  }

  protected parseRecords(): number {
    const max = this.maxBatch;
    while (this.count < max) {
      const p = this.start;
      const avail = this.end - p;
      if (avail < 12) {
        this.need = 12;
        return NEED;
      }
      const dv = this.dv;
      const type0 = dv.getUint32(p, true);
      if (type0 === BlockType.SHB) {
        const r = this.shb(false);
        if (r !== FULL) return r;
        continue;
      }
      const le = this.littleEndian;
      const type = dv.getUint32(p, le);
      const len = dv.getUint32(p + 4, le);
      const off = this.base + p;
      if (len < 12) return this.fail(CaptureErrorCode.BAD_BLOCK, `block in pcapng dump file has a length of ${len} < 12`, off);
      if (len % 4 !== 0)
        return this.fail(CaptureErrorCode.BAD_BLOCK, `block in pcapng dump file has a length of ${len} that is not a multiple of 4`, off);
      if (len > MAX_BLOCK) return this.fail(CaptureErrorCode.BAD_BLOCK, `pcapng block size ${len} > maximum ${MAX_BLOCK}`, off);
      if (avail < len) {
        this.need = len;
        return NEED;
      }
      const trailer = dv.getUint32(p + len - 4, le);
      if (trailer !== len)
        return this.fail(CaptureErrorCode.BAD_BLOCK, `block total length in header ${len} and trailer ${trailer} don't match`, off);
      let r = FULL;
      switch (type) {
        case BlockType.EPB:
          r = this.packet(p, len, off, type, 20);
          break;
        case BlockType.PB:
          r = this.packet(p, len, off, type, 20);
          break;
        case BlockType.SPB:
          r = this.spb(p, len, off);
          break;
        case BlockType.IDB:
          r = this.idb(p, len, off);
          break;
        default:
          this.stats.skippedBlocks++;
      }
      if (r === ERROR) return r;
      this.start = p + len;
    }
    return FULL;
  }

  private tooShort(type: number, off: number): number {
    return this.fail(CaptureErrorCode.BAD_BLOCK, `block of type ${type} in pcapng dump file is too short`, off);
  }

  private iface(id: number, off: number): PcapngInterface | null {
    if (this.interfaces.length === 0) {
      this.fail(CaptureErrorCode.NO_INTERFACE, 'the capture file has a packet block before any Interface Description Blocks', off);
      return null;
    }
    const ifc = this.interfaces[id];
    if (ifc === undefined) {
      this.fail(CaptureErrorCode.NO_INTERFACE, `a packet arrived on interface ${id}, but there's no Interface Description Block for that interface`, off);
      return null;
    }
    if (!ifc.checked) {
      if (!isSupportedLinkType(ifc.linkType)) {
        this.fail(CaptureErrorCode.LINKTYPE, `unsupported link type ${ifc.linkType} (${linkTypeToString(ifc.linkType)}) on interface ${id}`, off);
        return null;
      }
      ifc.checked = true;
    }
    return ifc;
  }

  /** EPB (type 6) or PB (type 2). */
  private packet(p: number, len: number, off: number, type: number, fixed: number): number {
    const body = len - 12;
    if (body < fixed) return this.tooShort(type, off);
    const dv = this.dv;
    const le = this.littleEndian;
    const id = type === BlockType.PB ? dv.getUint16(p + 8, le) : dv.getUint32(p + 8, le);
    const ifc = this.iface(id, off);
    if (ifc === null) return ERROR;
    const hi = dv.getUint32(p + 12, le);
    const lo = dv.getUint32(p + 16, le);
    const cap = dv.getUint32(p + 20, le);
    let wire = dv.getUint32(p + 24, le);
    if (cap > body - fixed)
      return this.fail(CaptureErrorCode.BAD_RECORD, `invalid packet capture length ${cap}, bigger than the ${body - fixed} bytes left in the block`, off);
    if (ifc.snaplen !== 0 && cap > ifc.snaplen)
      return this.fail(CaptureErrorCode.BAD_RECORD, `invalid packet capture length ${cap}, bigger than snaplen of ${ifc.snaplen}`, off);
    if (cap > MAX_SNAPLEN)
      return this.fail(CaptureErrorCode.BAD_RECORD, `invalid packet capture length ${cap}, bigger than maximum of ${MAX_SNAPLEN}`, off);
    if (cap > wire) {
      this.warn('caplen_gt_len', `capture length ${cap} bigger than original length ${wire}`, off);
      wire = cap;
    }
    if (wire > MAX_SNAPLEN) this.warn('len_absurd', `original length ${wire} bigger than ${MAX_SNAPLEN}`, off);
    this.ts(ifc, hi, lo);
    this.lastSec = this.tsS;
    this.lastNsec = this.tsN;
    this.push(p + 28, cap, wire, this.tsS, this.tsN, ifc.linkType, id, off);
    return FULL;
  }

  private spb(p: number, len: number, off: number): number {
    const body = len - 12;
    if (body < 4) return this.tooShort(BlockType.SPB, off);
    const ifc = this.iface(0, off);
    if (ifc === null) return ERROR;
    let wire = this.dv.getUint32(p + 8, this.littleEndian);
    let cap = wire;
    if (ifc.snaplen !== 0 && cap > ifc.snaplen) cap = ifc.snaplen;
    if (cap > body - 4) cap = body - 4;
    if (cap > MAX_SNAPLEN) cap = MAX_SNAPLEN;
    if (wire > MAX_SNAPLEN) this.warn('len_absurd', `original length ${wire} bigger than ${MAX_SNAPLEN}`, off);
    if (wire < cap) wire = cap;
    this.push(p + 12, cap, wire, this.lastSec, this.lastNsec, ifc.linkType, 0, off);
    return FULL;
  }

  private idb(p: number, len: number, off: number): number {
    const body = len - 12;
    if (body < 8) return this.tooShort(BlockType.IDB, off);
    const dv = this.dv;
    const le = this.littleEndian;
    const lt = dv.getUint16(p + 8, le);
    let snap = dv.getUint32(p + 12, le);
    if (snap > 0x7fffffff) snap = 0;
    let tsresol = 6;
    let tsoffset = 0;
    let fcsLen = 0;
    let haveRes = false;
    let haveOff = false;
    let o = p + 16;
    const oend = p + len - 4;
    while (o < oend) {
      if (oend - o < 4) return this.tooShort(BlockType.IDB, off);
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      const padded = (olen + 3) & ~3;
      if (oend - o - 4 < padded) return this.tooShort(BlockType.IDB, off);
      const v = o + 4;
      if (code === 9) {
        if (olen !== 1)
          return this.fail(CaptureErrorCode.BAD_OPTION, `Interface Description Block has if_tsresol option with length ${olen} != 1`, off);
        if (haveRes) return this.fail(CaptureErrorCode.BAD_OPTION, 'Interface Description Block has more than one if_tsresol option', off);
        haveRes = true;
        tsresol = this.buf[v];
        const n = tsresol & 0x7f;
        if (tsresol & 0x80 ? n > 63 : n > 19)
          return this.fail(
            CaptureErrorCode.BAD_OPTION,
            `Interface Description Block if_tsresol option resolution ${tsresol & 0x80 ? 2 : 10}^-${n} is too high`,
            off,
          );
      } else if (code === 14) {
        if (olen !== 8)
          return this.fail(CaptureErrorCode.BAD_OPTION, `Interface Description Block has if_tsoffset option with length ${olen} != 8`, off);
        if (haveOff) return this.fail(CaptureErrorCode.BAD_OPTION, 'Interface Description Block has more than one if_tsoffset option', off);
        haveOff = true;
        const lo = dv.getUint32(le ? v : v + 4, le);
        const hi = dv.getInt32(le ? v + 4 : v, le);
        tsoffset = hi * 4294967296 + lo;
      } else if (code === 13 && olen >= 1) {
        fcsLen = this.buf[v];
      }
      o = v + padded;
    }
    const dec = (tsresol & 0x80) === 0 && tsresol <= 9;
    this.interfaces.push({
      linkType: lt,
      snaplen: snap,
      tsresol,
      tsoffset,
      fcsLen,
      div: dec ? 10 ** tsresol : 0,
      mul: dec ? 10 ** (9 - tsresol) : 0,
      checked: false,
    });
    this.anyIdb = true;
    return FULL;
  }

  /** 64-bit timestamp (hi, lo) in the interface's units → tsS (seconds) / tsN (ns). Exact; no allocation on the
   *  10^-n (n ≤ 9) path. */
  private ts(ifc: PcapngInterface, hi: number, lo: number): void {
    const d = ifc.div;
    if (d !== 0) {
      const qh = Math.floor(hi / d);
      const rh = hi - qh * d;
      let x = rh * 65536 + (lo >>> 16);
      const q1 = Math.floor(x / d);
      const r1 = x - q1 * d;
      x = r1 * 65536 + (lo & 0xffff);
      const q2 = Math.floor(x / d);
      const r2 = x - q2 * d;
      this.tsS = qh * 4294967296 + q1 * 65536 + q2 + ifc.tsoffset;
      this.tsN = r2 * ifc.mul;
      return;
    }
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const n = ifc.tsresol & 0x7f;
    let s: bigint;
    let ns: bigint;
    if (ifc.tsresol & 0x80) {
      s = t >> BigInt(n);
      ns = ((t & ((1n << BigInt(n)) - 1n)) * 1000000000n) >> BigInt(n);
    } else {
      const D = 10n ** BigInt(n);
      s = t / D;
      ns = ((t % D) * 1000000000n) / D;
    }
    this.tsS = Number(s) + ifc.tsoffset;
    this.tsN = Number(ns);
  }

  protected atEof(): CaptureFormatError | null {
    const left = this.end - this.start;
    const off = this.base + this.start;
    if (left === 0) {
      if (!this.anyIdb && this.headerDone)
        return new CaptureFormatError(CaptureErrorCode.NO_INTERFACE, 'the capture file has no Interface Description Blocks', this.index, off);
      if (!this.headerDone)
        return new CaptureFormatError(CaptureErrorCode.TRUNCATED, 'truncated pcapng dump file; tried to read 12 bytes, only got 0', 0, off);
      return null;
    }
    return new CaptureFormatError(
      CaptureErrorCode.TRUNCATED,
      `truncated pcapng dump file; tried to read ${this.need} bytes, only got ${left}`,
      this.index,
      off,
    );
  }
}
