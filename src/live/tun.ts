/**
 * TUN devices through libc (koffi FFI): open(2) /dev/net/tun, ioctl(TUNSETIFF) with IFF_TUN | IFF_NO_PI, then
 * read(2)/write(2) one raw IP packet per call (link type RAW, runtime.md §8) and poll(2) over several fds.
 *
 * Namespaces: the device is created in the namespace of the calling process (the root namespace) and then moved
 * into the pod's namespace with `ip link set dev X netns NS` (netns.ts). A TUN fd keeps working after its device
 * moves, so no thread ever has to setns(2) itself into a namespace: that keeps every kpf thread (the event loop, the
 * libuv pool, the dataplane worker) in the root namespace, where the `ip` commands and the cleanup run, and makes
 * the device creation a plain synchronous call with nothing to undo on a thread. The name is unique in the root
 * namespace (`kpf-…`), so a collision with another device is an error at creation, not a surprise later.
 *
 * The fds are process-wide: the main thread opens them, the dataplane worker reads and writes them. A TUN that is
 * not persistent (kpf never sets TUNSETPERSIST) disappears when its last fd closes, i.e. at the latest when the
 * process dies — inherently fail-closed (runtime.md §6).
 *
 * Every call here is synchronous and some block (read, poll): call them from a worker thread, never from the
 * event loop (open/ioctl/close at start and stop are quick and fine anywhere).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { KpfError } from '../core/errors.js';

export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const POLLIN = 0x0001;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
/** sizeof(struct ifreq) on Linux */
export const IFREQ_SIZE = 40;
/** IFNAMSIZ - 1: the longest device name */
export const IFNAME_MAX = 15;
/** read buffer: never truncates a packet (runtime.md §8) */
export const TUN_READ_BUFFER = 65536;

type Fn = (...args: unknown[]) => number;

interface Libc {
  open: Fn;
  ioctl: Fn;
  close: Fn;
  read: Fn;
  write: Fn;
  poll: Fn;
  errno: () => number;
}

let libc: Libc | undefined;

/** Loads libc through koffi (once per thread). Throws a KpfError when koffi is not installed. */
export function loadLibc(): Libc {
  if (libc) return libc;
  let koffi: typeof import('koffi');
  try {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as typeof import('koffi');
  } catch (e) {
    throw new KpfError('KPF_ERR_LIVE', `live mode needs the koffi package (npm ci installs it): ${(e as Error).message}`);
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    open: lib.func('int open(const char *path, int flags, ...)') as Fn,
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)') as Fn,
    close: lib.func('int close(int fd)') as Fn,
    read: lib.func('long read(int fd, _Out_ void *buf, unsigned long count)') as Fn,
    write: lib.func('long write(int fd, const void *buf, unsigned long count)') as Fn,
    poll: lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)') as Fn,
    errno: () => koffi.errno(),
  };
  return libc;
}

/** The ifreq for TUNSETIFF: name (NUL-terminated, ≤ 15 bytes) and flags (short at offset 16, host order). */
export function ifreq(name: string, flags: number): Buffer {
  validIfName(name);
  const b = Buffer.alloc(IFREQ_SIZE);
  b.write(name, 0, 'latin1');
  b.writeInt16LE((flags << 16) >> 16, 16);
  return b;
}

/** Throws unless `name` is a valid Linux interface name of at most 15 characters. */
export function validIfName(name: string): void {
  if (name.length === 0 || name.length > IFNAME_MAX || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new KpfError('KPF_ERR_LIVE', `invalid device name "${name}" (1-${IFNAME_MAX} characters of A-Z a-z 0-9 _ . -)`);
  }
}

/** True when /dev/net/tun exists (the module may still be missing permissions). */
export function haveTunDevice(): boolean {
  return existsSync('/dev/net/tun');
}

/**
 * Creates TUN device `name` (IFF_TUN | IFF_NO_PI) in the calling process's network namespace and returns its fd
 * (blocking, close-on-exec). The device exists while the fd is open.
 */
export function openTun(name: string): number {
  const c = loadLibc();
  const req = ifreq(name, IFF_TUN | IFF_NO_PI);
  const fd = c.open('/dev/net/tun', O_RDWR | O_CLOEXEC);
  if (fd < 0) throw new KpfError('KPF_ERR_LIVE', `open /dev/net/tun failed (errno ${c.errno()}): live mode needs root (CAP_NET_ADMIN) and the tun module`);
  const r = c.ioctl(fd, TUNSETIFF, 'void *', req);
  if (r < 0) {
    const e = c.errno();
    c.close(fd);
    throw new KpfError('KPF_ERR_LIVE', `TUNSETIFF ${name} failed (errno ${e}${e === 16 ? ': device busy or name in use' : e === 1 ? ': not permitted' : ''})`);
  }
  const got = req.toString('latin1', 0, 16).replace(/\0.*$/s, '');
  if (got !== name) {
    c.close(fd);
    throw new KpfError('KPF_ERR_LIVE', `TUNSETIFF created "${got}" instead of "${name}"`);
  }
  return fd;
}

export function closeFd(fd: number): void {
  if (fd >= 0) loadLibc().close(fd);
}

/** Reads one packet into buf[off…]; returns its length, or -errno. Blocks unless poll said the fd is readable. */
export function readPacket(fd: number, buf: Uint8Array, off = 0, max = buf.length - off): number {
  const c = loadLibc();
  const view = off === 0 && max === buf.length ? buf : buf.subarray(off, off + max);
  const n = c.read(fd, view, max);
  return n < 0 ? -c.errno() : n;
}

/** Writes one packet; returns the bytes written, or -errno. */
export function writePacket(fd: number, buf: Uint8Array, off: number, len: number): number {
  const c = loadLibc();
  const view = off === 0 && len === buf.length ? buf : buf.subarray(off, off + len);
  const n = c.write(fd, view, len);
  return n < 0 ? -c.errno() : n;
}

/** A reusable struct pollfd array for POLLIN on a set of fds. */
export class PollSet {
  readonly buf: Buffer;
  constructor(readonly fds: readonly number[]) {
    this.buf = Buffer.alloc(8 * Math.max(1, fds.length));
    fds.forEach((fd, i) => {
      this.buf.writeInt32LE(fd, 8 * i);
      this.buf.writeInt16LE(POLLIN, 8 * i + 4);
    });
  }
  /** poll(2); returns the number of ready fds (0 on timeout, -errno on error). */
  wait(timeoutMs: number): number {
    const c = loadLibc();
    for (let i = 0; i < this.fds.length; i++) this.buf.writeInt16LE(0, 8 * i + 6);
    const n = c.poll(this.buf, this.fds.length, timeoutMs);
    return n < 0 ? -c.errno() : n;
  }
  /** revents of entry i */
  revents(i: number): number {
    return this.buf.readInt16LE(8 * i + 6) & 0xffff;
  }
}
