/** The pods' nginx-like HTTP server (loopback, no root). */
import { request } from 'node:http';
import t from 'tap';
import { PodHttpServer, SERVER_HEADER, pageFor } from '../../src/live/services/http-server.js';

function get(port: number, method = 'GET', path = '/'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

t.test('200 OK with a small page, a Server header and who answered, on every bound port', async (t) => {
  const s = new PodHttpServer({ label: 'prod-nginx/nginx-1', binds: [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0 }] });
  await s.start();
  t.teardown(() => s.close());
  t.equal(s.bound.length, 2);
  for (const b of s.bound) {
    const r = await get(b.port, 'GET', '/any/path?x=1');
    t.equal(r.status, 200);
    t.equal(r.headers['server'], SERVER_HEADER);
    t.equal(r.headers['x-served-by'], 'prod-nginx/nginx-1');
    t.equal(r.body, pageFor('prod-nginx/nginx-1'));
    t.match(r.body, /Welcome to nginx!/);
    t.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  }
  const head = await get(s.bound[0]!.port, 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.body, '');
  t.equal(s.requests, 3);
});

t.test('the label is escaped in the page', async (t) => {
  t.match(pageFor('<a&b>'), /&lt;a&amp;b&gt;/);
});

t.test('close stops listening; a taken port fails the start', async (t) => {
  const a = new PodHttpServer({ label: 'a', binds: [{ address: '127.0.0.1', port: 0 }] });
  await a.start();
  const port = a.bound[0]!.port;
  const b = new PodHttpServer({ label: 'b', binds: [{ address: '127.0.0.1', port }] });
  await t.rejects(b.start(), /EADDRINUSE/);
  await b.close();
  await a.close();
  await t.rejects(get(port), /ECONNREFUSED/);
  await t.rejects(new PodHttpServer({ label: 'c', binds: [{ address: 'nope', port: 80 }] }).start(), /invalid bind address/);
});
