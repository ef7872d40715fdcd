// Benchmark peer: a plain Node `ws` broadcast server (no framework), the JS floor.
// Clients send {"type":"subscribe"} and get {"type":"confirm"}; POST /broadcast sends the
// body, as is, to every subscribed socket with one ws.send() each (the idiomatic loop).
// Usage: node ws-server.js <port>    (binds 127.0.0.1 only)
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 4001);
const subscribers = new Set();

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let n = 0;
      for (const ws of subscribers) {
        ws.send(body);
        n++;
      }
      const reply = `{"deliveries":${n}}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
    return;
  }
  res.writeHead(404);
  res.end();
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const text = data.toString();
    if (text.includes('"subscribe"')) {
      subscribers.add(ws);
      ws.send('{"type":"confirm"}');
    }
  });
  ws.on('close', () => subscribers.delete(ws));
  ws.on('error', () => subscribers.delete(ws));
});

server.listen(port, '127.0.0.1', () => console.log(`ws peer listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
