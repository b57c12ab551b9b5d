import { ExitCode, KpfError } from '../core/errors.js';

/** Stable codes of {@link CaptureFormatError}. */
export const CaptureErrorCode = {
  /** P1, P3, P14, P15: the file ends inside a header, record or block */
  TRUNCATED: 'KPF_ERR_PCAP_TRUNCATED',
  /** P2, P23 (first block): not a pcap or pcapng file */
  UNKNOWN_FORMAT: 'KPF_ERR_PCAP_UNKNOWN_FORMAT',
  /** P7, P24: unsupported pcap / pcapng version */
  VERSION: 'KPF_ERR_PCAP_VERSION',
  /** P10, P28: impossible capture length */
  BAD_RECORD: 'KPF_ERR_PCAP_BAD_RECORD',
  /** P17: link type kpf cannot decode */
  LINKTYPE: 'KPF_ERR_PCAP_LINKTYPE',
  /** P18–P23: malformed pcapng block */
  BAD_BLOCK: 'KPF_ERR_PCAPNG_BAD_BLOCK',
  /** P29: bad IDB option */
  BAD_OPTION: 'KPF_ERR_PCAPNG_BAD_OPTION',
  /** P26, P27: packet without its Interface Description Block */
  NO_INTERFACE: 'KPF_ERR_PCAPNG_NO_INTERFACE',
  /** a record larger than the reader's hard buffer maximum */
  TOO_LARGE: 'KPF_ERR_CAPTURE_TOO_LARGE',
} as const;
export type CaptureErrorCode = (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode];

/**
 * A damaged or unsupported capture file. `detail` is worded as libpcap words it (capture-formats.md §3);
 * the message appends where: `<detail> (record index N at byte offset O)`. `recordIndex` is the 0-based index of
 * the packet record that could not be read (= number of packets delivered before the damage); `byteOffset` is the
 * file offset of that record / block (or of the file header). Exit code 1 before the first packet, 3 after.
 */
export class CaptureFormatError extends KpfError {
  readonly recordIndex: number;
  readonly byteOffset: number;
  readonly detail: string;
  constructor(code: CaptureErrorCode, detail: string, recordIndex: number, byteOffset: number) {
    super(code, `${detail} (record index ${recordIndex} at byte offset ${byteOffset})`, {
      exitCode: recordIndex > 0 ? ExitCode.DEGRADED : ExitCode.INVALID,
    });
    this.name = 'CaptureFormatError';
    this.recordIndex = recordIndex;
    this.byteOffset = byteOffset;
    this.detail = detail;
  }
}
