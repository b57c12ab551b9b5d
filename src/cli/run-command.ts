/**
 * Running one command module with the CLI's one place where errors become messages and exit codes (0 ok, 1 invalid
 * input, 2 usage error): cli/main.ts for every command, cli/replay-entry.ts for `kpf replay` from its bundle. Users
 * never see a stack trace (KPF_DEBUG=1 shows one).
 */
import { KpfError, ManifestError, formatDiagnostic } from '../core/errors.js';
import type { Io } from './io.js';

export type Command = { run(argv: string[], io: Io): Promise<number>; HELP: string };

/** Loads and runs the command `cmd` with its arguments `rest`; returns the exit code (an error is reported). */
export async function runCommand(cmd: string, load: () => Promise<Command>, rest: string[], io: Io): Promise<number> {
  try {
    const command = await load();
    return await command.run(rest, io);
  } catch (e) {
    return report(e, io, cmd);
  }
}

function report(e: unknown, io: Io, cmd: string): number {
  if (process.env['KPF_DEBUG'] === '1' && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  if (e instanceof ManifestError) {
    for (const d of e.diagnostics) {
      if (d.severity === 'error') io.stderr.write(`error: ${formatDiagnostic(d)}\n`);
    }
    return e.exitCode;
  }
  if (e instanceof KpfError) {
    io.stderr.write(`error: ${e.message}\n`);
    if (e.code === 'KPF_ERR_USAGE') io.stderr.write(`See 'kpf ${cmd} --help' for usage.\n`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.stderr.write(`error: internal error in kpf ${cmd}: ${msg} (set KPF_DEBUG=1 for a stack trace)\n`);
  return 1;
}
