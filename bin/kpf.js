#!/usr/bin/env node
// kpf command-line entry: runs the compiled CLI from dist/ (built by `npm ci` / `npm run build`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('error: kpf is not built yet: run `npm ci` (or `npm run build`) in the checkout\n');
    process.exit(1);
  }
  throw e;
}
// a closed pipe (`kpf get pods -A | head`) ends the output quietly, as for other Unix tools
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { processIo } = await import('../dist/cli/io.js');
process.exitCode = await cli.main(process.argv.slice(2), processIo());
