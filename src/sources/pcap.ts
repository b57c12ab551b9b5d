import { isSupportedLinkType, linkTypeToString } from '../core/enums.js';
import { CaptureErrorCode, CaptureFormatError } from './errors.js';
import { BatchReader, FULL, MAX_SNAPLEN, NEED, type PcapWalker, type ReaderOptions } from './reader.js';
import type { ByteSource } from './source.js';

/** Classic pcap magics as read little-endian from the first 4 bytes. */
export const PcapMagic = {
  USEC_LE: 0xa1b2c3d4,
  USEC_BE: 0xd4c3b2a1,
  NSEC_LE: 0xa1b23c4d,
  NSEC_BE: 0x4d3cb2a1,
  KUZNETZOV_LE: 0xa1b2cd34,
  KUZNETZOV_BE: 0x34cdb2a1,
} as const;

/** True if the 4 bytes read little-endian are a classic pcap magic. */
export function isPcapMagic(le32: number): boolean {
  return (
    le32 === PcapMagic.USEC_LE || le32 === PcapMagic.USEC_BE || le32 === PcapMagic.NSEC_LE ||
    le32 === PcapMagic.NSEC_BE || le32 === PcapMagic.KUZNETZOV_LE || le32 === PcapMagic.KUZNETZOV_BE
  );
}

/**
 * Classic pcap (pcap-savefile(5)) reader. What it accepts, as libpcap sf-pcap.c does:
 *
 * - magics `a1b2c3d4` (µs) and `a1b23c4d` (ns) in either byte order; the Kuznetzov `a1b2cd34` variant (24-byte
 *   record headers, the extra 8 bytes ignored). Anything else: `unknown file format` (P2).
 * - versions 2.0–2.4 and 543.0; major < 2 ⇒ `archaic pcap savefile format`, others ⇒ `unsupported pcap savefile
 *   version %u.%u` (P7). 2.0–2.2 and 543.0 store caplen/len swapped, 2.3 sometimes: swapped back (P8).
 * - snaplen 0 or > INT_MAX ⇒ 262144 (P9); caplen > 262144 ⇒ error before reading (P10); snaplen < caplen ⇒ the
 *   first snaplen bytes delivered, rest skipped (P11); caplen > len ⇒ WARN, len = caplen (P12); len > 262144 ⇒
 *   WARN (P13); a fraction ≥ 1 s ⇒ WARN, carried into seconds.
 * - link type: the low 16 bits after masking the FCS/extension bits (P16); FCS length kept in {@link fcsLen};
 *   link types kpf cannot decode (or reserved bits set) ⇒ `unsupported link type N (NAME)` at open (P17).
 * - a partial record header / partial packet data at EOF ⇒ `truncated dump file; …` (P14, P15) after delivering
 *   every complete record before it.
 */
export class PcapReader extends BatchReader {
  readonly format = 'pcap' as const;
  /** true for little-endian files */
  littleEndian = true;
  /** true when the magic says nanosecond timestamps */
  nanos = false;
  /** record header size: 16, or 24 for Kuznetzov files */
  recordHeaderLen = 16;
  versionMajor = 0;
  versionMinor = 0;
  /** effective snapshot length (after P9 adjustment) */
  snaplen = MAX_SNAPLEN;
  /** link type (masked) */
  linkType = 0;
  /** FCS length in bytes from the link-type field (0 when absent) */
  fcsLen = 0;
  /** 0 = lengths as stored, 1 = always swapped (2.0–2.2, 543.0), 2 = swapped when caplen > len (2.3) */
  private swapMode = 0;

  constructor(src: ByteSource, opts?: ReaderOptions) {
    super(src, opts);
  }

  /**
   * Whether plain records take {@link parsePlain}'s loop (true; false: the general loop takes every record, as the
   * reference the property test compares the two with).
   */
  static plainLoop = true;
  /** Whether plain records are walked by the arena's walker when it has one (tests compare the two). */
  static compiledWalk = true;

