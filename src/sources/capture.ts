import type { Readable } from 'node:stream';
import { CaptureErrorCode, CaptureFormatError } from './errors.js';
import { isPcapMagic, PcapReader } from './pcap.js';
import { BlockType, PcapngReader } from './pcapng.js';
import type { ReaderOptions } from './reader.js';
import { bufferSource, fileSource, prependSource, streamSource, type ByteSource } from './source.js';

export type { RecordBatch, RecordColumns, ReaderOptions, CaptureStats, CaptureWarning, CaptureWarningKind } from './reader.js';
export { batchTransferList } from './reader.js';
export { CaptureFormatError, CaptureErrorCode } from './errors.js';
export { PcapReader } from './pcap.js';
export { PcapngReader } from './pcapng.js';

/** Either reader. */
export type CaptureReader = PcapReader | PcapngReader;

/** Where a capture comes from: a path, `-` (stdin), a Readable, or bytes in memory. */
export type CaptureInput = string | Readable | Uint8Array;

/**
 * Opens a capture, sniffs its format from the first 4 bytes (pcapng SHB `0a 0d 0d 0a`, or one of the classic
 * pcap magics), reads its header and returns the reader — an async iterable of {@link RecordBatch}.
 * Throws {@link CaptureFormatError}: P1 (< 4 bytes), P2 (unknown magic), and any header error (P3, P7, P17, P23,
 * P24).
 */
export async function openCapture(input: CaptureInput, opts?: ReaderOptions): Promise<CaptureReader> {
  let src: ByteSource;
  if (typeof input === 'string') src = input === '-' ? streamSource(process.stdin) : await fileSource(input);
  else if (input instanceof Uint8Array) src = bufferSource(input);
  else src = streamSource(input);
  const head = new Uint8Array(4);
  let got = 0;
  while (got < 4) {
    const n = await src.read(head, got, 4 - got);
    if (n === 0) break;
    got += n;
  }
  if (got < 4) {
    await src.close();
    throw new CaptureFormatError(
      CaptureErrorCode.TRUNCATED,
      `truncated dump file; tried to read 4 file header bytes, only got ${got}`,
      0,
      0,
    );
  }
  const m = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  const s = prependSource(head, src);
  let r: CaptureReader;
  if (m === BlockType.SHB) r = new PcapngReader(s, opts);
  else if (isPcapMagic(m)) r = new PcapReader(s, opts);
  else {
    await src.close();
    throw new CaptureFormatError(CaptureErrorCode.UNKNOWN_FORMAT, 'unknown file format', 0, 0);
  }
  await r.open();
  return r;
}
