// Hands out free loopback TCP ports so fixtures never depend on fixed ports.
import { createServer } from 'node:net';

// The OS may hand the same ephemeral port back right after it is closed; remembering recent
// ones keeps two fixtures in one process from being given the same port before either binds it.
const recent: number[] = [];
const RECENT_LIMIT = 256;

function bindAndRelease(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err) => reject(new Error(`freePort: cannot bind 127.0.0.1:0: ${err.message}`)));
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`freePort: unexpected listen address ${String(address)}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindAndRelease();
    if (!recent.includes(port)) {
      recent.push(port);
      if (recent.length > RECENT_LIMIT) recent.shift();
      return port;
    }
  }
  throw new Error('freePort: the OS kept returning recently used ports');
}
