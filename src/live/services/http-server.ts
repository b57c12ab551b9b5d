/**
 * The pods' servers in live mode: a small nginx-like HTTP/1.1 server on each TCP container port of a pod (and
 * the outside world's sites), bound to the pod's IPs. Every request gets `200 OK` with a small HTML page naming
 * who answered (HEAD: the headers only), a `Server` header, and keep-alive with a short idle timeout.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

export const SERVER_HEADER = 'nginx (kpf live)';

export interface HttpBind {
  address: string;
  /** 0 = any (tests) */
  port: number;
}

export interface HttpServerOptions {
  binds: readonly HttpBind[];
  /** who answers: `namespace/pod` or a site name; shown in the page and the X-Served-By header */
  label: string;
  /** keep-alive idle timeout (ms, default 5 s) */
  keepAliveMs?: number;
}

/** The page served: nginx's welcome page, shortened, naming the server. */
export function pageFor(label: string): string {
  const esc = label.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1>\n<p>Served by ${esc} (kpf live).</p></body></html>\n`;
}

export class PodHttpServer {
  private readonly servers: Server[] = [];
  readonly bound: HttpBind[] = [];
  requests = 0;

  constructor(readonly opts: HttpServerOptions) {}

  private handle(method: string | undefined, res: ServerResponse): void {
    this.requests++;
    const body = Buffer.from(pageFor(this.opts.label));
    res.statusCode = 200;
    res.setHeader('Server', SERVER_HEADER);
    res.setHeader('Content-Type', 'text/html');
    res.setHeader('Content-Length', body.length);
    res.setHeader('X-Served-By', this.opts.label);
    res.end(method === 'HEAD' ? undefined : body);
  }

  async start(): Promise<void> {
    for (const b of this.opts.binds) {
      if (!isIP(b.address)) throw new Error(`invalid bind address ${b.address}`);
      const s = createServer((req, res) => {
        req.resume();
        req.on('end', () => this.handle(req.method, res));
      });
      s.keepAliveTimeout = this.opts.keepAliveMs ?? 5000;
      s.headersTimeout = 10_000;
      s.requestTimeout = 10_000;
      this.servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host: b.address, port: b.port, exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const a = s.address();
      this.bound.push({ address: b.address, port: typeof a === 'object' && a ? a.port : b.port });
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
    this.servers.length = 0;
  }
}
