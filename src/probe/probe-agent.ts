/**
 * The prober of `kpf probe`, run inside a pod's network namespace as
 * `ip netns exec NS node probe-agent.js JOB` (JOB: base64 JSON {@link AgentJob}). It opens raw sockets (the
 * optional `raw-socket` package) in that namespace, sends every probe of the job, listens for the answers
 * (packets.ts says what counts as one) and prints one JSON line per probe ({@link AgentResult}), then exits.
 *
 * Bounded: every probe is sent up to 3 times (at 0, T/3 and 2T/3 while unanswered: a first packet can be lost while
 * ARP resolves, ICMP errors are rate limited), and the agent stops at T (`timeoutMs`) whatever came back.
 * IPv4 only: an IPv6 probe is answered `unsupported`.
 */
import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import { PROTO_NUMBER, icmpEcho, parseAnswer, sctpInit, tcpSyn, udpDatagram, withIPv4, type ProbeProto } from './packets.js';

export interface AgentProbe {
  id: number;
  proto: ProbeProto;
  dst: string;
  port?: number;
}

export interface AgentJob {
  /** the pod's address (source of the probes; the TCP/UDP checksums need it) */
  src: string;
  timeoutMs: number;
  probes: AgentProbe[];
}

export interface AgentResult {
  id: number;
  result: 'reachable' | 'unreachable' | 'unsupported' | 'error';
  how: string;
  /** ms from the first send to the answer */
  ms?: number;
  /** address the answer came from */
  from?: string;
}

interface RawSocket {
  on(ev: 'message', fn: (b: Buffer, from: string) => void): unknown;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  send(b: Buffer, off: number, len: number, addr: string, cb: (e: Error | null, n: number) => void): unknown;
  close(): unknown;
  setOption(level: number, option: number, value: number): unknown;
}

