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

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
}
