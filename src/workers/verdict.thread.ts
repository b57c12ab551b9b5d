/**
 * The replay worker's thread script when dist/ is built (workers/pool.ts workerFile): the worker module and everything
 * it imports come from one bundle in the CommonJS shape (dist/workers/verdict.worker.bundle.cjs, scripts/bundle.mjs),
 * run with V8's code cache (core/bundle.ts runScriptBundle). Node 20 keeps no code cache for ES modules, so a thread
 * that imported the worker module compiled every function it ran the first time it ran it: the general path's ~100
 * functions, first called by a batch's first declined packet, took ~4-5 ms of the first batch, which every later
 * batch waits for. The cache is saved (when missing or rejected) after the replay's last task, the stats, so that it
 * holds everything a replay compiled. From dist/ it runs as dist/workers/verdict.thread.cjs (this module and
 * core/bundle.js in the CommonJS shape, scripts/bundle.mjs), so that the thread starts no ES module loader: its boot
 * to a first answer ~31-34 → ~28 ms.
 */
import { runScriptBundle } from '../core/bundle.js';
import type * as Worker from './verdict.worker.js';

type Task = Parameters<typeof Worker.default>[0];

// synchronously: piscina loads this module with require first (see runScriptBundle)
const bundle = runScriptBundle<typeof Worker>(new URL('./verdict.worker.bundle.cjs', import.meta.url));
const classifyTask = bundle.exports.default;

export default function verdictTask(task: Task): ReturnType<typeof Worker.default> {
  const r = classifyTask(task);
  if ('stats' in task) bundle.saveCache();
  return r;
}
