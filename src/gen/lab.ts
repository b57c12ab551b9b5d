/**
 * The lab's traffic as a capture (`kpf gen lab`): every connection of the lab's connectivity procedure
 * (src/lab/run.ts) as a full exchange, as seen on the client pod's side of the node — like `tcpdump` on the
 * client's veth after kube-proxy: requests go to the ClusterIP, replies come from the ClusterIP.
 *
 *   #  client               check      exchange (client → server)                               packets
 *   1  prod-nginx/debug     dns        DNS A my-nginx-clusterip.prod-nginx.svc.cluster.local → kube-dns:53/UDP    2
 *   2  prod-nginx/debug     service    HTTP GET / → my-nginx-clusterip ClusterIP:80/TCP                          10
 *   3  prod-nginx/debug     podIP      HTTP GET / → first nginx pod IP:80/TCP (pods sorted by name)              10
 *   4  prod-nginx/debug     external   DNS A cloudyuga.guru → kube-dns:53/UDP                                     2
 *   5  prod-nginx/debug     external   HTTP GET / → 203.0.113.80:80/TCP                                          10
 *   6  myhackns/othernspod  otherNs    DNS A my-nginx-clusterip.prod-nginx.svc.cluster.local → kube-dns:53/UDP    2
 *   7  myhackns/othernspod  otherNs    HTTP GET / → my-nginx-clusterip ClusterIP:80/TCP                          10
 *
 * A TCP exchange is SYN, SYN-ACK, ACK, request (PSH|ACK), ACK, response (PSH|ACK), ACK, FIN|ACK, FIN|ACK, ACK,
 * with the option set Linux uses (MSS, SACK_PERM, timestamps, window scale 7) and timestamps on every segment.
 * The commands are 2 s apart, starting at {@link LAB_CAPTURE_START} (2026-11-26T10:00:00Z); in-cluster round trips
 * take 80 µs, the external site 18 ms. Nothing is random: the output is the same byte for byte on every run.
 *
 * IPs come from the lab cluster as kpf builds it from all of examples/lab ({@link loadLabCluster}); a step's
 * cluster gives every pod the same IP (IPAM hashes names), so the capture replays against any step. Client ports
 * are those of run.ts (DNS 41000, HTTP 42000; the second DNS query of a pod uses 41001), so Service backends
 * are picked as the reference evaluator picks them.
 */
import { PassThrough } from 'node:stream';
import { buildCluster } from '../cluster/build.js';
import type { Cluster, Pod } from '../cluster/model.js';
import { ManifestError } from '../core/errors.js';
import { fnv1a32 } from '../core/hash.js';
import { EXTERNAL_SITE, labFiles, type Check } from '../lab/lab.js';
import { loadManifests } from '../manifests/index.js';
import { PcapWriter } from '../sinks/pcap-writer.js';
import { dnsQueryA, dnsResponseA } from './dns.js';
import { ipOfFamily, nextHopMac } from './endpoints.js';
import {
  frameSpec,
  ipBytes,
  macOf,
  PROTO_TCP,
  PROTO_UDP,
  synOptions,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  writeFrame,
  writeTsOption,
  type FrameSpec,
} from './packets.js';

/** 2026-11-26T10:00:00Z, in seconds since 1970: the time of the first packet of the lab capture. */
export const LAB_CAPTURE_START = Date.UTC(2026, 10, 26, 10, 0, 0) / 1000;

/** Client source ports, those of src/lab/run.ts (the second DNS query of a pod takes the next port). */
export const LAB_CLIENT_PORTS = { dns: 41000, http: 42000 } as const;

/** The DNS name every lab client looks up for the Service (what debug's search path tries first). */
export const LAB_SERVICE_FQDN = 'my-nginx-clusterip.prod-nginx.svc.cluster.local';

/**
 * One exchange of the lab capture, so that a replay of the capture can be mapped back to the lab's checks.
 *
 * - `check`: the lab check (src/lab/lab.ts {@link Check}) this exchange was generated for.
 * - `neededBy`: every check whose outcome, per run.ts, depends on this exchange being allowed — the first DNS
 *   lookup of debug serves both `dns` and `service`; the other exchanges serve only their own check. A check is
 *   "working" when every exchange with it in `neededBy` is allowed (all its packets delivered).
 * - `first` / `end`: the exchange's packets are records `first … end-1` (0-based, capture order); exchanges do not
 *   overlap and together cover the whole capture.
 * - `src`/`srcPort` → `dst`/`dstPort`: the client → server direction as captured (the ClusterIP for Services).
 *   Replies carry the same tuple reversed.
 */
