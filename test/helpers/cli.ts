/**
 * Runs the kpf command line in-process with captured output, for CLI tests.
 */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function kpf(argv: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    ...(opts.stdin !== undefined ? { stdin: Readable.from([opts.stdin]) } : {}),
    cwd: opts.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}
