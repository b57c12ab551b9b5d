/**
 * The optional `cap` package (a libpcap binding, built from source by `npm ci` when Debian's libpcap-dev is
 * installed), loaded on demand so that kpf works without it; only `kpf watch` needs it.
 *
 * What kpf uses of it: `new Cap()`, `open(device, filter, bufferSize, buffer)` → link type name, the `packet` event
 * (bytes copied into `buffer`, truncated flag), `close()`. The binding copies each packet into the one buffer given
 * to `open` and emits `packet` synchronously from the event loop, so the listener must copy the bytes before it
 * returns. The binding gives no capture timestamp: kpf stamps each packet with the wall clock when it is emitted.
 */
import { createRequire } from 'node:module';
import { KpfError } from '../core/errors.js';

export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
  close(): void;
  setMinBytes?: (n: number) => void;
}

export interface CapModule {
  Cap: { new (): CapHandle; deviceList(): Array<{ name: string; addresses?: Array<{ addr: string }> }> };
}

export const CAP_MISSING =
  'kpf watch needs the optional package `cap` (a libpcap binding built from source), which is not installed or did not build: ' +
  'install the Debian package libpcap-dev (apt-get install libpcap-dev) and run `npm ci` again';

let cached: CapModule | undefined;

/** Loads `cap`; throws a KpfError (exit 1) saying how to get it when it is missing or failed to build. */
export function loadCap(): CapModule {
  if (process.env['KPF_TEST_NO_CAP'] === '1') throw new KpfError('KPF_ERR_WATCH', CAP_MISSING);
  if (cached) return cached;
  try {
    const req = createRequire(import.meta.url);
    cached = req('cap') as CapModule;
    return cached;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new KpfError('KPF_ERR_WATCH', `${CAP_MISSING} (${why})`, { cause: e });
  }
}

/** True when `cap` loads (for tests and diagnostics). */
export function capAvailable(): boolean {
  try {
    loadCap();
    return true;
  } catch {
    return false;
  }
}

/**
 * The pcap LINKTYPE number of what `Cap#open` returned: NULL 0, ETHERNET 1, RAW 101, LINUX_SLL 113; the binding
 * names other link types "Unknown linktype N" (DLT number): the ones kpf decodes (LINUX_SLL2 276, IPV4 228,
 * IPV6 229) are taken from it. Anything else is an error: kpf would not decode those frames.
 */
export function linkTypeOf(name: string): number {
  switch (name) {
    case 'NULL':
      return 0;
    case 'ETHERNET':
      return 1;
    case 'RAW':
      return 101;
    case 'LINKTYPE_LINUX_SLL':
      return 113;
    default: {
      const m = /^Unknown linktype (\d+)$/.exec(name);
      const n = m ? Number(m[1]) : NaN;
      // DLT_RAW is 12 on Linux (14 on some BSDs); 276, 228 and 229 are the same as DLT and LINKTYPE
      if (n === 12 || n === 14) return 101;
      if (n === 276 || n === 228 || n === 229) return n;
      throw new KpfError('KPF_ERR_WATCH', `unsupported link type of the capture device: ${name} (kpf decodes Ethernet, Linux cooked, raw IP and BSD loopback)`);
    }
  }
}
