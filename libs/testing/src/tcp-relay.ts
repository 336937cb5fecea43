// A TCP relay to put between a client and a server in integration tests, so a test can cut
// the network for real: `cut()` destroys every relayed connection (both sides see the TCP
// connection end, as after a network failure), `down()` also refuses new ones until `up()`.
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { freePort } from './ports.js';

export interface TcpRelay {
  /** The relay's own loopback port: point the client at 127.0.0.1:<port>. */
  readonly port: number;
  /** Connections accepted so far (refused ones not counted). */
  readonly accepted: number;
  /** Relayed connections open now. */
  readonly open: number;
  /** Destroys every relayed connection; new ones are still accepted. */
  cut(): void;
  /** Cuts, and refuses (resets) new connections until `up()`. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { port: number; host?: string }): Promise<TcpRelay> {
  const port = await freePort();
  const host = target.host ?? '127.0.0.1';
  let isDown = false;
  let accepted = 0;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = tcpConnect(target.port, host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const cut = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cut,
    down() {
      isDown = true;
      cut();
    },
    up() {
      isDown = false;
    },
    close() {
      isDown = true;
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
