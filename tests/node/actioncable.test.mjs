// Interop with the OFFICIAL Rails client, `@rails/actioncable`, driven by `ws` in Node:
// connect, subscribe, receive a published event, perform a relayed action, and survive a
// server restart through the client's own ConnectionMonitor (no help from the test).
//
// Run by tests/tests/node_clients.rs against a fresh server, with
//   CABLE_URL        ws://127.0.0.1:PORT/cable
//   TOKEN, TOKEN_B   user tokens of two users of ACCOUNT
//   PUBLISH_URL      http://127.0.0.1:PORT/broadcast
//   PUBLISHER_KEY    the server's publisher key
//   ACCOUNT          the account of both tokens
//   CONVERSATION_ID  an ai_conversation owned by ACCOUNT
//   SYNC_DIR         a directory for the restart handshake:
//                    this script creates SYNC_DIR/ready (and prints READY_FOR_RESTART);
//                    the Rust side SIGTERMs the server, starts a new one on the same port
//                    with the same keys, then creates SYNC_DIR/restarted.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { createConsumer, adapters } from '@rails/actioncable'

import { notification as notificationPayload, waitFor } from './shared.mjs'

const CABLE_URL = required('CABLE_URL')
const TOKEN = required('TOKEN')
const TOKEN_B = required('TOKEN_B')
const PUBLISH_URL = required('PUBLISH_URL')
const PUBLISHER_KEY = required('PUBLISHER_KEY')
const ACCOUNT = required('ACCOUNT')
const CONVERSATION_ID = required('CONVERSATION_ID')
const SYNC_DIR = required('SYNC_DIR')

function required(name) {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run through tests/tests/node_clients.rs)`)
  return v
}

// The monitor listens for `visibilitychange` on the global object, which Node lacks.
globalThis.addEventListener ??= () => {}
globalThis.removeEventListener ??= () => {}

/** Every frame each socket received, by consumer name, to check what the server sent. */
const frames = { a: [], b: [] }

/** `ws`, recording incoming frames of the consumer whose token the URL carries. */
class RecordingWebSocket extends WebSocket {
  constructor(url, protocols, options) {
    super(url, protocols, options)
    const log = url.includes(TOKEN_B) ? frames.b : frames.a
    this.addEventListener('message', ev => log.push(JSON.parse(String(ev.data))))
  }
}
adapters.WebSocket = RecordingWebSocket

/** A subscription whose callbacks record what the client library reports. */
function subscribe(consumer, params) {
  const s = { connected: [], disconnected: [], received: [], rejected: 0 }
  s.sub = consumer.subscriptions.create(params, {
    connected(d) {
      s.connected.push(d)
    },
    disconnected(d) {
      s.disconnected.push(d)
    },
    received(m) {
      s.received.push(m)
    },
    rejected() {
      s.rejected++
    }
  })
  return s
}

const events = (s, name) => s.received.filter(m => m && m.event === name)

async function publish(body) {
  const resp = await fetch(PUBLISH_URL, {
    method: 'POST',
    headers: { authorization: `Bearer ${PUBLISHER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  const answer = await resp.json()
  assert.equal(resp.status, 200, JSON.stringify(answer))
  return answer
}

function notification(id) {
  return { channel: 'NotificationChannel', event: 'new_notification', payload: notificationPayload(ACCOUNT, id, { title: 'Hello from node' }) }
}

