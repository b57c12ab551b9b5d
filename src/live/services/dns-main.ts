/**
 * Runnable cluster DNS: `ip netns exec NS node dist/src/live/services/dns-main.js` with the configuration on stdin
 * (stdio-config.ts): `{"addresses":["10.244.58.128"],"port":53,"zone":{…DnsZoneData}}`. A later line with a new
 * `zone` replaces the records. Serves until stdin closes or SIGTERM.
 */
import { DnsServer, type DnsZoneData } from './dns-server.js';
import { runServiceMain } from './stdio-config.js';

export interface DnsMainConfig {
  addresses: string[];
  port?: number;
  zone: DnsZoneData;
}

let server: DnsServer | undefined;
runServiceMain<DnsMainConfig>({
  async start(c) {
    server = new DnsServer(c.zone, { addresses: c.addresses, port: c.port ?? 53 });
    await server.start();
    return { service: 'dns', bound: server.bound };
  },
  update(c) {
    server?.setZone(c.zone);
  },
  async stop() {
    await server?.close();
  },
});
