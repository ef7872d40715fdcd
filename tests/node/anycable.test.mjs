// Interop of Cableway's extended protocol (`actioncable-v1-ext-json`) with the official
// AnyCable client, `@anycable/web` (over `@anycable/core`), driven by `ws` in Node.
//
// Run by tests/tests/node_anycable.rs against a fresh server, with
//   CABLE_URL      ws://127.0.0.1:PORT/cable
//   TOKEN          a user token of the account ACCOUNT (default "acc-any")
//   HTTP_URL       http://127.0.0.1:PORT
//   PUBLISHER_KEY  the server's publisher key
//
// Each test subscribes to NotificationChannel, receives a live event, loses its socket
// abruptly, misses events published meanwhile, reconnects through the client's own monitor
// and must then get exactly the missed events, in order, once, followed by live ones:
//   - "session restore": `?sid=` gives `restored:true`, the client sends `history`;
//   - "resubscribe with history": session recovery off, the client re-sends `subscribe`
//     carrying the stream positions it has seen.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { createCable } from '@anycable/web'

import { deferred, notification as notificationPayload, waitFor, waitForNoConnections } from './shared.mjs'

const CABLE_URL = required('CABLE_URL')
const TOKEN = required('TOKEN')
const HTTP_URL = required('HTTP_URL')
const PUBLISHER_KEY = required('PUBLISHER_KEY')
const ACCOUNT = process.env.ACCOUNT || 'acc-any'
const PROTOCOL = 'actioncable-v1-ext-json'
const IDENTIFIER = JSON.stringify({ account_id: ACCOUNT, channel: 'NotificationChannel' })
const STREAM = `notifications:${ACCOUNT}`

