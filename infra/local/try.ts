// `npm run try [-- ws://host:port/]`: two raw WebSocket clients show one publish reaching both
// subscribers, speaking the documented msgpack protocol directly (docs/protocol.md), no SDK.
// Each signs in with a token minted here with the edge's development secret (HS256).
import { randomBytes } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { DEV_HS256_SECRET } from '../../services/edge-gateway/src/auth-config.js';

const url = process.argv[2] || process.env.CASCADE_URL || 'ws://127.0.0.1:8080/';
const CHANNEL = 'demo';
const TIMEOUT_MS = 10_000;

type Frame = Record<string, unknown>;

let step = 'starting';
const clients: Client[] = [];

function fail(message: string): never {
  process.stderr.write(`\ntry: ${message}\n`);
  for (const c of clients) c.ws.terminate();
  process.exit(1);
}

const timer = setTimeout(
  () => fail(`timed out after ${TIMEOUT_MS / 1000} s while ${step}. Is the stack running at ${url}? Start it with npm start.`),
  TIMEOUT_MS,
);

function show(frame: unknown): string {
  return JSON.stringify(frame, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v));
}

class Client {
  readonly ws: WebSocket;
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;

  constructor(readonly name: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) fail(`${name} got a text frame; the protocol only uses binary msgpack frames`);
      const frame = decode(data) as Frame;
      // An error frame answers the step in progress: nothing sensible follows it.
      if (frame.t === 106) fail(`${name} got an error frame while ${step}: code ${String(frame.code)}: ${String(frame.msg)}`);
      this.frames.push(frame);
      this.waiter?.();
    });
    this.ws.on('error', (err) => fail(`${name}: WebSocket error on ${url}: ${err.message}. Is the stack running there? Start it with npm start.`));
    this.ws.on('close', (code, reason) => {
      if (step !== 'closing') fail(`${name}: the server closed the connection (${code} ${reason.toString()}) while ${step}`);
    });
    clients.push(this);
  }

  opened(): Promise<void> {
    return new Promise((resolve) => this.ws.once('open', () => resolve()));
  }

  send(frame: Frame): void {
    this.ws.send(encode(frame));
  }

  /** The next received frame matching `match` (frames are kept until taken). */
  async next(match: (f: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}

async function run(): Promise<void> {
  console.log(`Connecting alice and bob to ${url}`);
  const alice = new Client('alice');
  const bob = new Client('bob');
  const both = [alice, bob];

  step = 'opening the WebSockets';
  await Promise.all(both.map((c) => c.opened()));

  step = 'waiting for the connected frames';
  // What a backend would do: sign a short-lived token naming the user and its channels.
  const secret = new TextEncoder().encode(process.env.EDGE_JWT_HS256_SECRET || DEV_HS256_SECRET);
  const tokenFor = (user: string) =>
    new SignJWT({ subs: [CHANNEL], pubs: [CHANNEL] }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('10m').sign(secret);
  for (const c of both) c.send({ t: 1, client: `try-${c.name}`, token: await tokenFor(c.name) });
  for (const c of both) {
    const f = await c.next((f) => f.t === 101);
    console.log(`${c.name}: connected as ${String(f.user)} (client ${String(f.client)})`);
  }

  step = `subscribing to "${CHANNEL}"`;
  for (const c of both) c.send({ t: 2, id: 1, ch: CHANNEL });
  for (const c of both) {
    await c.next((f) => f.t === 102 && f.id === 1);
    console.log(`${c.name}: subscribed to "${CHANNEL}"`);
  }

  step = 'publishing';
  const key = `try-${randomBytes(6).toString('hex')}`;
  const data = { text: 'hello from alice', at: new Date().toISOString() };
  alice.send({ t: 4, id: 2, ch: CHANNEL, data, key });
  console.log(`alice: published ${show(data)} to "${CHANNEL}" with key ${key}`);
  const reply = await alice.next((f) => f.t === 102 && f.id === 2);
  console.log(`alice: publish accepted${reply.dup === true ? ' (duplicate key)' : ''}`);

  step = 'waiting for the message on both connections';
  for (const c of both) {
    // The key tells our message apart from others published to "demo" at the same time.
    const m = await c.next((f) => f.t === 103 && f.ch === CHANNEL && f.key === key);
    console.log(`${c.name}: received message seq=${String(m.seq)} ep=${String(m.ep)} from=${String(m.from)} data=${show(m.data)}`);
  }

  step = 'closing';
  await Promise.all(both.map((c) => new Promise<void>((resolve) => {
    c.ws.once('close', () => resolve());
    c.ws.close(1000, 'done');
  })));
  clearTimeout(timer);
  console.log('done: both subscribers received the message');
}

run().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
