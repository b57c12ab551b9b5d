#!/usr/bin/env node
// kpf's command-line entry in the CommonJS shape, which bin/kpf runs. From a built checkout `kpf replay` runs from its
// one-file bundle with V8's code cache (dist/cli/boot.cjs, cli/boot.ts), and Node starts no ES module loader for it;
// every other command, and a replay without that bundle (no esbuild at build time, or a later plain `tsc` made it
// stale), runs from bin/kpf.js, which imports the compiled modules.
'use strict';
const { existsSync } = require('node:fs');
const boot = `${__dirname}/../dist/cli/boot.cjs`;
if (!(process.argv[2] === 'replay' && existsSync(boot) && require(boot).bootCli())) import('./kpf.js');
