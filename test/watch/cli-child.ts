/**
 * Runs `kpf watch` or `kpf probe` in a child process (inside a namespace: `ip netns exec NS node … cli-child.ts
 * watch ARGS…`), with the error handling of src/cli/main.ts: KpfError → `error: message`, its exit code.
 */
import { KpfError, ManifestError, formatDiagnostic } from '../../src/core/errors.js';
import { processIo } from '../../src/cli/io.js';

const [cmd, ...rest] = process.argv.slice(2);
if (cmd !== 'watch' && cmd !== 'probe') {
  // run by the test runner itself (`tap test/watch`): a helper, not a test
  process.stdout.write('1..0 # SKIP helper of the watch and probe tests, not a test\n');
  process.exit(0);
}
try {
  const mod = cmd === 'watch' ? await import('../../src/cli/commands/watch.js') : await import('../../src/cli/commands/probe.js');
  process.exitCode = await mod.run(rest, processIo());
} catch (e) {
  if (e instanceof ManifestError) {
    for (const d of e.diagnostics) process.stderr.write(`error: ${formatDiagnostic(d)}\n`);
    process.exitCode = e.exitCode;
  } else if (e instanceof KpfError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}
