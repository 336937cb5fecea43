// Peer (d): Socket.IO 4 with the msgpack parser, WebSocket transport only, room broadcast.
// A subscriber joins the rooms named in the handshake query (?ch=a,b); a publisher's
// ('p', room, data) events are emitted to that room. With PEER_JWT_SECRET a middleware
// checks the HS256 token from the CONNECT packet's `auth`, as Socket.IO apps do, and the
// socket joins its user's room `user:<sub>`.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import parser from 'socket.io-msgpack-parser';
import { authRequired, verifyToken } from './jwt.js';

const http = createServer();
const io = new Server(http, { parser, transports: ['websocket'], perMessageDeflate: false, serveClient: false });

if (authRequired) {
  io.use((socket, next) => {
    const user = verifyToken((socket.handshake.auth as { token?: string }).token);
    (socket.data as { user?: string }).user = user;
    next(user === undefined ? new Error('unauthorized') : undefined);
  });
}

io.on('connection', (socket) => {
  const { ch, pub } = socket.handshake.query;
  if (typeof ch === 'string') for (const room of ch.split(',').filter(Boolean)) void socket.join(room);
  const { user } = socket.data as { user?: string };
  if (user !== undefined) void socket.join(`user:${user}`);
  if (typeof pub === 'string') socket.on('p', (room: string, data: Buffer) => io.to(room).emit('m', data));
  socket.emit('ok');
});
http.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('peer ready\n'));
