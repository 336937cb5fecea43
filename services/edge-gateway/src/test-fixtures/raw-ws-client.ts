// A bare `ws` client speaking msgpack frames, cheap enough to open thousands of (a login wave
// in presence-edges.int.test.ts). Frames are decoded only while a reply is awaited or an
// `onFrame` listener is set; everything else (e.g. presence frames to wave members) is skipped.
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';

export interface RawClient {
  ws: WebSocket;
  send(frame: unknown): void;
  /** Sends a frame with `id` and resolves with the reply of the same id. */
  request(frame: { id: number } & Record<string, unknown>): Promise<Record<string, unknown>>;
  onFrame?: ((f: Record<string, unknown>) => void) | undefined;
}

/** Opens a connection and sends an anonymous `connect`; resolves once `connected` arrived. */
export function rawClient(url: string, timeoutMs = 20_000): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
    const waiting = new Map<number, (f: Record<string, unknown>) => void>();
    let connected: (() => void) | undefined;
    const client: RawClient = {
      ws,
      send: (frame) => ws.send(encode(frame)),
      request: (frame) =>
        new Promise((res) => {
          waiting.set(frame.id, res);
          client.send(frame);
        }),
    };
    ws.on('error', (err) => reject(err));
    ws.on('close', (code) => reject(new Error(`${url}: closed with ${code} before connected`)));
    ws.on('message', (data: Buffer) => {
      if (!client.onFrame && waiting.size === 0 && !connected) return;
      const f = decode(data) as Record<string, unknown>;
      if (connected && f.t === 101) {
        const done = connected;
        connected = undefined;
        done();
        return;
      }
      const w = typeof f.id === 'number' ? waiting.get(f.id) : undefined;
      if (w) {
        waiting.delete(f.id as number);
        w(f);
        return;
      }
      client.onFrame?.(f);
    });
    ws.once('open', () => {
      connected = () => resolve(client);
      client.send({ t: 1, v: 1 });
    });
  });
}
