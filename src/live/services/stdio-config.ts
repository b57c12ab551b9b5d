/**
 * The control protocol of the runnable service entries (dns-main.ts, http-main.ts), started inside a pod's network
 * namespace with `ip netns exec NS node ENTRY`:
 *
 *   stdin   one JSON configuration per line: the first starts the service, a later one replaces its data (where the
 *           service supports it); end of stdin (the parent exited, even when SIGKILLed) stops the service
 *   stdout  one JSON line per event: {"ready":true,…} once every socket is bound, {"error":"…"} on a failure
 *           (then exit 1), {"updated":true} after a replacement
 *
 * so a service never outlives the kpf process that started it.
 */
import { createInterface } from 'node:readline';

export interface ServiceMain<C> {
  start(config: C): Promise<Record<string, unknown>>;
  update?(config: C): void;
  stop(): Promise<void>;
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

/** Runs a service entry under the stdin/stdout protocol above. */
export function runServiceMain<C>(svc: ServiceMain<C>): void {
  let started = false;
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(code), 2000);
    hard.unref();
    void svc
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let config: C;
    try {
      config = JSON.parse(line) as C;
    } catch (e) {
      emit({ error: `bad configuration line: ${(e as Error).message}` });
      stop(1);
      return;
    }
    if (!started) {
      started = true;
      svc.start(config).then(
        (info) => emit({ ready: true, pid: process.pid, ...info }),
        (e: unknown) => {
          emit({ error: e instanceof Error ? e.message : String(e) });
          stop(1);
        },
      );
    } else if (svc.update) {
      svc.update(config);
      emit({ updated: true });
    }
  });
  rl.on('close', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
}
