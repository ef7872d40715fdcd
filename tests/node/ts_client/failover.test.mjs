// Several nodes, as the client sees them, with a fake clock and fake sockets: each
// reconnection goes to the next URL of the list, in order, wrapping around; the backoff
// grows once per round over the list; a welcome starts a new round; the session id and
// the stream positions go with the client to the next node; logout stops everything.

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { createClient, reconnectPolicy } from '../../../generated/ts/dist/index.js'
import { FakeTimers, fakeWebSocket, settle, setup } from './fakes.mjs'

const A = 'ws://a.test/cable'
const B = 'ws://b.test/cable'
const C = 'ws://c.test/cable'
const NOTES = JSON.stringify({ account_id: 'a1', channel: 'NotificationChannel' })

/** The node a socket went to: its URL without the query the client added. */
const node = ws => ws.url.split('?')[0]

/** Refuses the next `count` sockets the client opens (fewer if it gives up); returns the delay before each retry. */
function refuseAll(clock, WS, count) {
  let delays = []
  for (let i = 0; i < count; i++) {
    WS.last.drop()
    let wait = clock.nextIn()
    if (wait === Infinity) break
    delays.push(wait)
    clock.advance(wait)
  }
  return delays
}

test('the url option: one URL or a non-empty list of them; anything else throws at once', () => {
  let clock = new FakeTimers()
  let WS = fakeWebSocket(clock)
  let make = url => createClient({ url, WebSocket: WS, timers: clock, autoConnect: false })
  for (let bad of [[], [''], '', [A, 5], undefined, 7]) {
    assert.throws(() => make(bad), e => e instanceof TypeError && /non-empty list/.test(e.message), JSON.stringify(bad))
  }
  assert.equal(WS.sockets.length, 0)
  assert.equal(make([A]).status.url, null, 'no URL while idle')
  let list = [A, B]
  let client = make(list)
  list.reverse()
  client.connect()
  assert.equal(node(WS.last), A, 'the list is read once, at construction')
  assert.equal(client.status.url, A)
})

test('failover part on its own: round-robin, the delay doubles once per round, gives up after maxAttempts rounds', async () => {
  let { Failover } = await import('../../../generated/ts/dist/runtime/failover.js')
  let f = new Failover([A, B, C], reconnectPolicy({ maxAttempts: 2, jitter: 0 }), () => 0.5)
  let steps = []
  assert.equal(f.url, A)
  for (let delay = f.next(); delay !== null; delay = f.next()) steps.push([f.url, delay, f.attempts])
  assert.deepEqual(steps, [
    [B, 1000, 1],
    [C, 1000, 2],
    [A, 1000, 3],
    [B, 2000, 4],
    [C, 2000, 5],
    [A, 2000, 6]
  ])
  assert.equal(f.next(), null, 'still given up')
  f.welcomed()
  assert.equal(f.attempts, 0)
  assert.deepEqual([f.next(), f.url], [1000, B], 'a new round from where it is')
  f.restart()
  assert.deepEqual([f.url, f.attempts], [A, 0], 'a fresh start from the first URL')
  let never = new Failover([A], reconnectPolicy({ maxAttempts: 0 }), () => 0.5)
  assert.equal(never.next(), null, 'maxAttempts 0: no reconnection at all')
})

test('in order, wrapping around: a socket that fails to open, closes before welcome, or goes stale moves on to the next URL', () => {
  let { clock, WS, client, states } = setup({ url: [A, B, C] })
  assert.equal(node(WS.last), A, 'the first URL first')
  assert.equal(client.status.url, A)
  assert.equal(client.status.state, 'connecting')

  WS.last.drop() // fails to open
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.url, B, 'the status names the next URL while waiting')
  clock.advance(clock.nextIn())
  assert.equal(node(WS.last), B)

  WS.last.accept(undefined, null) // opens, then closes before any welcome
  WS.last.drop()
  assert.equal(client.status.url, C)
  clock.advance(clock.nextIn())
  assert.equal(node(WS.last), C)

  clock.advance(6000) // never opens: stale
  assert.equal(WS.last.closed, true)
  assert.equal(client.status.reason, 'stale')
  assert.equal(client.status.url, A, 'wraps around to the first')
  clock.advance(clock.nextIn())
  assert.equal(node(WS.last), A)
  WS.last.accept()
  assert.equal(client.status.state, 'connected')
  assert.equal(client.status.url, A)
  assert.deepEqual(WS.sockets.map(node), [A, B, C, A])
  assert.deepEqual(
    states.filter(s => s.state === 'reconnecting' && s.retryAt !== null).map(s => [s.url, s.attempt]),
    [[B, 1], [C, 2], [A, 3]],
    'one attempt per URL, counted over the list'
  )
})

