// A minimal HTTP health endpoint for services that have no HTTP server of their own, so
// Kubernetes probes can ask them: /healthz (process alive) and /readyz (serving).
import { createServer, type Server } from 'node:http';

export interface HealthProbe {
  /** True while the service can do its job (NATS connected, started, not stopping). */
  ready(): boolean;
}

export async function serveHealthHttp(host: string, port: number, probe: HealthProbe): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.url === '/readyz') {
      const ok = probe.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
