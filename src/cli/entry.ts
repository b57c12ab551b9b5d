/**
 * The program behind `kpf` (bin/kpf.js): the command line's arguments through {@link main}, with the process's
 * streams, and the exit code it returns. (`kpf replay` from a built checkout starts from cli/replay-entry.ts instead.)
 */
import { processIo, quietOnClosedPipe } from './io.js';
import { main } from './main.js';

export async function start(argv: string[] = process.argv.slice(2)): Promise<number> {
  quietOnClosedPipe();
  const code = await main(argv, processIo());
  process.exitCode = code;
  return code;
}
