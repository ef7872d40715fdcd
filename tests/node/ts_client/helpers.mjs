// Shared by the tests of the generated TypeScript client (run by tests/tests/node_ts_client.rs):
// the server's addresses, publishing, tokens, a recording WebSocket and waiting helpers.
//
//   CABLE_URL      ws://127.0.0.1:PORT/cable
//   HTTP_URL       http://127.0.0.1:PORT
//   PUBLISHER_KEY  the server's publisher key
//   CONTROL_URL    the test's control server: /token, /restart, /backend-calls

import assert from 'node:assert/strict'
import WebSocket from 'ws'

import { notification } from '../shared.mjs'

export { deferred, notification, openConnections, waitFor, waitForNoConnections } from '../shared.mjs'

export const env = name => {
  let v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run through tests/tests/node_ts_client.rs)`)
  return v
}

/** Lets `ms` pass. Only for a span in which nothing may happen (the client's own timers
 *  must not fire a retry, a refresh); never to wait for something: that is `waitFor`. */
export const quietFor = ms => new Promise(resolve => setTimeout(resolve, ms))

/** A token of `sub` in `account`, valid `ttl` seconds (negative: already expired). */
export async function token(sub, account, { ttl = 3600, permissions = [] } = {}) {
  let q = new URLSearchParams({ sub, account, ttl: String(ttl), permissions: permissions.join(',') })
  let resp = await fetch(`${env('CONTROL_URL')}/token?${q}`)
  assert.equal(resp.status, 200)
  return resp.text()
}

/** Restarts the cable server on the same port (SIGTERM: it drains with `server_restart`). */
export async function restartServer() {
  let resp = await fetch(`${env('CONTROL_URL')}/restart`, { method: 'POST' })
  assert.equal(resp.status, 204, 'restart')
}

/** POST /broadcast; asserts 200. */
export async function publish(channel, event, payload) {
  let resp = await fetch(`${env('HTTP_URL')}/broadcast`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env('PUBLISHER_KEY')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, event, payload })
  })
  let body = await resp.text()
  assert.equal(resp.status, 200, `publish ${event}: ${resp.status} ${body}`)
}

/** Records that `kind/id` belongs to `account` (the embedded ownership registry). */
export async function own(kind, id, account) {
  let resp = await fetch(`${env('HTTP_URL')}/resources/${kind}/${id}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${env('PUBLISHER_KEY')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ account_id: account })
  })
  assert.equal(resp.status, 204, `own ${kind}/${id}`)
}

export const publishNotification = (account, id) => publish('NotificationChannel', 'new_notification', notification(account, id))

const redact = s => String(s).replace(/(token=)[^&]+/, '$1<redacted>')

/**
 * A `ws` WebSocket class that records every socket, frame and close into `log`, and can be
 * switched "offline": while `net.offline` is true new sockets go to a closed port.
 */
export function recordingWebSocket(log = [], net = { offline: false }) {
  class RecordingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      let target = net.offline ? 'ws://127.0.0.1:9/cable' : url
      super(target, protocols, options)
      RecordingWebSocket.sockets.push(this)
      log.push({ dir: 'open', url: redact(url), offline: net.offline, protocols })
      this.addEventListener('message', ev => log.push({ dir: 'in', frame: JSON.parse(String(ev.data)) }))
      this.addEventListener('close', ev => log.push({ dir: 'close', code: ev.code }))
    }

    send(data, ...rest) {
      log.push({ dir: 'out', frame: JSON.parse(String(data)) })
      return super.send(data, ...rest)
    }

    /** The last socket created. */
    static get last() {
      return RecordingWebSocket.sockets.at(-1)
    }
  }
  RecordingWebSocket.sockets = []
  RecordingWebSocket.log = log
  RecordingWebSocket.net = net
  return RecordingWebSocket
}

export function dump(log) {
  return log
    .map(e => (e.dir === 'open' ? `open ${e.url}${e.offline ? ' (offline)' : ''}` : e.dir === 'close' ? `close ${e.code}` : `${e.dir} ${JSON.stringify(e.frame)}`))
    .join('\n')
}

/** Outgoing frames of `command` (optionally for one identifier). */
export const sent = (log, command, identifier) => log.filter(e => e.dir === 'out' && e.frame.command === command && (identifier === undefined || e.frame.identifier === identifier)).map(e => e.frame)
/** Incoming frames of `type`. */
export const received = (log, type) => log.filter(e => e.dir === 'in' && e.frame.type === type).map(e => e.frame)