export interface LabExchange {
  /** 0-based position in {@link LabCapture.exchanges} */
  index: number;
  check: Check;
  neededBy: readonly Check[];
  /** 'dns': UDP query + answer (2 packets); 'http': a full TCP connection with one GET (10 packets) */
  kind: 'dns' | 'http';
  /** the client pod, `namespace/name` */
  pod: string;
  /** what the lab runs, e.g. `curl http://my-nginx-clusterip` */
  what: string;
  /** for 'dns' the name asked, for 'http' the Host header */
  name: string;
  first: number;
  end: number;
  protocol: 'UDP' | 'TCP';
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/** One captured frame of the lab. */
export interface LabFrame {
  data: Uint8Array;
  /** seconds since 1970 */
  sec: number;
  /** nanoseconds (whole microseconds: the capture is written with µs resolution) */
  nsec: number;
}

/** The lab capture in memory: frames in order, and what they belong to. */
export interface LabCapture {
  frames: LabFrame[];
  exchanges: LabExchange[];
}

/** Loads examples/lab (every step) and builds the cluster the lab capture is addressed with. */
export async function loadLabCluster(): Promise<Cluster> {
  const loaded = await loadManifests(labFiles(), {});
  const built = buildCluster(loaded.objects, {});
  const diags = [...loaded.diagnostics, ...built.diagnostics];
  if (diags.some((d) => d.severity === 'error')) throw new ManifestError(diags);
  return built.cluster;
}

const HTTP_RTT_US = { cluster: 80, external: 18000 } as const;
const TTL = { pod: 64, external: 52 } as const;
const NGINX_BODY =
  '<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n<h1>Welcome to nginx!</h1>\n' +
  '<p>If you see this page, the nginx web server is successfully installed and working.</p>\n</body>\n</html>\n';

/** Builds frames for one client/server pair with per-host IP ID counters and TCP timestamp clocks. */
class Conversation {
  private readonly spec: FrameSpec = frameSpec();
  private readonly cIP: Uint8Array;
  private readonly sIP: Uint8Array;
  private readonly cMac: Uint8Array;
  private readonly sMac: Uint8Array;
  private cId: number;
  private sId: number;
  private readonly cTsBase: number;
  private readonly sTsBase: number;

  constructor(
    private readonly out: LabFrame[],
    private readonly t0: number,
    cluster: Cluster,
    client: Pod,
    src: string,
    dst: string,
    private readonly serverTtl: number,
  ) {
    this.cIP = ipBytes(src);
    this.sIP = ipBytes(dst);
    this.cMac = macOf(this.cIP);
    this.sMac = nextHopMac(cluster, client, dst, 4);
    const h = fnv1a32(`${src}>${dst}`);
    this.cId = h & 0xffff;
    this.sId = (h >>> 16) & 0xffff;
    this.cTsBase = fnv1a32(`ts:${src}`);
    this.sTsBase = fnv1a32(`ts:${dst}`);
  }

  /** TCP timestamp clock of a host, in ms (Linux: jiffies-based, randomised per connection since 4.10). */
  tsval(fromClient: boolean, tUs: number): number {
    return ((fromClient ? this.cTsBase : this.sTsBase) + Math.floor((this.t0 + tUs) / 1000)) >>> 0;
  }

  private emit(fromClient: boolean, tUs: number): void {
    const s = this.spec;
    s.src = fromClient ? this.cIP : this.sIP;
    s.dst = fromClient ? this.sIP : this.cIP;
    s.srcMac = fromClient ? this.cMac : this.sMac;
    s.dstMac = fromClient ? this.sMac : this.cMac;
    s.ttl = fromClient ? TTL.pod : this.serverTtl;
    s.ipId = fromClient ? this.cId++ & 0xffff : this.sId++ & 0xffff;
    s.df = true;
    const buf = new Uint8Array(1600);
    const n = writeFrame(buf, 0, s);
    const at = this.t0 + tUs;
    const sec = Math.floor(at / 1e6);
    this.out.push({ data: buf.slice(0, n), sec: LAB_CAPTURE_START + sec, nsec: (at - sec * 1e6) * 1000 });
  }

  udp(fromClient: boolean, tUs: number, cport: number, sport: number, payload: Uint8Array): void {
    const s = this.spec;
    s.proto = PROTO_UDP;
    s.sport = fromClient ? cport : sport;
    s.dport = fromClient ? sport : cport;
    s.payload = payload;
    s.payloadLen = payload.length;
    s.tcpOpts = null;
    s.tcpOptLen = 0;
    this.emit(fromClient, tUs);
  }

