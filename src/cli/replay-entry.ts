/**
 * `kpf replay` as one program: the entry of its CLI bundle (dist/cli/replay.bundle.cjs, scripts/bundle.mjs), which
 * cli/boot.ts runs with V8's code cache. It imports the replay command and nothing of the other commands, so that the
 * bundle holds only what a replay runs on the main thread (the command, its body, the worker pool with piscina).
 */
import { processIo, quietOnClosedPipe } from './io.js';
import { runCommand } from './run-command.js';

/** Runs `kpf replay ARGV…` (the arguments after the command's name); sets and returns the exit code. */
export async function start(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const code = await runCommand('replay', () => import('./commands/replay.js'), argv, processIo());
  process.exitCode = code;
  return code;
}
