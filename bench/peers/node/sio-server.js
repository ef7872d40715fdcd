// Benchmark peer: Socket.IO 4 (websocket transport only, no polling). Clients emit
// "subscribe" and get "confirmed" once joined to the room; POST /broadcast emits the JSON
// body as event "m" to the room (Socket.IO encodes once per broadcast).
// Usage: node sio-server.js <port>    (binds 127.0.0.1 only)
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 4002);
const ROOM = 'bench';

// Created before Socket.IO attaches, so engine.io hands every non-/socket.io/ request to it.
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      io.to(ROOM).emit('m', payload);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"ok":true}');
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, httpCompression: false });

io.on('connection', (socket) => {
  socket.on('subscribe', () => {
    socket.join(ROOM);
    socket.emit('confirmed');
  });
});

server.listen(port, '127.0.0.1', () => console.log(`socket.io peer listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