  protected parseHeader(): number {
    const avail = this.end - this.start;
    if (avail < 24) {
      this.need = 24;
      return NEED;
    }
    const p = this.start;
    const dv = this.dv;
    const m = dv.getUint32(p, true);
    let le: boolean;
    if (m === PcapMagic.USEC_LE || m === PcapMagic.NSEC_LE || m === PcapMagic.KUZNETZOV_LE) le = true;
    else if (m === PcapMagic.USEC_BE || m === PcapMagic.NSEC_BE || m === PcapMagic.KUZNETZOV_BE) le = false;
    else return this.fail(CaptureErrorCode.UNKNOWN_FORMAT, 'unknown file format', this.base + p);
    this.littleEndian = le;
    this.nanos = m === PcapMagic.NSEC_LE || m === PcapMagic.NSEC_BE;
    this.recordHeaderLen = m === PcapMagic.KUZNETZOV_LE || m === PcapMagic.KUZNETZOV_BE ? 24 : 16;
    const major = dv.getUint16(p + 4, le);
    const minor = dv.getUint16(p + 6, le);
    this.versionMajor = major;
    this.versionMinor = minor;
    if (major < 2) return this.fail(CaptureErrorCode.VERSION, 'archaic pcap savefile format', this.base + p);
    if (!((major === 2 && minor <= 4) || (major === 543 && minor === 0)))
      return this.fail(CaptureErrorCode.VERSION, `unsupported pcap savefile version ${major}.${minor}`, this.base + p);
    this.swapMode = major === 543 || minor < 3 ? 1 : minor === 3 ? 2 : 0;
    const snap = dv.getUint32(p + 16, le);
    this.snaplen = snap === 0 || snap > 0x7fffffff || snap > MAX_SNAPLEN ? MAX_SNAPLEN : snap;
    const ltRaw = dv.getUint32(p + 20, le);
    const lt = ltRaw & 0x03ffffff;
    if ((ltRaw & 0x04000000) !== 0) this.fcsLen = ((ltRaw >>> 28) & 0xf) * 2;
    this.linkType = lt;
    if (lt > 0xffff || !isSupportedLinkType(lt))
      return this.fail(CaptureErrorCode.LINKTYPE, `unsupported link type ${lt} (${linkTypeToString(lt)})`, this.base + p + 20);
    this.start = p + 24;
    return FULL;
  }

  protected parseRecords(): number {
    // the common record first, many at a time: nothing to swap, to cut, to warn about or to fail on
    if (PcapReader.plainLoop && this.swapMode === 0 && this.recordHeaderLen === 16) this.parsePlain();
    const dv = this.dv;
    const le = this.littleEndian;
    const hl = this.recordHeaderLen;
    const end = this.end;
    const max = this.maxBatch;
    const lt = this.linkType;
    const snaplen = this.snaplen;
    let p = this.start;
    while (this.count < max) {
      if (end - p < hl) {
        this.start = p;
        this.need = hl;
        return NEED;
      }
      let sec = dv.getUint32(p, le);
      let frac = dv.getUint32(p + 4, le);
      let cap = dv.getUint32(p + 8, le);
      let len = dv.getUint32(p + 12, le);
      if (this.swapMode === 1 || (this.swapMode === 2 && cap > len)) {
        const t = cap;
        cap = len;
        len = t;
      }
      const fileOff = this.base + p;
      if (cap > MAX_SNAPLEN) {
        this.start = p;
        return this.fail(
          CaptureErrorCode.BAD_RECORD,
          cap > snaplen && snaplen < MAX_SNAPLEN
            ? `invalid packet capture length ${cap}, bigger than snaplen of ${snaplen}`
            : `invalid packet capture length ${cap}, bigger than maximum of ${MAX_SNAPLEN}`,
          fileOff,
        );
      }
      if (end - p < hl + cap) {
        this.start = p;
        this.need = hl + cap;
        return NEED;
      }
      let deliver = cap;
      if (cap > snaplen) {
        deliver = snaplen;
        this.warn('snaplen_cut', `packet capture length ${cap} bigger than snaplen of ${snaplen}; truncated`, fileOff);
      }
      if (cap > len) {
        this.warn('caplen_gt_len', `capture length ${cap} bigger than original length ${len}`, fileOff);
        len = cap;
      }
      if (len > MAX_SNAPLEN) this.warn('len_absurd', `original length ${len} bigger than ${MAX_SNAPLEN}`, fileOff);
      let nsec: number;
      if (this.nanos) {
        if (frac >= 1e9) {
          this.warn('ts_fraction', `nanosecond field ${frac} ≥ 10^9`, fileOff);
          sec += Math.floor(frac / 1e9);
          frac %= 1e9;
        }
        nsec = frac;
      } else {
        if (frac >= 1e6) {
          this.warn('ts_fraction', `microsecond field ${frac} ≥ 10^6`, fileOff);
          sec += Math.floor(frac / 1e6);
          frac %= 1e6;
        }
        nsec = frac * 1000;
      }
      this.push(p + hl, deliver, len, sec, nsec, lt, 0, fileOff);
      p += hl + cap;
    }
    this.start = p;
    return FULL;
  }

