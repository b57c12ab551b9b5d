import type { FlowKey } from '../core/flow-key.js';
import { DecodeStatus } from '../core/enums.js';
import { verifyChecksums } from './checksum.js';
import { decodeLink } from './linktype.js';
import { type DecodeOptions, MAX_TRUSTED_WIRE_LEN, defaultDecodeOptions } from './options.js';

export { type DecodeOptions, defaultDecodeOptions } from './options.js';

/**
 * Decodes one frame in place into `key` and returns its {@link DecodeStatus} (also stored in `key.status`).
 *
 * `buf[off, off + capLen)` holds the captured bytes; `wireLen` is the original length. Following gopacket's
 * DecodingLayer contract: every read is preceded by its length check, nothing is copied or allocated, and no
 * exception is thrown for any packet bytes — malformed input yields a status (one per K-table row, see
 * core/enums.ts) and a capture that is only short sets `key.truncated` (or TRUNCATED when needed bytes are missing).
 *
 * `wireLen` is not trusted for the IP length checks when it is absurd (> 262144, P13) or smaller than `capLen`
 * (P12): the captured length is used instead.
 *
 * @remarks hot path: no allocation, no closures; `opts` must be a long-lived object.
 */
export function decode(
  linkType: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  wireLen: number,
  key: FlowKey,
  opts: DecodeOptions = defaultDecodeOptions,
): number {
  key.reset();
  key.linkType = linkType;
  key.capLen = capLen;
  key.wireLen = wireLen;
  if (!(off >= 0 && off <= buf.length)) off = buf.length;
  if (!(capLen >= 0)) capLen = 0;
  if (capLen > buf.length - off) capLen = buf.length - off;
  let wire = wireLen;
  if (!(wire >= capLen) || wire > MAX_TRUSTED_WIRE_LEN) wire = capLen;
  let st = decodeLink(linkType, buf, off, off + capLen, off + wire, key, opts);
  if (st === DecodeStatus.OK && opts.verifyChecksums) st = verifyChecksums(buf, off, key);
  key.status = st;
  return st;
}