  tcp(
    fromClient: boolean, tUs: number, cport: number, sport: number, seq: number, ack: number, flags: number,
    window: number, opts: Uint8Array, payload: Uint8Array | null,
  ): void {
    const s = this.spec;
    s.proto = PROTO_TCP;
    s.sport = fromClient ? cport : sport;
    s.dport = fromClient ? sport : cport;
    s.seq = seq >>> 0;
    s.ack = ack >>> 0;
    s.flags = flags;
    s.window = window;
    s.tcpOpts = opts;
    s.tcpOptLen = opts.length;
    s.payload = payload;
    s.payloadLen = payload ? payload.length : 0;
    this.emit(fromClient, tUs);
  }
}

const enc = new TextEncoder();

function httpRequest(host: string): Uint8Array {
  return enc.encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n`);
}

function httpResponse(atSec: number): Uint8Array {
  const date = new Date(atSec * 1000).toUTCString();
  const body = enc.encode(NGINX_BODY);
  const head = enc.encode(
    'HTTP/1.1 200 OK\r\nServer: nginx/1.27.3\r\n' +
      `Date: ${date}\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\n` +
      // nginx's ETag is "<mtime hex>-<length hex>"
      `Last-Modified: Tue, 26 Nov 2024 15:55:00 GMT\r\nConnection: keep-alive\r\nETag: "6745ef54-${body.length.toString(16)}"\r\n` +
      'Accept-Ranges: bytes\r\n\r\n',
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function firstV4(p: Pod): string {
  const ip = ipOfFamily(p.ips, 4);
  if (!ip) throw new Error(`pod ${p.namespace}/${p.name} has no IPv4 address`);
  return ip;
}

/**
 * Generates the lab capture for `cluster` (normally {@link loadLabCluster}): frames and the exchange table.
 * Throws when the cluster lacks prod-nginx/debug, kube-dns, my-nginx-clusterip or the nginx pods. The
 * othernspod exchanges are left out when that pod does not exist.
 */
export function labTraffic(cluster: Cluster): LabCapture {
  const pod = (ns: string, name: string) => cluster.pods.find((p) => p.namespace === ns && p.name === name);
  const svcIP = (ns: string, name: string) =>
    cluster.services.find((s) => s.namespace === ns && s.name === name)?.clusterIPs.find((ip) => !ip.includes(':'));
  const debug = pod('prod-nginx', 'debug');
  const dnsIP = svcIP('kube-system', 'kube-dns');
  const serviceIP = svcIP('prod-nginx', 'my-nginx-clusterip');
  const nginx = cluster.pods.filter((p) => p.namespace === 'prod-nginx' && p.labels['app'] === 'nginx' && p.ips.length > 0);
  if (!debug || !dnsIP || !serviceIP || nginx.length === 0) {
    throw new Error('lab manifests are incomplete: need prod-nginx/debug, kube-dns, my-nginx-clusterip and nginx pods');
  }
  const podIP = firstV4(nginx[0]!);
  const frames: LabFrame[] = [];
  const exchanges: LabExchange[] = [];
  let dnsId = 0x3a5c;

  const dns = (t0: number, client: Pod, port: number, name: string, answer: string, check: Check, neededBy: Check[], what: string) => {
    const src = firstV4(client);
    const first = frames.length;
    const c = new Conversation(frames, t0, cluster, client, src, dnsIP, TTL.pod);
    const id = dnsId;
    dnsId = (dnsId * 31 + 7) & 0xffff;
    const cluster_ = name.endsWith('.cluster.local');
    c.udp(true, 0, port, 53, dnsQueryA(id, name));
    c.udp(false, cluster_ ? 420 : 9600, port, 53, dnsResponseA(id, name, ipBytes(answer), cluster_ ? 5 : 300, cluster_));
    exchanges.push({
      index: exchanges.length, check, neededBy, kind: 'dns', pod: `${client.namespace}/${client.name}`, what, name,
      first, end: frames.length, protocol: 'UDP', src, srcPort: port, dst: dnsIP, dstPort: 53,
    });
  };

  const http = (t0: number, client: Pod, dst: string, host: string, external: boolean, check: Check, what: string) => {
    const src = firstV4(client);
    const cport = LAB_CLIENT_PORTS.http;
    const first = frames.length;
    const c = new Conversation(frames, t0, cluster, client, src, dst, external ? TTL.external : TTL.pod);
    const rtt = external ? HTTP_RTT_US.external : HTTP_RTT_US.cluster;
    const isnC = fnv1a32(`isn:${src}:${cport}>${dst}:80`) >>> 0;
    const isnS = fnv1a32(`isn:${dst}:80>${src}:${cport}`) >>> 0;
    const req = httpRequest(host);
    const ts = (fromClient: boolean, tUs: number, ecr: number) => {
      const o = new Uint8Array(12);
      writeTsOption(o, 0, c.tsval(fromClient, tUs), ecr);
      return o;
    };
    const A = TCP_ACK;
    // 1-3: handshake
    let t = 0;
    const cTs0 = c.tsval(true, t);
    c.tcp(true, t, cport, 80, isnC, 0, TCP_SYN, 64240, synOptions(1460, 7, { val: cTs0, ecr: 0 }), null);
    t += rtt;
    const sTs0 = c.tsval(false, t);
    c.tcp(false, t, cport, 80, isnS, isnC + 1, TCP_SYN | A, 65160, synOptions(1460, 7, { val: sTs0, ecr: cTs0 }), null);
    t += 40;
    c.tcp(true, t, cport, 80, isnC + 1, isnS + 1, A, 502, ts(true, t, sTs0), null);
    // 4-7: request, ACK, response, ACK
    t += 80;
    const cTs1 = c.tsval(true, t);
    c.tcp(true, t, cport, 80, isnC + 1, isnS + 1, A | TCP_PSH, 502, ts(true, t, sTs0), req);
    t += rtt;
    const cAfterReq = isnC + 1 + req.length;
    c.tcp(false, t, cport, 80, isnS + 1, cAfterReq, A, 509, ts(false, t, cTs1), null);
    t += 260;
    const sTs1 = c.tsval(false, t);
    const resp = httpResponse(LAB_CAPTURE_START + Math.floor((t0 + t) / 1e6));
    c.tcp(false, t, cport, 80, isnS + 1, cAfterReq, A | TCP_PSH, 509, ts(false, t, cTs1), resp);
    const sAfterResp = isnS + 1 + resp.length;
    t += 40;
    c.tcp(true, t, cport, 80, cAfterReq, sAfterResp, A, 501, ts(true, t, sTs1), null);
    // 8-10: teardown (curl closes first)
    t += 160;
    const cTs2 = c.tsval(true, t);
    c.tcp(true, t, cport, 80, cAfterReq, sAfterResp, A | TCP_FIN, 501, ts(true, t, sTs1), null);
    t += rtt;
    const sTs2 = c.tsval(false, t);
    c.tcp(false, t, cport, 80, sAfterResp, cAfterReq + 1, A | TCP_FIN, 509, ts(false, t, cTs2), null);
    t += 40;
    c.tcp(true, t, cport, 80, cAfterReq + 1, sAfterResp + 1, A, 501, ts(true, t, sTs2), null);
    exchanges.push({
      index: exchanges.length, check, neededBy: [check], kind: 'http', pod: `${client.namespace}/${client.name}`,
      what, name: host, first, end: frames.length, protocol: 'TCP', src, srcPort: cport, dst, dstPort: 80,
    });
  };

  const S = 1_000_000;
  dns(0, debug, LAB_CLIENT_PORTS.dns, LAB_SERVICE_FQDN, serviceIP, 'dns', ['dns', 'service'], 'dig +search my-nginx-clusterip');
  http(2 * S, debug, serviceIP, 'my-nginx-clusterip', false, 'service', 'curl http://my-nginx-clusterip');
  http(4 * S, debug, podIP, podIP, false, 'podIP', 'curl http://$POD');
  dns(6 * S, debug, LAB_CLIENT_PORTS.dns + 1, EXTERNAL_SITE.name, EXTERNAL_SITE.ip, 'external', ['external'], `curl http://${EXTERNAL_SITE.name} (DNS)`);
  http(6 * S + 12_000, debug, EXTERNAL_SITE.ip, EXTERNAL_SITE.name, true, 'external', `curl http://${EXTERNAL_SITE.name}`);
  const other = pod('myhackns', 'othernspod');
  if (other && other.ips.length > 0) {
    dns(8 * S, other, LAB_CLIENT_PORTS.dns, LAB_SERVICE_FQDN, serviceIP, 'otherNs', ['otherNs'], 'curl my-nginx-clusterip.prod-nginx (DNS)');
    http(8 * S + 1_000, other, serviceIP, 'my-nginx-clusterip.prod-nginx', false, 'otherNs', 'curl my-nginx-clusterip.prod-nginx');
  }
  return { frames, exchanges };
}

/** The exchange table of the lab capture of `cluster` (see {@link LabExchange}). */
export function labExchanges(cluster: Cluster): LabExchange[] {
  return labTraffic(cluster).exchanges;
}

/** The lab capture as classic pcap bytes (little-endian, µs, LINKTYPE_ETHERNET, snaplen 262144). */
export async function labCaptureBytes(lab: LabCapture): Promise<Uint8Array> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const w = new PcapWriter(sink, { linkType: 1 });
  for (const f of lab.frames) {
    if (!w.write(f.data, 0, f.data.length, f.data.length, f.sec, f.nsec)) await w.drain();
  }
  await w.close();
  return new Uint8Array(Buffer.concat(chunks));
}