  /**
   * Delivers records from `start` for as long as each is the plain case — a whole 16-byte header and record in the
   * buffer, caplen within the snaplen and at most len, len at most MAX_SNAPLEN, the fraction below a second, the time
   * not before the latest — exactly as the general loop of {@link parseRecords} would, with the batch's columns and
   * counters in locals; it stops before the first other record (or a full batch), which the general loop then takes.
   * @remarks per-record path: no allocation.
   */
  private parsePlain(): void {
    if (this.walker !== null && PcapReader.compiledWalk && this.walkCompiled(this.walker)) return;
    this.describedAll = false;
    const dv = this.dv;
    const le = this.littleEndian;
    const end = this.end;
    const max = this.maxBatch;
    const lt = this.linkType;
    const snaplen = this.snaplen;
    const unit = this.nanos ? 1 : 1000;
    const fracMax = this.nanos ? 1e9 : 1e6;
    const offsets = this.offsets;
    const capLens = this.capLens;
    const wireLens = this.wireLens;
    const tsSec = this.tsSec;
    const tsNsec = this.tsNsec;
    const linkTypes = this.linkTypes;
    const ifaces = this.ifaces;
    const fileOffsets = this.fileOffsets;
    const base = this.base;
    let maxSec = this.maxSec;
    let maxNsec = this.maxNsec;
    let count = this.count;
    let truncated = 0;
    let p = this.start;
    while (count < max && end - p >= 16) {
      const sec = dv.getUint32(p, le);
      const frac = dv.getUint32(p + 4, le);
      const cap = dv.getUint32(p + 8, le);
      const len = dv.getUint32(p + 12, le);
      if (cap > snaplen || cap > len || len > MAX_SNAPLEN || frac >= fracMax || end - p < 16 + cap) break;
      const nsec = frac * unit;
      if (!(sec > maxSec || (sec === maxSec && nsec >= maxNsec))) break;
      maxSec = sec;
      maxNsec = nsec;
      offsets[count] = p + 16;
      capLens[count] = cap;
      wireLens[count] = len;
      tsSec[count] = sec;
      tsNsec[count] = nsec;
      linkTypes[count] = lt;
      ifaces[count] = 0;
      fileOffsets[count] = base + p;
      if (cap < len) truncated++;
      count++;
      p += 16 + cap;
    }
    this.delivered(count - this.count, truncated, maxSec, maxNsec);
    this.count = count;
    this.start = p;
  }

  /**
   * {@link parsePlain} by the arena's walker (the module's walkPcap, when the batch is in its memory): the same
   * records, columns and counters; the interface and file-offset columns filled here; and, when the batch memory has
   * them, the records' descriptors. False when the walker cannot (the views are elsewhere), and nothing was done.
   */
  private walkCompiled(w: PcapWalker): boolean {
    const from = this.count;
    const n = w.walkPcap(this.buf, this.start, this.end, this.littleEndian, from, this.maxBatch, this.snaplen, this.nanos, this.maxSec, this.maxNsec, this.offsets, this.capLens, this.wireLens, this.tsSec, this.tsNsec, this.linkTypes, this.linkType, this.desc);
    if (n < 0) return false;
    if (this.desc === null) this.describedAll = false;
    const offsets = this.offsets;
    const fileOffsets = this.fileOffsets;
    const at = this.base - 16;
    for (let k = from; k < n; k++) fileOffsets[k] = at + offsets[k]!;
    this.ifaces.fill(0, from, n);
    this.delivered(n - from, w.walkTruncated(), w.walkMaxSec(), w.walkMaxNsec());
    this.count = n;
    this.start = w.walkEnd();
    return true;
  }

  protected atEof(): CaptureFormatError | null {
    const left = this.end - this.start;
    const off = this.base + this.start;
    if (!this.headerDone) {
      return new CaptureFormatError(
        CaptureErrorCode.TRUNCATED,
        `truncated dump file; tried to read 24 file header bytes, only got ${left}`,
        0,
        off,
      );
    }
    if (left === 0) return null;
    const hl = this.recordHeaderLen;
    if (left < hl)
      return new CaptureFormatError(
        CaptureErrorCode.TRUNCATED,
        `truncated dump file; tried to read ${hl} header bytes, only got ${left}`,
        this.index,
        off,
      );
    return new CaptureFormatError(
      CaptureErrorCode.TRUNCATED,
      `truncated dump file; tried to read ${this.need - hl} captured bytes, only got ${left - hl}`,
      this.index,
      off,
    );
  }
}
