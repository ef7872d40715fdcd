// The generated client following one subscription across a list of nodes, for black-box
// tests that start and kill the nodes themselves (tests/tests/node_ts_client.rs, and the
// multi-node fault tests): it prints, one JSON object a line on stdout, what the client does
// and every event the application receives, with the stream position it came at.
//
//   CABLE_TOKEN=<jwt> node ts_client/follow.mjs [options] URL [URL …]
//
//   --channel NAME       wire name of the channel (default NotificationChannel)
//   --params JSON        its subscription params (default {})
//   --base-delay-ms N    first reconnection delay (default 200); each round over the URLs doubles it
//   --max-delay-ms N     longest delay (default 1000); the client never gives up
//   --protocol ext|v1    the client's `protocol` option (default ext)
//
// The token comes from the environment so it appears in no process list; it is never printed.
// Lines, by `type`:
//
//   status        {state, url, attempt, reason, …}           every connection status (`ConnectionStatus`)
//   socket        {url, sid}                                 a socket opened: the node, the session it offers to resume
//   welcome       {url, sid, restored, restored_ids}         a node's welcome
//   sent          {url, command, identifier, history?}       each subscribe and history command
//   connected     {reconnected, restored}                    the subscription is confirmed (or kept by a resumed session)
//   event         {url, event, payload, stream, epoch, offset}  an event delivered to the application, once each
//   resync        {reason}                                   events were missed and cannot be replayed
//   disconnected / rejected {reason} / error {message}
//   stopped                                                  after SIGTERM or SIGINT: the client logged out
//
// Duplicates the client drops never reach `event`; a checker counts loss, duplicates and
// order on the `event` lines alone.

import { parseArgs } from 'node:util'
import WebSocket from 'ws'

import * as pkg from '../../../generated/ts/dist/index.js'

const { values: opts, positionals: urls } = parseArgs({
  allowPositionals: true,
  options: {
    channel: { type: 'string', default: 'NotificationChannel' },
    params: { type: 'string', default: '{}' },
    'base-delay-ms': { type: 'string', default: '200' },
    'max-delay-ms': { type: 'string', default: '1000' },
    protocol: { type: 'string', default: 'ext' }
  }
})
if (urls.length === 0) {
  process.stderr.write('usage: CABLE_TOKEN=<jwt> node follow.mjs [--channel NAME] [--params JSON] URL [URL …]\n')
  process.exit(2)
}
const def = Object.values(pkg).find(ns => ns?.CHANNEL?.name === opts.channel)?.CHANNEL
if (def === undefined) {
  process.stderr.write(`no channel ${opts.channel} in the package\n`)
  process.exit(2)
}

const print = line => process.stdout.write(`${JSON.stringify(line)}\n`)
/** A socket URL as the client built it, without the token: the node, and the sid it offers. */
const split = url => {
  let [base, query = ''] = url.split('?')
  return { url: base, sid: new URLSearchParams(query).get('sid') }
}

/** The position of the frame being handled, while the client handles it. */
let current = null

class FollowingWebSocket extends WebSocket {
  constructor(url, protocols, options) {
    super(url, protocols, options)
    this.node = split(url).url
    print({ type: 'socket', ...split(url) })
  }

  addEventListener(type, listener, options) {
    if (type !== 'message') return super.addEventListener(type, listener, options)
    // Handlers run synchronously inside the client's listener, so the frame being handled
    // is the one that carried the event they receive.
    return super.addEventListener(
      type,
      event => {
        let frame = null
        try {
          frame = JSON.parse(String(event.data))
        } catch {}
        if (frame?.type === 'welcome') print({ type: 'welcome', url: this.node, sid: frame.sid ?? null, restored: frame.restored === true, restored_ids: frame.restored_ids ?? [] })
        current = { url: this.node, stream: frame?.stream_id ?? null, epoch: frame?.epoch ?? null, offset: frame?.offset ?? null }
        try {
          listener(event)
        } finally {
          current = null
        }
      },
      options
    )
  }

  send(data, ...rest) {
    let frame = JSON.parse(String(data))
    if (frame.command === 'subscribe' || frame.command === 'history') print({ type: 'sent', url: this.node, ...frame })
    return super.send(data, ...rest)
  }
}

const client = pkg.createClient({
  url: urls,
  token: process.env.CABLE_TOKEN || undefined,
  WebSocket: FollowingWebSocket,
  protocol: opts.protocol,
  reconnect: { baseDelayMs: Number(opts['base-delay-ms']), maxDelayMs: Number(opts['max-delay-ms']), maxAttempts: Infinity },
  autoConnect: false,
  onError: e => print({ type: 'error', message: String(e?.message ?? e) })
})
client.onStateChange(s => print({ type: 'status', ...s }))
client.subscribe(def, JSON.parse(opts.params), {
  onMessage: envelope => print({ type: 'event', url: current?.url ?? null, event: envelope[def.eventKey], payload: envelope[def.payloadKey], stream: current?.stream ?? null, epoch: current?.epoch ?? null, offset: current?.offset ?? null }),
  onConnected: info => print({ type: 'connected', ...info }),
  onDisconnected: () => print({ type: 'disconnected' }),
  onResync: info => print({ type: 'resync', ...info }),
  onRejected: info => print({ type: 'rejected', ...info })
})
client.connect()

for (let signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    client.disconnect()
    print({ type: 'stopped' })
    process.exit(0)
  })
}