test('backoff across the list: 1 s to each URL of the first round, 2 s each in the second, …; maxAttempts counts rounds', () => {
  let { clock, WS, client } = setup({ url: [A, B, C], reconnect: { maxAttempts: 4 } })
  let delays = refuseAll(clock, WS, 20)
  assert.deepEqual(delays, [1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000, 8000, 8000, 8000])
  assert.deepEqual(WS.sockets.map(node), [A, B, C, A, B, C, A, B, C, A, B, C, A])
  assert.equal(client.status.state, 'closed')
  assert.equal(client.status.reason, 'gave_up')
  assert.equal(client.status.url, null)
  clock.advance(10 * 60 * 1000)
  assert.equal(WS.sockets.length, 13, 'nothing after giving up')

  // connect() starts over, at the first URL.
  client.connect()
  assert.equal(node(WS.last), A)
  assert.equal(client.status.attempt, 0)
})

test('the jitter spreads every delay of a round: a dead node does not send all its clients to the next at once', () => {
  let spread = []
  for (let r of [0, 0.999999]) {
    let { clock, WS } = setup({ url: [A, B], random: () => r })
    spread.push(refuseAll(clock, WS, 4))
  }
  assert.deepEqual(spread, [
    [750, 750, 1500, 1500],
    [1250, 1250, 2500, 2500]
  ])
})

test('a welcome resets the backoff: the next loss goes to the URL after the welcoming one, after the first delay', () => {
  let { clock, WS, client } = setup({ url: [A, B, C] })
  assert.deepEqual(refuseAll(clock, WS, 3), [1000, 1000, 1000], 'A, B and C refuse')
  WS.last.drop() // A again
  assert.equal(clock.nextIn(), 2000, 'the second round waits longer')
  clock.advance(2000)
  assert.equal(node(WS.last), B)
  WS.last.accept()
  assert.equal(client.status.attempt, 0)

  WS.last.drop() // B is lost
  assert.equal(client.status.attempt, 1)
  assert.equal(client.status.url, C)
  assert.equal(clock.nextIn(), 1000)
  clock.advance(1000)
  assert.equal(node(WS.last), C)
})

test('server_restart and too_slow move on; reconnect:false stops; connect() while waiting tries the next URL now', () => {
  let { clock, WS, client } = setup({ url: [A, B] })
  WS.last.accept().receive({ type: 'disconnect', reason: 'server_restart', reconnect: true })
  assert.equal(client.status.url, B)
  client.connect()
  assert.equal(node(WS.last), B, 'at once')
  assert.equal(clock.nextIn(), 6000, 'only the new socket is waited for (its stale timer); the retry timer is gone')
  WS.last.accept().receive({ type: 'disconnect', reason: 'too_slow', reconnect: true })
  clock.advance(clock.nextIn())
  assert.equal(node(WS.last), A)
  WS.last.accept().receive({ type: 'disconnect', reason: 'invalid_request', reconnect: false })
  assert.equal(client.status.state, 'closed')
  clock.advance(60000)
  assert.deepEqual(WS.sockets.map(node), [A, B, A])
})

test('a refused token is not a failed node: the refreshed token goes to the same URL', async () => {
  let n = 0
  let { WS, client } = setup({ url: [A, B], token: async () => `tok${n++}` })
  await settle()
  WS.last.accept().receive({ type: 'disconnect', reason: 'token_expired', reconnect: false })
  await settle()
  assert.equal(WS.sockets.length, 2)
  assert.equal(WS.last.url, `${A}?token=tok1`)
  WS.last.accept()
  assert.equal(client.status.url, A)
})

