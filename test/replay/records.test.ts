/**
 * replay/records.ts rfc3339: the time of every record, formatted from the second's text kept for the records of the
 * same second: each record still gets its own time, across seconds, back in time and forward again.
 */
import t from 'tap';
import { rfc3339 } from '../../src/replay/records.js';

t.test('rfc3339: each record its own time, across seconds and back', async (t) => {
  const cases: Array<[number, number, string]> = [
    [1764151200, 0, '2025-11-26T10:00:00.000000000Z'],
    [1764151200, 999999999, '2025-11-26T10:00:00.999999999Z'],
    [1764151201, 5, '2025-11-26T10:00:01.000000005Z'],
    [1764151200, 42, '2025-11-26T10:00:00.000000042Z'],
    [0, 1000, '1970-01-01T00:00:00.000001000Z'],
    [-1, 999999999, '1969-12-31T23:59:59.999999999Z'],
    [1764151201.5, 7, '2025-11-26T10:00:01.000000007Z'],
    [1764151201, 7, '2025-11-26T10:00:01.000000007Z'],
  ];
  for (const [s, ns, want] of cases) t.equal(rfc3339(s, ns), want, `${s} ${ns}`);
  // against the Date of every time, over a walk that goes back and forth across seconds and days
  let sec = 1764151199;
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    sec += [0, 0, 0, 1, -1, 86400, -3][i % 7]!;
    const ns = (i * 7919) % 1e9;
    const want = `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(ns).padStart(9, '0')}Z`;
    if (rfc3339(sec, ns) !== want) bad++;
  }
  t.equal(bad, 0, '5000 times as Date formats them');
});
