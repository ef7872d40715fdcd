// Many clients in one Node process, each following its account's notifications across a
// node failure, for the multi-node fault tests (tests/tests/faults.rs): the generated
// TypeScript client given a list of node URLs, or the official `@anycable/web` client given
// one URL (a balancer in front of the nodes). It prints, one JSON object a line on stdout,
// what each client does and every event its application receives, with the stream position
// it came at; the Rust side kills nodes and checks loss, duplicates and order on the
// `event` lines.
//
//   CLIENTS='[{"account":"a1","token":"<jwt>"},…]' node failover_clients.mjs ts|anycable URL [URL …]
//
// Lines, each with `client` (its index in CLIENTS) and `type`:
//   socket     {url}                          a socket opened (the node, without the query)
//   welcome    {url, restored}                a node's welcome
//   history    {url, kind}                    confirm_history / reject_history
//   connected  {}                             the subscription is confirmed
//   event      {id, stream, epoch, offset}    an event delivered to the application
//   resync / rejected / disconnected {…}
//
// Tokens come from the environment and are never printed.

import WebSocket from 'ws'

const [kind, ...urls] = process.argv.slice(2)
const clients = JSON.parse(process.env.CLIENTS || '[]')
if (!['ts', 'anycable'].includes(kind) || urls.length === 0 || clients.length === 0) {
  process.stderr.write("usage: CLIENTS='[{account,token}…]' node failover_clients.mjs ts|anycable URL [URL …]\n")
  process.exit(2)
}

const print = line => process.stdout.write(`${JSON.stringify(line)}\n`)
const nodeOf = url => String(url).split('?')[0]

/** A `ws` WebSocket that reports client `n`'s sockets, welcomes and history answers, and
 *  keeps the position of the frame being handled (handlers run synchronously inside). */
function followingWebSocket(n, position) {
  return class FollowingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocols, options)
      this.node = nodeOf(url)
      print({ client: n, type: 'socket', url: this.node })
    }

    addEventListener(type, listener, options) {
      if (type !== 'message') return super.addEventListener(type, listener, options)
      return super.addEventListener(type, event => this.handle(event, listener), options)
    }

    set onmessage(listener) {
      super.onmessage = typeof listener === 'function' ? event => this.handle(event, listener) : listener
    }

    get onmessage() {
      return super.onmessage
    }

    handle(event, listener) {
      let frame = null
      try {
        frame = JSON.parse(String(event.data))
      } catch {}
      if (frame?.type === 'welcome') print({ client: n, type: 'welcome', url: this.node, restored: frame.restored === true })
      if (frame?.type === 'confirm_history' || frame?.type === 'reject_history') print({ client: n, type: 'history', url: this.node, kind: frame.type })
      position.current = { stream: frame?.stream_id ?? null, epoch: frame?.epoch ?? null, offset: frame?.offset ?? null }
      try {
        listener(event)
      } finally {
        position.current = null
      }
    }
  }
}

const event = (n, position, payload) => print({ client: n, type: 'event', id: payload?.id ?? null, ...(position.current ?? {}) })

async function startTs() {
  let pkg = await import('../../generated/ts/dist/index.js')
  let def = Object.values(pkg).find(ns => ns?.CHANNEL?.name === 'NotificationChannel')?.CHANNEL
  clients.forEach(({ account, token }, n) => {
    let position = { current: null }
    let client = pkg.createClient({
      url: urls,
      token,
      WebSocket: followingWebSocket(n, position),
      protocol: 'ext',
      reconnect: { baseDelayMs: 100, maxDelayMs: 500, maxAttempts: Infinity },
      onError: e => print({ client: n, type: 'error', message: String(e?.message ?? e) })
    })
    client.subscribe(def, { account_id: account }, {
      onMessage: envelope => envelope[def.eventKey] === 'new_notification' && event(n, position, envelope[def.payloadKey]),
      onConnected: info => print({ client: n, type: 'connected', ...info }),
      onDisconnected: () => print({ client: n, type: 'disconnected' }),
      onResync: info => print({ client: n, type: 'resync', ...info }),
      onRejected: info => print({ client: n, type: 'rejected', ...info })
    })
  })
}

async function startAnycable() {
  let { createCable } = await import('@anycable/web')
  clients.forEach(({ account, token }, n) => {
    let position = { current: null }
    let cable = createCable(urls[0], {
      protocol: 'actioncable-v1-ext-json',
      auth: { token, param: 'token' },
      websocketImplementation: followingWebSocket(n, position),
      logLevel: process.env.ANYCABLE_LOG_LEVEL || 'error',
      reconnectStrategy: () => 100
    })
    let channel = cable.subscribeTo('NotificationChannel', { account_id: account })
    channel.on('message', (msg, meta) => {
      if (msg?.event !== 'new_notification') return
      // The client's own view of the position, where it has one.
      let p = position.current ?? {}
      print({ client: n, type: 'event', id: msg.payload?.id ?? null, stream: meta?.stream ?? p.stream, epoch: meta?.epoch ?? p.epoch, offset: meta?.offset ?? p.offset })
    })
    channel.on('connect', () => print({ client: n, type: 'connected' }))
    channel.on('disconnect', ev => print({ client: n, type: 'disconnected', reason: ev?.reason ?? null }))
    cable.on('close', ev => print({ client: n, type: 'closed', reason: String(ev?.reason ?? ev ?? '') }))
  })
}

await (kind === 'ts' ? startTs() : startAnycable())
for (let signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
