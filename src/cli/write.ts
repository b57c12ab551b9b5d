/**
 * Writes to an output stream with back-pressure: when the stream's buffer is full, waits for 'drain' so that a slow
 * consumer never makes memory grow.
 */
type Sink = { write(s: string): unknown; once?: (ev: 'drain' | 'close' | 'error', f: () => void) => unknown; writableNeedDrain?: boolean };

export async function writeOut(out: Sink, s: string): Promise<void> {
  const ok = out.write(s);
  if (ok === false && typeof out.once === 'function') {
    await new Promise<void>((resolve) => {
      out.once!('drain', resolve);
      out.once!('close', resolve);
      out.once!('error', resolve);
    });
  }
}
