// Peer (c): the `ws` package as most apps use it: a Set of sockets per room and a loop that
// sends each published message to every member. permessage-deflate is off, as in Cascade.
// Same URL scheme as the uWS peer (?ch=a,b, ?pub=<ch> or ?pub=*, ?token= with PEER_JWT_SECRET,
// which also puts the socket in its user's room `user:<sub>`).
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { authRequired, verifyToken } from './jwt.js';

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT),
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
  // The token is checked before the upgrade, as the uWS peer and Cascade's edge do.
  // The verified subject rides on the request to 'connection': the socket joins `user:<sub>`.
  verifyClient: authRequired
    ? (info: { req: IncomingMessage & { user?: string } }) => {
        info.req.user = verifyToken(new URL(info.req.url ?? '/', 'http://x').searchParams.get('token'));
        return info.req.user !== undefined;
      }
    : undefined,
});

const sendTo = (ch: string, data: Buffer | Uint8Array) => {
  for (const peer of rooms.get(ch) ?? []) peer.send(data, { binary: true });
};

wss.on('connection', (ws, req: IncomingMessage & { user?: string }) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const pub = q.get('pub');
  const channels = (q.get('ch') ?? '').split(',').filter(Boolean);
  if (req.user !== undefined) channels.push(`user:${req.user}`);
  for (const ch of channels) {
    let room = rooms.get(ch);
    if (room === undefined) rooms.set(ch, (room = new Set()));
    room.add(ws);
    ws.once('close', () => room.delete(ws));
  }
  if (pub !== null) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      if (pub !== '*') return sendTo(pub, data);
      const n = data[0] ?? 0;
      sendTo(data.toString('latin1', 1, 1 + n), data.subarray(1 + n));
    });
  }
  ws.on('error', (e) => process.stderr.write(`ws peer: socket error ${e.message}\n`));
  ws.send('ok', { binary: false });
});
wss.on('listening', () => process.stdout.write('peer ready\n'));
