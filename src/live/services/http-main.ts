/**
 * Runnable pod HTTP server: `ip netns exec NS node dist/src/live/services/http-main.js` with the configuration on
 * stdin (stdio-config.ts): `{"label":"prod-nginx/nginx-…","binds":[{"address":"10.244.64.100","port":80}]}`.
 * Serves until stdin closes or SIGTERM.
 */
import { PodHttpServer, type HttpServerOptions } from './http-server.js';
import { runServiceMain } from './stdio-config.js';

let server: PodHttpServer | undefined;
runServiceMain<HttpServerOptions>({
  async start(c) {
    server = new PodHttpServer(c);
    await server.start();
    return { service: 'http', bound: server.bound };
  },
  async stop() {
    await server?.close();
  },
});
