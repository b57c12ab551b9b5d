#!/usr/bin/env node
// Builds the WebAssembly fast path (src/wasm/fast4.ts, AssemblyScript) into dist/wasm/fast4.wasm.
// Run by `npm run build` / `npm ci` (prepare) and before `npm test`; datapath/wasm-core.ts loads the result.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'wasm', 'fast4.wasm');
mkdirSync(dirname(out), { recursive: true });
const { error, stderr } = await asc.main(
  [
    join(root, 'src', 'wasm', 'fast4.ts'),
    '--outFile', out,
    '--optimizeLevel', '3',
    '--shrinkLevel', '0',
    '--noAssert',
    '--runtime', 'stub',
    '--importMemory',
    // shared (a SharedArrayBuffer): the replay's main thread reads a 1-worker replay's batches straight into the
    // worker's module memory (replay/engine.ts), so that the module classifies them where they are
    '--sharedMemory',
    '--maximumMemory', '65536',
    '--enable', 'threads',
    '--use', 'abort=',
  ],
  { stdout: process.stdout, stderr: process.stderr },
);
if (error) {
  process.stderr.write(`build-wasm: ${error.message}\n${stderr.toString()}`);
  process.exit(1);
}