test('@rails/actioncable: subscribe, receive, perform, and survive a server restart', { timeout: 60_000 }, async () => {
  const a = createConsumer(() => `${CABLE_URL}?token=${TOKEN}`)
  const b = createConsumer(() => `${CABLE_URL}?token=${TOKEN_B}`)
  try {
    // Subscribe and receive.
    const notes = subscribe(a, { channel: 'NotificationChannel', account_id: ACCOUNT })
    await waitFor('NotificationChannel connected', () => notes.connected.length === 1, { ms: 10_000 })
    assert.deepEqual(notes.connected[0], { reconnected: false })
    assert.equal(notes.rejected, 0)
    assert.equal(a.connection.getProtocol(), 'actioncable-v1-json')
    const hello = await waitFor('connection_established', () => events(notes, 'connection_established')[0], { ms: 5_000 })
    assert.equal(hello.payload.account_id, ACCOUNT)

    const sent = await publish(notification('n-before'))
    assert.equal(sent.deliveries, 1)
    const got = await waitFor('new_notification', () => events(notes, 'new_notification')[0], { ms: 5_000 })
    assert.equal(got.payload.id, 'n-before')
    assert.equal(got.payload.title, 'Hello from node')
    assert.equal(got.resource_type, 'notification')

    // Perform a relayed action: B hears A typing; A does not hear itself.
    const conv = { channel: 'AiConversationChannel', conversation_id: CONVERSATION_ID }
    const convA = subscribe(a, conv)
    const convB = subscribe(b, conv)
    await waitFor('both conversation subscriptions', () => convA.connected.length === 1 && convB.connected.length === 1, { ms: 10_000 })
    // The seed's frontend sends `{status}`: the server says who is typing and where.
    assert.ok(convA.sub.perform('typing_indicator', { status: 'typing' }))
    const typing = await waitFor('typing_indicator at B', () => events(convB, 'typing_indicator')[0], { ms: 5_000 })
    assert.deepEqual(typing.payload, { conversation_id: CONVERSATION_ID, user_id: 'node-a', status: 'typing' })
    // With a `$ref`, A gets a reply (and still not the event).
    convA.sub.perform('typing_indicator', { conversation_id: CONVERSATION_ID, status: 'stopped', $ref: 'node-1' })
    const reply = await waitFor('$reply at A', () => convA.received.find(m => m && m.$reply), { ms: 5_000 })
    assert.deepEqual(reply.$reply, { ref: 'node-1', action: 'typing_indicator', ok: true, data: null })
    await waitFor('second typing_indicator at B', () => events(convB, 'typing_indicator').length === 2, { ms: 5_000 })
    // A relay is delivered before its reply is queued, on the same connection: had A been sent
    // its own events, they would have arrived before the reply it already has.
    assert.equal(events(convA, 'typing_indicator').length, 0, 'the sender is excluded')

    // Liveness: idle, the client is sent WebSocket pings (the server pings every 500 ms here and
    // closes a socket silent for 3 s after one); `ws` answers them, so across several
    // intervals' worth of pings neither consumer is dropped.
    const pings = log => log.filter(f => f.type === 'ping').length
    const pingsBefore = pings(frames.a)
    await waitFor('ten more pings while idle', () => pings(frames.a) >= pingsBefore + 10 && pings(frames.b) >= 10, { ms: 20_000 })
    for (const [name, log] of Object.entries(frames)) {
      assert.equal(log.filter(f => f.type === 'disconnect').length, 0, `consumer ${name} was not dropped while idle`)
      assert.equal(log.filter(f => f.type === 'welcome').length, 1, `consumer ${name} kept its connection`)
    }
    assert.deepEqual(notes.disconnected, [])

    // Restart: hand over to the Rust side and wait until the new server listens.
    writeFileSync(join(SYNC_DIR, 'ready'), 'ready\n')
    console.log('READY_FOR_RESTART')
    const restartedAt = await waitFor('the server restart', () => existsSync(join(SYNC_DIR, 'restarted')) && Date.now(), { ms: 30_000 })

    // Both sockets were told why, and that they may come back.
    for (const [name, log] of Object.entries(frames)) {
      const bye = log.filter(f => f.type === 'disconnect')
      assert.deepEqual(bye, [{ type: 'disconnect', reason: 'server_restart', reconnect: true }], `consumer ${name}`)
    }
    assert.deepEqual(notes.disconnected, [{ willAttemptReconnect: true }])

    // The monitor reconnects on its own; the client resubscribes everything.
    await waitFor('resubscription after the restart', () => notes.connected.length === 2 && convA.connected.length === 2 && convB.connected.length === 2, { ms: 25_000 })
    console.log(`reconnected and resubscribed ${Date.now() - restartedAt} ms after the new server started`)
    // The client flags the first confirmation after a reconnect (whichever subscription's it is).
    assert.equal([notes, convA].filter(s => s.connected[1].reconnected === true).length, 1)
    assert.equal(notes.rejected + convA.rejected + convB.rejected, 0)
    assert.equal(frames.a.filter(f => f.type === 'welcome').length, 2)

    // Events published after the restart arrive.
    await publish(notification('n-after'))
    const after = await waitFor('new_notification after the restart', () => events(notes, 'new_notification').find(m => m.payload.id === 'n-after'), { ms: 5_000 })
    assert.equal(after.payload.id, 'n-after')
    assert.equal(events(notes, 'new_notification').length, 2, 'each notification once')

    // Actions work again too.
    convA.sub.perform('typing_indicator', { conversation_id: CONVERSATION_ID, status: 'typing' })
    await waitFor('typing_indicator at B after the restart', () => events(convB, 'typing_indicator').length === 3, { ms: 5_000 })
  } finally {
    a.disconnect()
    b.disconnect()
  }
})
