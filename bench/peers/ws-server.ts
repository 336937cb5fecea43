// Peer (c): the `ws` package as most apps use it: a Set of sockets per room and a loop that
// sends each published message to every member. permessage-deflate is off, as in Cascade.
import { WebSocketServer, type WebSocket } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT), perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (ws, req) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const ch = q.get('ch');
  const pub = q.get('pub');
  if (ch !== null) {
    let room = rooms.get(ch);
    if (room === undefined) rooms.set(ch, (room = new Set()));
    room.add(ws);
    ws.once('close', () => room.delete(ws));
  }
  if (pub !== null) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      for (const peer of rooms.get(pub) ?? []) peer.send(data, { binary: true });
    });
  }
  ws.on('error', (e) => process.stderr.write(`ws peer: socket error ${e.message}\n`));
  ws.send('ok', { binary: false });
});
wss.on('listening', () => process.stdout.write('peer ready\n'));
