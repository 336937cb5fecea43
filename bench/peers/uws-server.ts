// Peer (b), the ceiling: uWebSockets.js topic publish with nothing behind it. A subscriber
// names its channel in the URL (?ch=), a publisher its target (?pub=); each binary message
// from a publisher is published to the topic as is. Limits match the edge's defaults.
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';

const require = createRequire(import.meta.url);
const uws = require('uWebSockets.js') as typeof UWS;
const native = Object.values(require.cache).some((m) => m?.filename.endsWith('.node') && m.exports === uws);

interface UserData {
  ch: string;
  pub: string;
}

const app = uws.App();
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
    res.upgrade<UserData>(
      { ch: q.get('ch') ?? '', pub: q.get('pub') ?? '' },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      ctx,
    );
  },
  open(ws) {
    const d = ws.getUserData();
    if (d.ch !== '') ws.subscribe(d.ch);
    ws.send('ok', false);
  },
  message(ws, msg, isBinary) {
    const d = ws.getUserData();
    if (isBinary && d.pub !== '') app.publish(d.pub, msg, true, false);
  },
});
app.listen('127.0.0.1', Number(process.env.PORT), (token) => {
  if (!token) {
    process.stderr.write(`uws peer: cannot listen on ${process.env.PORT}\n`);
    process.exit(1);
  }
  process.stdout.write(`peer ready uws=${native ? 'native' : 'fallback'}\n`);
});
