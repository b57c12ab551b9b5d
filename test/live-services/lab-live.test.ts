/**
 * End to end: `runLabLive` runs the lab with real dig and curl between namespaces kpf forwards through the compiled
 * dataplane, and every outcome matches the lab's Results lines and the reference evaluator. Needs root,
 * /dev/net/tun, ip, dig (dnsutils) and curl: skipped with the reason when any is missing, failed instead when
 * KPF_REQUIRE_LIVE=1. Whatever it creates (namespaces, processes, /etc/netns entries) is removed, on failure too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import t from 'tap';
import { LAB_STEPS } from '../../src/lab/lab.js';
import { labLiveMissing, runLabLive } from '../../src/lab/live.js';
import { runLab } from '../../src/lab/run.js';
import { NETNS_PREFIX, OWNER_DIR, listNetns, readOwner } from '../../src/live/netns.js';
import { ClusterServices } from '../../src/live/services/cluster-services.js';
import { loadStepCluster } from '../../src/lab/run.js';

const require = process.env['KPF_REQUIRE_LIVE'] === '1';
const missing = labLiveMissing();
const skip = missing.length && !require ? `live mode needs ${missing.join(', ')}` : false;

/** kpf- namespaces and /etc/netns/kpf-* entries this process owns (nothing of another run). */
function leftovers(): string[] {
  const mine = listNetns().filter((n) => n.startsWith(NETNS_PREFIX) && readOwner(n)?.pid === process.pid);
  const etc = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(NETNS_PREFIX) && mine.includes(n)) : [];
  const owners = existsSync(OWNER_DIR) ? readdirSync(OWNER_DIR).filter((n) => readOwner(n)?.pid === process.pid) : [];
  return [...mine, ...etc.map((n) => `/etc/netns/${n}`), ...owners.map((n) => `${OWNER_DIR}/${n}`)];
}

t.test('prerequisites', { skip: require ? false : 'only with KPF_REQUIRE_LIVE=1' }, async (t) => {
  t.same(missing, [], 'everything live mode needs is here');
});

t.test('a failed start removes the /etc/netns entries it wrote', { skip }, async (t) => {
  const { cluster } = await loadStepCluster(0);
  const bogus = 'kpf-lsvt' + String(process.pid % 1e6).padStart(6, '0');
  t.teardown(() => rmSync(`/etc/netns/${bogus}`, { recursive: true, force: true }));
  t.notOk(listNetns().includes(bogus), 'no such namespace');
  // the DNS pod's server cannot start in a namespace that does not exist
  await t.rejects(
    ClusterServices.start(cluster, { netnsOf: (p) => (p.namespace === 'kube-system' || p.name === 'debug' ? bogus : undefined), readyTimeoutMs: 10_000 }),
    /exited|not ready/,
  );
  t.notOk(existsSync(`/etc/netns/${bogus}`), `/etc/netns/${bogus} removed`);
});

t.test('kpf lab --live: real dig and curl through the live dataplane match the lab', { skip, timeout: 240_000 }, async (t) => {
  t.teardown(() => {
    // runLabLive cleans up itself (checked below); this is the last resort for a failure half-way
    for (const n of listNetns().filter((x) => x.startsWith(NETNS_PREFIX) && readOwner(x)?.pid === process.pid)) {
      spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore', timeout: 10_000 });
      rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
      rmSync(`${OWNER_DIR}/${n}`, { force: true });
    }
  });
  const reference = await runLab();
  const log: string[] = [];
  const t0 = Date.now();
  // another kpf live on this machine (a parallel test) holds the kpf- namespaces: wait for it rather than fail
  const steps = await runLabLive({ log: (l) => log.push(l), waitForOtherMs: 150_000, names: 'unique' });
  const ms = Date.now() - t0;
  t.comment(log.join('\n'));
  t.equal(steps.length, LAB_STEPS.length, 'every step ran');
  for (const s of steps) {
    const ref = reference.find((r) => r.step.index === s.step.index)!;
    t.same(s.policies, ref.policies, `step ${s.step.index}: policies in force`);
    t.same(
      s.results.map((r) => r.check),
      ref.results.map((r) => r.check),
      `step ${s.step.index}: the same checks as kpf lab`,
    );
    for (const r of s.results) {
      const why = r.steps.map((p) => `${p.what}: ${p.detail}`).join('; ');
      t.ok(r.ok, `step ${s.step.index} ${r.label}: ${r.outcome}${r.expected ? ` (lab: ${r.expected})` : ''} — ${why}`);
      t.equal(r.outcome, ref.results.find((x) => x.check === r.check)?.outcome, `step ${s.step.index} ${r.label} agrees with the reference evaluator`);
    }
  }
  // the lab's Results lines, step by step
  for (const step of LAB_STEPS) {
    const s = steps.find((x) => x.step.index === step.index)!;
    for (const [check, outcome] of Object.entries(step.expected)) {
      t.equal(s.results.find((r) => r.check === check)?.outcome, outcome, `step ${step.index}: ${check} ${outcome}, as the lab states`);
    }
  }
  t.ok(steps[5]!.results.some((r) => r.check === 'otherNs' && r.outcome === 'working'), 'othernspod reaches nginx in step 5');
  t.ok(ms < 120_000, `the lab took ${ms} ms (< 2 min, waiting for another run included)`);
  t.same(leftovers(), [], 'namespaces, owner files and /etc/netns entries removed');
});