interface RawModule {
  createSocket(o: { addressFamily?: number; protocol?: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  SocketLevel: { IPPROTO_IP: number };
  SocketOption: { IP_HDRINCL: number };
}

export const RAW_SOCKET_MISSING =
  'kpf probe needs the optional package `raw-socket` (a native addon built from source by npm ci; it needs a C++ toolchain: ' +
  'Debian packages build-essential and python3), which is not installed or did not build: run `npm ci` again';

export function loadRawSocket(): RawModule {
  if (process.env['KPF_TEST_NO_RAW_SOCKET'] === '1') throw new Error(RAW_SOCKET_MISSING);
  try {
    return createRequire(import.meta.url)('raw-socket') as RawModule;
  } catch (e) {
    throw new Error(`${RAW_SOCKET_MISSING} (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, { cause: e });
  }
}

interface Pending {
  probe: AgentProbe;
  packet: Buffer;
  key: number;
  dport: number;
  sent: number;
  done: boolean;
}

export async function runJob(job: AgentJob, emit: (r: AgentResult) => void): Promise<void> {
  const raw = loadRawSocket();
  const sockets = new Map<ProbeProto, RawSocket>();
  const pending = new Map<string, Pending>();
  const all: Pending[] = [];
  const start = Date.now();
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const left = (): number => all.filter((p) => !p.done).length;
  const settle = (p: Pending, r: Omit<AgentResult, 'id'>): void => {
    if (p.done) return;
    p.done = true;
    emit({ id: p.probe.id, ...r });
    if (left() === 0) finish();
  };
  const socketFor = (proto: ProbeProto): RawSocket => {
    let s = sockets.get(proto);
    if (s) return s;
    s = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: PROTO_NUMBER[proto], bufferSize: 1 << 16 });
    // probes carry their own IPv4 header: the pod's address as the source, always
    s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
    s.on('message', (b: Buffer) => {
      const a = parseAnswer(b);
      if (!a) return;
      const p = pending.get(`${a.proto}:${a.key}:${a.dport}`);
      if (!p || p.done) return;
      settle(p, { result: a.reachable ? 'reachable' : 'unreachable', how: a.how, ms: Date.now() - start, from: a.from });
    });
    s.on('error', () => {
      /* a receive error ends nothing: the probes time out */
    });
    sockets.set(proto, s);
    // answers of every protocol may come as ICMP errors
    if (proto !== 'ICMP') socketFor('ICMP');
    return s;
  };

  // ports and ids unique within the job, so that an answer names its probe without looking at addresses
  // (an answer from a Service's backend may carry the backend's or the ClusterIP's address)
  const base = 20000 + Math.floor(Math.random() * 20000);
  const echoId = Math.floor(Math.random() * 0xffff);
  job.probes.forEach((probe, i) => {
    if (!isIPv4(probe.dst) || !isIPv4(job.src)) {
      emit({ id: probe.id, result: 'unsupported', how: 'IPv6 probes are not implemented' });
      return;
    }
    const sport = base + i;
    let packet: Buffer;
    let key = sport;
    let dport = probe.port ?? 0;
    const rnd = (): number => Math.floor(Math.random() * 0xffffffff);
    switch (probe.proto) {
      case 'TCP':
        packet = tcpSyn(job.src, probe.dst, sport, dport, rnd());
        break;
      case 'UDP':
        packet = udpDatagram(job.src, probe.dst, sport, dport);
        break;
      case 'SCTP':
        packet = sctpInit(sport, dport, rnd(), rnd());
        break;
      case 'ICMP':
        key = ((echoId << 16) | (i & 0xffff)) >>> 0;
        dport = 0;
        packet = icmpEcho(echoId, i);
        break;
    }
    packet = withIPv4(PROTO_NUMBER[probe.proto], job.src, probe.dst, packet);
    const p: Pending = { probe, packet, key, dport, sent: 0, done: false };
    pending.set(`${probe.proto}:${key}:${dport}`, p);
    all.push(p);
  });
  if (all.length === 0) return;

  const send = (p: Pending): void => {
    if (p.done) return;
    p.sent++;
    try {
      socketFor(p.probe.proto).send(p.packet, 0, p.packet.length, p.probe.dst, (e) => {
        if (e && !p.done) settle(p, { result: 'unreachable', how: `send failed: ${e.message}`, ms: Date.now() - start });
      });
    } catch (e) {
      settle(p, { result: 'error', how: e instanceof Error ? e.message : String(e) });
    }
  };
  const T = Math.max(100, job.timeoutMs);
  const timers: NodeJS.Timeout[] = [];
  for (const p of all) send(p);
  timers.push(setTimeout(() => all.forEach(send), Math.round(T / 3)));
  timers.push(setTimeout(() => all.forEach(send), Math.round((2 * T) / 3)));
  timers.push(
    setTimeout(() => {
      for (const p of all) {
        // an INIT to the pod's own address meets this prober's raw SCTP socket: a kernel without SCTP then says
        // nothing (no protocol unreachable while a raw socket takes the protocol), so silence tells nothing there
        if (p.probe.proto === 'SCTP' && p.probe.dst === job.src) settle(p, { result: 'unsupported', how: `no answer from the own address in ${T} ms (a kernel without SCTP cannot answer while the prober holds a raw SCTP socket)` });
        else settle(p, { result: 'unreachable', how: `no answer in ${T} ms (${p.sent} sent)` });
      }
      finish();
    }, T),
  );
  await finished;
  for (const t of timers) clearTimeout(t);
  for (const s of sockets.values()) s.close();
}

async function main(): Promise<void> {
  const out = (x: unknown): void => {
    process.stdout.write(JSON.stringify(x) + '\n');
  };
  try {
    const arg = process.argv[2];
    if (!arg) throw new Error('usage: probe-agent JOB (base64 JSON)');
    const job = JSON.parse(Buffer.from(arg, 'base64').toString('utf8')) as AgentJob;
    await runJob(job, (r) => out(r));
    out({ done: true });
    process.exit(0);
  } catch (e) {
    out({ error: e instanceof Error ? e.message : String(e) });
    process.exit(2);
  }
}

if (process.argv[1] && /probe-agent\.(ts|js)$/.test(process.argv[1])) void main();
