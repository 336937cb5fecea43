// Peer (b), the ceiling: uWebSockets.js topic publish with nothing behind it. A subscriber
// names its channels in the URL (?ch=a,b), a publisher its target (?pub=<ch>, or ?pub=* to
// name the channel in each message: one length byte, the name, the payload); each binary
// message from a publisher is published to the topic as is. With PEER_JWT_SECRET every
// connection must bring a valid HS256 token (?token=), checked at the upgrade, and joins its
// user's topic `user:<sub>` (what Cascade's personal channel is). Limits match the edge's
// defaults.
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { authRequired, verifyToken } from './jwt.js';

const require = createRequire(import.meta.url);
const uws = require('uWebSockets.js') as typeof UWS;
const native = Object.values(require.cache).some((m) => m?.filename.endsWith('.node') && m.exports === uws);

interface UserData {
  ch: string[];
  pub: string;
  /** The token's subject: the connection also joins `user:<sub>`, as an app routes to a user. */
  user: string | undefined;
}

const app = uws.App();

/**
 * PEER_BATCH=1: publishes received in one turn of the event loop go out together from a
 * setImmediate, as an edge's do (NATS hands it many messages per read); otherwise each is
 * published from its own message callback, as most uWS apps do.
 */
const batch: Array<[string, ArrayBuffer | Uint8Array]> | undefined = process.env.PEER_BATCH === '1' ? [] : undefined;
function publish(topic: string, data: ArrayBuffer | Uint8Array): void {
  if (batch === undefined) {
    app.publish(topic, data, true, false);
    return;
  }
  // uWS frees `data` after the callback returns: copy what waits for later.
  if (batch.push([topic, data instanceof ArrayBuffer ? data.slice(0) : data.slice()]) === 1) {
    setImmediate(() => {
      for (const [t, m] of batch.splice(0)) app.publish(t, m, true, false);
    });
  }
}
app.ws<UserData>('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 1,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  upgrade(res, req, ctx) {
    // Request data must be copied before upgrade returns (uWS frees it afterwards).
    const q = new URLSearchParams(req.getQuery() ?? '');
    const user = authRequired ? verifyToken(q.get('token')) : undefined;
    if (authRequired && user === undefined) {
      res.writeStatus('401 Unauthorized').end();
      return;
    }
    res.upgrade<UserData>(
      { ch: (q.get('ch') ?? '').split(',').filter(Boolean), pub: q.get('pub') ?? '', user },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      ctx,
    );
  },
  open(ws) {
    const d = ws.getUserData();
    for (const ch of d.ch) ws.subscribe(ch);
    if (d.user !== undefined) ws.subscribe(`user:${d.user}`);
    ws.send('ok', false);
  },
  message(ws, msg, isBinary) {
    const d = ws.getUserData();
    if (!isBinary || d.pub === '') return;
    if (d.pub !== '*') {
      publish(d.pub, msg);
      return;
    }
    const b = new Uint8Array(msg);
    const n = b[0] ?? 0;
    publish(Buffer.from(b.subarray(1, 1 + n)).toString('latin1'), b.subarray(1 + n));
  },
});
app.listen('127.0.0.1', Number(process.env.PORT), (token) => {
  if (!token) {
    process.stderr.write(`uws peer: cannot listen on ${process.env.PORT}\n`);
    process.exit(1);
  }
  process.stdout.write(`peer ready uws=${native ? 'native' : 'fallback'}\n`);
});
