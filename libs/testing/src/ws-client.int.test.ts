// Proves TestWsClient against a tiny echo WebSocketServer: msgpack round trips, matching, timeouts, closes.
import type { IncomingHttpHeaders } from 'node:http';
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { TestWsClient, freePort } from './index.js';

let server: WebSocketServer;
let url: string;
const handshakes: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = new WebSocketServer({ host: '127.0.0.1', port, handleProtocols: (protocols) => (protocols.has('cascade.v1') ? 'cascade.v1' : false) });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${port}`;
  server.on('connection', (socket, req) => {
    handshakes.push(req.headers);
    socket.on('message', (data, isBinary) => {
      // A text frame "close:<code>" asks the server to close; everything else is echoed as is.
      const text = isBinary ? '' : data.toString();
      if (text.startsWith('close:')) socket.close(Number(text.slice(6)), 'server says bye');
      else socket.send(data, { binary: isBinary });
    });
  });
});

afterAll(async () => {
  for (const socket of server.clients) socket.terminate();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
});

it('round-trips msgpack frames and negotiates protocols and headers', async () => {
  const client = await TestWsClient.connect(url, { protocols: ['cascade.v1'], headers: { 'x-test': 'yes' } });
  expect(client.isOpen).toBe(true);
  expect(client.protocol).toBe('cascade.v1');
  expect(handshakes.at(-1)?.['x-test']).toBe('yes');

  const frame = { t: 'pub', ch: 'room.1', seq: 7, data: new Uint8Array([1, 2, 3]), nested: { ok: true, list: [1, 'two', null] } };
  client.send(frame);
  expect(await client.next()).toEqual(frame);
  await client.close();
  expect(client.isOpen).toBe(false);
});

it('next() matches in order, consumes each frame once and waits for future frames', async () => {
  const client = await TestWsClient.connect(url);
  for (const n of [1, 2, 3]) client.send({ n });
  expect(await client.next((f) => f.n === 2)).toEqual({ n: 2 });
  expect(await client.next()).toEqual({ n: 1 });
  expect(await client.next()).toEqual({ n: 3 });
  const later = client.next((f) => f.n === 4);
  client.send({ n: 4 });
  expect(await later).toEqual({ n: 4 });
  expect(client.frames).toHaveLength(4);
  await client.close();
});

it('records text frames and undecodable binary frames', async () => {
  const client = await TestWsClient.connect(url);
  client.sendRaw('plain text');
  expect(await client.next()).toEqual({ text: 'plain text' });
  client.sendRaw(new Uint8Array([0xc1]));
  expect(await client.next()).toEqual({ undecodable: new Uint8Array([0xc1]) });
  client.sendRaw(encode({ raw: true }));
  expect(await client.next()).toEqual({ raw: true });
  await client.close();
});

it('a timed-out next() lists the frames seen', async () => {
  const client = await TestWsClient.connect(url);
  client.send({ kind: 'seen-frame' });
  await client.next();
  await expect(client.next((f) => f.kind === 'missing', 200)).rejects.toThrow(/no matching frame within 200 ms[\s\S]*#0 \(consumed\) \{"kind":"seen-frame"\}/);
  await client.close();
});

it('reports a server-side close to waitClosed() and to pending next() calls', async () => {
  const client = await TestWsClient.connect(url);
  const pending = client.next((f) => f.never === true, 5_000);
  client.sendRaw('close:4001');
  expect(await client.waitClosed()).toEqual({ code: 4001, reason: 'server says bye' });
  await expect(pending).rejects.toThrow(/socket closed before a matching frame arrived \[closed 4001/);
  expect(() => client.send({ late: true })).toThrow(/not open/);
  await client.close();
});

it('connect() rejects clearly when nothing listens', async () => {
  const port = await freePort();
  await expect(TestWsClient.connect(`ws://127.0.0.1:${port}`, { timeoutMs: 1_000 })).rejects.toThrow(/TestWsClient.connect\(.*\): .*ECONNREFUSED/);
});