function required(name) {
  let v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run through tests/tests/node_anycable.rs)`)
  return v
}

const redact = s => String(s).replace(/(token=)[^&]+/, '$1<redacted>')

/** A `ws` WebSocket that records every frame both ways (and each open) into `log`. */
function recordingWebSocket(log) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocols, options)
      log.push({ dir: 'open', url: redact(url) })
      this.addEventListener('message', ev => log.push({ dir: 'in', frame: JSON.parse(String(ev.data)) }))
      this.addEventListener('close', ev => log.push({ dir: 'close', code: ev.code }))
    }

    send(data, ...rest) {
      log.push({ dir: 'out', frame: JSON.parse(String(data)) })
      return super.send(data, ...rest)
    }
  }
}

function notification(id) {
  return { channel: 'NotificationChannel', event: 'new_notification', payload: notificationPayload(ACCOUNT, id) }
}

async function publish(id) {
  let resp = await fetch(`${HTTP_URL}/broadcast`, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${PUBLISHER_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(notification(id))
  })
  let body = await resp.text()
  assert.equal(resp.status, 200, `POST /broadcast ${id}: ${resp.status} ${body}`)
}

function dump(log) {
  return log.map(e => (e.dir === 'open' ? `open ${e.url}` : e.dir === 'close' ? `close ${e.code}` : `${e.dir} ${JSON.stringify(e.frame)}`)).join('\n')
}

async function withTimeout(promise, ms, message) {
  let timer
  let timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** `waitFor`, failing with the frames so far. */
const waitForFrames = (what, predicate, log) => waitFor(what, predicate, { context: () => `frames so far:\n${dump(log)}` })

/**
 * One client run: subscribe, one live event, abrupt socket loss, `missed` events published
 * while disconnected, reconnection by the client's monitor, then one more live event.
 * Returns what the channel received and the wire log.
 */
async function dropAndCatchUp(prefix, protocolOptions, { liveFirst = true } = {}) {
  let log = []
  let gate = deferred()
  let cable = createCable(CABLE_URL, {
    protocol: PROTOCOL,
    protocolOptions,
    // The token goes in the URL as `?token=` (the client's default `param` strategy).
    auth: { token: TOKEN, param: 'token' },
    websocketImplementation: recordingWebSocket(log),
    logLevel: process.env.ANYCABLE_LOG_LEVEL || 'error',
    // Reconnect quickly, but only once the missed events are published (the configurator
    // runs before every reconnection's socket is opened).
    reconnectStrategy: () => 50,
    transportConfigurator: async (_transport, { initial }) => {
      if (!initial) await gate.promise
    }
  })
  try {
    let received = []
    let connects = []
    let channelConnects = []
    let infos = []
    cable.on('connect', ev => connects.push(ev))
    let channel = cable.subscribeTo('NotificationChannel', { account_id: ACCOUNT })
    channel.on('message', (msg, meta) => received.push({ msg, meta }))
    channel.on('connect', ev => channelConnects.push(ev))
    channel.on('info', ev => infos.push(ev))
    // Every new_notification received, and this run's own (the subscribe's `since` may
    // legitimately replay an earlier run's events of the same second).
    let ids = () => received.filter(r => r.msg && r.msg.event === 'new_notification').map(r => r.msg.payload.id)
    let mine = () => ids().filter(id => id.startsWith(`${prefix}-`))

    let closed = new Promise((_, reject) => cable.on('close', err => reject(new Error(`cable closed: ${err?.reason || err}; frames:\n${dump(log)}`))))
    closed.catch(() => {})
    await withTimeout(Promise.race([channel.ensureSubscribed(), closed]), 8000, () => `not subscribed in 8 s; frames:\n${dump(log)}`)
    assert.equal(cable.state, 'connected')
    await waitForFrames('confirm_history of the initial subscribe', () => log.some(e => e.dir === 'in' && e.frame.type === 'confirm_history'), log)
    let welcome = log.find(e => e.dir === 'in' && e.frame.type === 'welcome').frame
    assert.match(welcome.sid || '', /^\S{16,}$/, `ext welcome carries a sid: ${JSON.stringify(welcome)}`)
    let subscribe = log.find(e => e.dir === 'out' && e.frame.command === 'subscribe').frame
    assert.equal(subscribe.identifier, IDENTIFIER)
    assert.ok(subscribe.history, `the client asks for history on subscribe: ${JSON.stringify(subscribe)}`)

    // A live event, with its position (unless the client is to come back with none).
    let before = liveFirst ? [`${prefix}-live-1`] : []
    if (liveFirst) {
      await publish(`${prefix}-live-1`)
      await waitForFrames(`${prefix}-live-1`, () => mine().length >= 1, log)
      let first = received.find(r => r.msg.event === 'new_notification' && r.msg.payload.id === `${prefix}-live-1`)
      assert.equal(first.meta?.stream, STREAM, `live frames carry the stream: ${dump(log)}`)
      assert.equal(typeof first.meta.epoch, 'string')
      assert.ok(Number.isInteger(first.meta.offset) && first.meta.offset >= 1, `offset ${first.meta.offset}`)
    }

    // Lose the socket abruptly (no close frame), as on a network drop.
    let disconnected = deferred()
    cable.once('disconnect', () => disconnected.resolve())
    let socketsBefore = log.filter(e => e.dir === 'open').length
    cable.transport.ws.terminate()
    await disconnected.promise
    assert.equal(cable.state, 'disconnected')
    // The server sees the connection end (and keeps the session).
    await waitForNoConnections(HTTP_URL, () => `frames so far:\n${dump(log)}`)

    let missed = [1, 2, 3, 4, 5].map(n => `${prefix}-missed-${n}`)
    for (let id of missed) await publish(id)
    assert.deepEqual(mine(), before, 'nothing arrives while disconnected')
    let connectsBefore = connects.length
    gate.resolve()

    await waitForFrames('reconnection', () => connects.length > connectsBefore, log)
    assert.equal(log.filter(e => e.dir === 'open').length, socketsBefore + 1, 'one new socket')
    await waitForFrames('the missed events', () => mine().length >= before.length + missed.length, log)
    // After the replay, live delivery continues.
    await publish(`${prefix}-live-2`)
    await waitForFrames(`${prefix}-live-2`, () => mine().includes(`${prefix}-live-2`), log)
    // Anything delivered twice would have been sent before a later event: publish one and wait for it.
    await publish(`${prefix}-fence`)
    await waitForFrames(`${prefix}-fence`, () => mine().includes(`${prefix}-fence`), log)

    assert.deepEqual(mine(), [...before, ...missed, `${prefix}-live-2`, `${prefix}-fence`], `exactly the missed events, in order, once, then live; frames:\n${dump(log)}`)
    let all = ids()
    assert.equal(new Set(all).size, all.length, `no event delivered twice: ${all}`)

    // Positions: one epoch, offsets one apart, as the client tracked them.
    let positions = received.filter(r => r.msg.event === 'new_notification' && r.msg.payload.id.startsWith(`${prefix}-`)).map(r => r.meta)
    for (let m of positions) {
      assert.equal(m?.stream, STREAM)
      assert.equal(m.epoch, positions[0].epoch, 'same epoch')
    }
    for (let i = 1; i < positions.length; i++) {
      assert.equal(positions[i].offset, positions[i - 1].offset + 1, `offsets rise by one: ${JSON.stringify(positions)}`)
    }

    // What happened on the wire after the reconnection.
    let openAt = log.findLastIndex(e => e.dir === 'open')
    let after = log.slice(openAt)
    let inAfter = after.filter(e => e.dir === 'in').map(e => e.frame)
    let outAfter = after.filter(e => e.dir === 'out').map(e => e.frame)
    assert.equal(inAfter[0]?.type, 'welcome', 'welcome first')
    assert.ok(!inAfter.some(f => f.type === 'reject_history' || f.type === 'reject_subscription' || f.type === 'disconnect'), `no rejection: ${dump(after)}`)
    let confirmHistory = inAfter.findIndex(f => f.type === 'confirm_history' && f.identifier === IDENTIFIER)
    assert.ok(confirmHistory >= 0, `confirm_history after the reconnection: ${dump(after)}`)
    let replayed = inAfter.slice(0, confirmHistory).filter(f => f.message?.event === 'new_notification').map(f => f.message.payload.id)
    assert.deepEqual(replayed, missed, 'the replay, before confirm_history, is exactly the missed events')
    let lastLive = log.slice(0, openAt).find(e => e.dir === 'in' && e.frame.message?.payload?.id === `${prefix}-live-1`)?.frame
    if (process.env.ANYCABLE_DUMP) console.log(`${prefix} frames:\n${dump(log)}`)
    return { cable, log, after, inAfter, outAfter, connects, channelConnects, infos, lastLive, openUrl: log[openAt].url }
  } catch (e) {
    cable.disconnect()
    throw e
  }
}

// First in the file, while the stream is still empty: `since` is the client's start (or
// last ping), so events of a test before it in the same second would be replayed too.
test('session restore with no position yet: `history` replays the missed events by `since`', { timeout: 14000 }, async () => {
  let r = await dropAndCatchUp('since', {}, { liveFirst: false })
  try {
    let welcome = r.inAfter[0]
    assert.match(r.openUrl, /[?&]sid=/, `the client reconnects with its sid: ${r.openUrl}`)
    assert.equal(welcome.restored, true, `session restored: ${JSON.stringify(welcome)}`)
    assert.deepEqual(welcome.restored_ids, [IDENTIFIER])
    assert.deepEqual(r.channelConnects.at(-1), { reconnect: true, restored: true })
    let history = r.outAfter.find(f => f.command === 'history')
    assert.ok(history, `the client asks for the history of the restored subscription: ${dump(r.after)}`)
    assert.deepEqual(history.history.streams, {}, 'no position known')
    assert.ok(Number.isInteger(history.history.since), `since: ${JSON.stringify(history)}`)
    console.log(`restore path (since=${history.history.since}, no position): replayed 5 events`)
  } finally {
    r.cable.disconnect()
  }
})

test('session restore: ?sid= restores the subscription, `history` replays the missed events', { timeout: 14000 }, async () => {
  let r = await dropAndCatchUp('restore', {})
  try {
    let welcome = r.inAfter[0]
    assert.match(r.openUrl, /[?&]sid=/, `the client reconnects with its sid: ${r.openUrl}`)
    assert.equal(welcome.restored, true, `session restored: ${JSON.stringify(welcome)}`)
    assert.deepEqual(welcome.restored_ids, [IDENTIFIER])
    assert.deepEqual(r.connects.at(-1), { reconnect: true, restored: true })
    assert.deepEqual(r.channelConnects.at(-1), { reconnect: true, restored: true }, 'the channel itself was restored, not resubscribed')
    assert.ok(!r.outAfter.some(f => f.command === 'subscribe'), `no resubscribe after a restore: ${dump(r.after)}`)
    let history = r.outAfter.find(f => f.command === 'history')
    assert.ok(history, `the client asks for the history of the restored subscription: ${dump(r.after)}`)
    assert.equal(history.identifier, IDENTIFIER)
    assert.deepEqual(history.history.streams[STREAM], { epoch: r.lastLive.epoch, offset: r.lastLive.offset }, 'from its last position')
    assert.ok(r.infos.some(i => i.type === 'history_received'), `the client saw confirm_history: ${JSON.stringify(r.infos)}`)
    console.log(`restore path: restored_ids=${JSON.stringify(welcome.restored_ids)}, history from offset ${r.lastLive.offset} replayed 5 events`)
  } finally {
    r.cable.disconnect()
  }
})

test('resubscribe with history: without session recovery, `subscribe` carries the positions', { timeout: 14000 }, async () => {
  let r = await dropAndCatchUp('resub', { disableSessionRecovery: true })
  try {
    let welcome = r.inAfter[0]
    assert.doesNotMatch(r.openUrl, /[?&]sid=/)
    assert.ok(!welcome.restored, `a fresh session: ${JSON.stringify(welcome)}`)
    assert.deepEqual(r.connects.at(-1), { reconnect: true, restored: false })
    let subscribe = r.outAfter.find(f => f.command === 'subscribe')
    assert.ok(subscribe, `the client resubscribes: ${dump(r.after)}`)
    assert.equal(subscribe.identifier, IDENTIFIER)
    assert.deepEqual(subscribe.history?.streams?.[STREAM], { epoch: r.lastLive.epoch, offset: r.lastLive.offset }, 'from its last position')
    let confirm = r.inAfter.findIndex(f => f.type === 'confirm_subscription')
    let firstReplayed = r.inAfter.findIndex(f => f.message?.event === 'new_notification')
    assert.ok(confirm >= 0 && confirm < firstReplayed, 'confirm_subscription, then the replay')
    console.log(`history-replay path: resubscribed from offset ${r.lastLive.offset}, replayed 5 events`)
  } finally {
    r.cable.disconnect()
  }
})
