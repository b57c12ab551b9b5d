/**
 * The CLI's view of the process: streams and environment, passed in so that commands run in-process in tests.
 */
export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  stdin?: NodeJS.ReadableStream;
  /** working directory for relative paths (default process.cwd()) */
  cwd?: string;
}

/**
 * The process's streams. `stdin` is looked up when a command reads it: Node builds `process.stdin` (and loads its
 * stream modules) on first access, ~1-3 ms of a start-up that does not need it.
 */
export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    get stdin(): NodeJS.ReadableStream {
      return process.stdin;
    },
    cwd: process.cwd(),
  };
}

/** A closed pipe (`kpf get pods -A | head`) ends the output quietly, as for other Unix tools. */
export function quietOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