test('the session id and the stream positions go with the client to the next node; duplicates a node replays are dropped', async () => {
  let { clock, WS, client } = setup({ url: [A, B, C] })
  let got = []
  let connected = []
  let resyncs = []
  let sub = client.notification.subscribe(
    { account_id: 'a1' },
    { new_notification: p => got.push(p.id), onConnected: i => connected.push(i), onResync: r => resyncs.push(r) }
  )
  let data = (id, offset, epoch = 'e1', stream = 'notifications:a1') => ({ identifier: NOTES, message: { event: 'new_notification', payload: { id } }, stream_id: stream, epoch, offset })
  let a = WS.last.accept(undefined, { type: 'welcome', sid: 'sid-a' })
  a.receive({ identifier: NOTES, type: 'confirm_subscription' })
  await sub.ready
  a.receive(data('n1', 1))
  a.receive(data('n2', 2))
  a.receive({ type: 'ping', message: 1700000100 })
  a.drop() // node A dies

  // B is down too: the same session is offered to C.
  clock.advance(clock.nextIn())
  assert.equal(node(WS.last), B)
  assert.match(WS.last.url, /[?&]sid=sid-a(&|$)/)
  WS.last.drop()
  clock.advance(clock.nextIn())
  let c = WS.last
  assert.equal(node(c), C)
  assert.equal(c.url, `${C}?token=t0&sid=sid-a`, 'the token and the session of A, on C')

  // C shares A's engine and resumes the session: it kept the subscription, so the client
  // asks it for the history after A's last position, and drops what it replays twice.
  c.accept(undefined, { type: 'welcome', sid: 'sid-c', restored: true, restored_ids: [NOTES] })
  assert.deepEqual(c.sent, [{ command: 'history', identifier: NOTES, history: { since: 1700000100, streams: { 'notifications:a1': { epoch: 'e1', offset: 2 } } } }])
  assert.deepEqual(connected.at(-1), { reconnected: true, restored: true })
  c.receive(data('n2', 2))
  c.receive(data('n3', 3))
  c.receive({ identifier: NOTES, type: 'confirm_history' })
  c.receive(data('n4', 4))
  c.receive({ type: 'ping', message: 1700000200 })
  assert.deepEqual(got, ['n1', 'n2', 'n3', 'n4'])
  c.drop()

  // A is back but knows nothing of C's session (its own engine): a fresh session, so the
  // client resubscribes asking for the history after C's position; A cannot serve it.
  clock.advance(clock.nextIn())
  let a2 = WS.last
  assert.equal(node(a2), A)
  assert.match(a2.url, /[?&]sid=sid-c(&|$)/)
  a2.accept(undefined, { type: 'welcome', sid: 'sid-a2' })
  assert.deepEqual(a2.sent, [{ command: 'subscribe', identifier: NOTES, history: { since: 1700000200, streams: { 'notifications:a1': { epoch: 'e1', offset: 4 } } } }])
  a2.receive({ identifier: NOTES, type: 'confirm_subscription' })
  a2.receive({ identifier: NOTES, type: 'reject_history' })
  assert.deepEqual(resyncs, [{ reason: 'history_rejected' }], 'the app is told to reload, never a silent gap')
  assert.deepEqual(connected.at(-1), { reconnected: true, restored: false })
  a2.receive(data('n5', 1, 'e9'))
  assert.deepEqual(got, ['n1', 'n2', 'n3', 'n4', 'n5'])
})

test('logout stops everything: no attempt at the next URL, subscriptions and performs end, connect() starts afresh at the first URL', async () => {
  let { clock, WS, client } = setup({ url: [A, B] })
  let sub = client.notification.subscribe({ account_id: 'a1' })
  let conv = client.aiConversation.subscribe({ conversation_id: 'c1' })
  let a = WS.last.accept(undefined, { type: 'welcome', sid: 'sid-a' })
  a.receive({ identifier: NOTES, type: 'confirm_subscription' })
  await sub.ready
  a.drop()
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.url, B)
  let queued = conv.perform('send_message', { content: 'later' })

  client.disconnect()
  await assert.rejects(queued, e => e.code === 'closed')
  assert.equal(sub.state, 'closed')
  assert.equal(client.status.state, 'closed')
  assert.equal(client.status.reason, 'disconnected')
  assert.equal(client.status.url, null)
  assert.equal(clock.nextIn(), Infinity, 'no timer left')
  clock.advance(10 * 60 * 1000)
  assert.equal(WS.sockets.length, 1, 'B is never tried')

  client.connect()
  assert.equal(WS.last.url, `${A}?token=t0`, 'the first URL, and no session to resume')
  assert.equal(WS.last.sent.length, 0)
  WS.last.accept()
  assert.deepEqual(WS.last.sent, [], 'nothing is resubscribed after a logout')
})
