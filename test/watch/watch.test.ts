/**
 * kpf watch on a veth pair between two test namespaces: a TCP connect the policy allows (client → server:80) and
 * one it denies (client → server:81) are captured on the client's end and get FORWARDED / DROPPED flow records.
 * Nothing listens on the server: the kernel answers both SYNs with a RST (watch enforces nothing).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { run } from '../../src/cli/commands/watch.js';
import { capAvailable } from '../../src/watch/cap.js';
import type { FlowRecord } from '../../src/replay/records.js';
import { failUnless, gate, makePair, netnsUnavailable, nodeArgs } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'cli-child.ts');
const CLIENT = '198.18.0.1';
const SERVER = '198.18.0.2';

const WHY = netnsUnavailable() ?? (capAvailable() ? null : 'the optional package cap is not built (needs the Debian package libpcap-dev, then npm ci)');

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: watch, labels: {kubernetes.io/metadata.name: watch}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: watch, labels: {app: client}}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running, podIP: ${CLIENT}, podIPs: [{ip: ${CLIENT}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: watch, labels: {app: server}}
spec: {containers: [{name: c, image: nginx}]}
status: {phase: Running, podIP: ${SERVER}, podIPs: [{ip: ${SERVER}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-80-from-client, namespace: watch}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 80}]
`;

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

t.test('usage errors and a missing cap', async (t) => {
  const a = io();
  await t.rejects(run(['-f', 'x.yaml'], a.io), { code: 'KPF_ERR_USAGE' }, 'no -i');
  await t.rejects(run(['-i', 'lo', '-f', 'x.yaml', '--count', '0'], a.io), { code: 'KPF_ERR_USAGE' }, 'bad --count');
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'm.yaml');
  writeFileSync(f, MANIFESTS);
  process.env['KPF_TEST_NO_CAP'] = '1';
  t.teardown(() => delete process.env['KPF_TEST_NO_CAP']);
  const b = io();
  await t.rejects(run(['-i', 'lo', '-f', f, '--pod-cidr', '198.18.0.0/15'], b.io), { code: 'KPF_ERR_WATCH', exitCode: 1, message: /libpcap-dev.*npm ci/ }, 'says how to get cap');
  const help = io();
  t.equal(await run(['--help'], help.io), 0);
  t.match(help.out.stdout, /kpf watch -i IFACE/);
});

t.test('verdicts of an allowed and a denied connection on a veth', gate(WHY), async (t) => {
  if (!failUnless(t, WHY)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'm.yaml');
  writeFileSync(f, MANIFESTS);
  const p = makePair(t.teardown.bind(t), [CLIENT], [SERVER]);

  const child = spawn('ip', ['netns', 'exec', p.nsA, process.execPath, ...nodeArgs(CHILD), 'watch', '-i', p.devA, '-f', f, '--pod-cidr', '198.18.0.0/15', '-o', 'json', '--filter', 'tcp', '--duration', '60'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (what: () => boolean, ms: number, label: string): Promise<void> => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      if (child.exitCode !== null) throw new Error(`kpf watch exited (${child.exitCode}) early\nstderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => /capturing on/.test(stderr), 30_000, 'capture start');

  // connects from the client's namespace: both refused by the server's kernel (RST), nothing listens
  const connect = (port: number) =>
    spawnSync('ip', ['netns', 'exec', p.nsA, process.execPath, '-e',
      `const s=require('net').connect({host:'${SERVER}',port:${port},timeout:3000});s.on('connect',()=>{s.destroy();process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)})`,
    ], { encoding: 'utf8', timeout: 15_000 });
  const records = (): FlowRecord[] =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as FlowRecord);
  const syn = (port: number) => records().find((r) => r.dst_port === port && r.dst_ip === SERVER && r.tcp_flags === 'SYN');
  t.match(connect(80).stdout, /ECONNREFUSED/, 'the kernel refuses :80 (watch does not enforce)');
  t.match(connect(81).stdout, /ECONNREFUSED/, 'the kernel refuses :81 (watch does not enforce)');
  await until(() => syn(80) !== undefined && syn(81) !== undefined, 15_000, 'the SYN records');

  child.kill('SIGINT');
  t.equal(await exited, 0, 'clean stop on SIGINT');
  t.match(stderr, /stopping \(SIGINT\)/);

  const allowed = syn(80)!;
  t.match(allowed, { verdict: 'FORWARDED', src_ip: CLIENT, src_pod: 'watch/client', dst_pod: 'watch/server', protocol: 'TCP', new_connection: true });
  t.match(allowed.allowed_by, [{ direction: 'ingress', policy: 'watch/server-80-from-client', rule: 0 }]);
  const denied = syn(81)!;
  t.match(denied, { verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', src_pod: 'watch/client', dst_pod: 'watch/server' });
  t.match(denied.denied_by, [{ direction: 'ingress', policies: ['watch/server-80-from-client'] }]);
  t.match(stderr, /packets: \d+ would be forwarded, [1-9]\d* would be dropped/);
});

t.test('--count stops by itself; an unknown device or a bad filter is a clear error', gate(WHY), async (t) => {
  if (!failUnless(t, WHY)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'kpf-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'm.yaml');
  writeFileSync(f, MANIFESTS);
  const p = makePair(t.teardown.bind(t), [CLIENT], [SERVER]);
  const args = (extra: string[]) => ['netns', 'exec', p.nsA, process.execPath, ...nodeArgs(CHILD), 'watch', '-f', f, '--pod-cidr', '198.18.0.0/15', '-o', 'compact', ...extra];
  const bad = spawnSync('ip', args(['-i', 'kpft-nosuchdev']), { encoding: 'utf8', timeout: 60_000 });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /error: cannot capture on kpft-nosuchdev: no such device/);
  const badFilter = spawnSync('ip', args(['-i', p.devA, '--filter', 'no such filter (']), { encoding: 'utf8', timeout: 60_000 });
  t.equal(badFilter.status, 1, 'a bad filter is an error (and no crash)');
  t.match(badFilter.stderr, /error: cannot capture on .*: .*syntax error/);

  const child = spawn('ip', args(['-i', p.devA, '--count', '3', '--duration', '60']), { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const end = Date.now() + 30_000;
  while (!/capturing on/.test(stderr) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  // traffic until watch has its 3 packets: pings of the kernel answered by the kernel (ICMP echo through node dgram-less: TCP SYNs)
  for (let i = 0; i < 10 && child.exitCode === null; i++) {
    spawnSync('ip', ['netns', 'exec', p.nsA, process.execPath, '-e', `require('net').connect({host:'${SERVER}',port:${9000 + i}}).on('error',()=>{})`], { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(await exited, 0, 'exits by itself after --count');
  t.match(stderr, /stopping \(--count 3\)/);
  t.equal(stdout.trim().split('\n').length, 3, 'three records');
});
