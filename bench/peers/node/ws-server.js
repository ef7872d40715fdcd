// Benchmark peer: a plain Node `ws` broadcast server (no framework), the JS floor.
// Clients send {"type":"subscribe"} and get {"type":"confirm"}; POST /broadcast sends the
// body, as is, to every subscribed socket with one ws.send() each (the idiomatic loop).
// POST /publish is the publish path of the same event as Cableway's POST /broadcast: the body
// is one {"channel","event","payload"} or an array of them; each is parsed, wrapped in an
// envelope {"event","payload","timestamp"} and sent to every subscriber. (No schema check:
// ws has none.)
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
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid JSON');
        return;
      }
      const events = Array.isArray(body) ? body : [body];
      let n = 0;
      for (const ev of events) {
        const message = JSON.stringify({ event: ev.event, payload: ev.payload, timestamp: Date.now() });
        for (const ws of subscribers) {
          ws.send(message);
          n++;
        }
      }
      const reply = `{"published":${events.length},"deliveries":${n}}`;
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
