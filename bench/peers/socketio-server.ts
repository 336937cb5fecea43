// Peer (d): Socket.IO 4 with the msgpack parser, WebSocket transport only, room broadcast.
// A subscriber joins the room named in the handshake query (?ch=), a publisher's 'p' events
// are emitted to the room named by ?pub=.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import parser from 'socket.io-msgpack-parser';

const http = createServer();
const io = new Server(http, { parser, transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  const { ch, pub } = socket.handshake.query;
  if (typeof ch === 'string') void socket.join(ch);
  if (typeof pub === 'string') socket.on('p', (data: Buffer) => io.to(pub).emit('m', data));
  socket.emit('ok');
});
http.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('peer ready\n'));
