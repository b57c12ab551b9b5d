#!/usr/bin/env node
// kpf command-line entry (an ES module): runs the compiled CLI from dist/ (built by `npm ci` / `npm run build`).
// `kpf replay` runs from its one-file bundle when there is one (dist/cli/boot.cjs, cli/boot.ts); bin/kpf (the `kpf`
// command) starts from bin/kpf.cjs, which does the same without Node's ES module loader.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const boot = new URL('../dist/cli/boot.cjs', import.meta.url);
if (!(process.argv[2] === 'replay' && existsSync(boot) && createRequire(import.meta.url)(fileURLToPath(boot)).bootCli())) {
  let entry;
  try {
    entry = await import('../dist/cli/entry.js');
  } catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write('error: kpf is not built yet: run `npm ci` (or `npm run build`) in the checkout\n');
      process.exit(1);
    }
    throw e;
  }
  await entry.start(process.argv.slice(2));
}
