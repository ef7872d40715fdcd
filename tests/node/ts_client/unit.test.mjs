// The client's timing and state machine with a fake clock and a fake WebSocket: no server,
// no real time. Backoff 1, 2, 4, 8 … s with a cap and a give-up after 10 attempts (or
// never), stale detection after 6 s without frames, attempts reset by `welcome`, token
// refresh once, the offline queue and reply timeouts, history on resubscribe, duplicates;
// then each part of the runtime on its own (protocol, registry, queue, token, connection).

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { CableClientError, DEFAULT_RECONNECT, QueueFullError, backoffDelay, reconnectPolicy } from '../../../generated/ts/dist/index.js'
import { CableClient, createClient } from '../../../generated/ts/dist/index.js'
import { FakeTimers, fakeWebSocket, settle, setup } from './fakes.mjs'

const NOTES = JSON.stringify({ account_id: 'a1', channel: 'NotificationChannel' })

test('backoffDelay: 1 s, 2 s, 4 s … capped at 30 s, with jitter within ±25 % and never above the cap', () => {
  let policy = reconnectPolicy()
  assert.deepEqual(policy, DEFAULT_RECONNECT)
  assert.deepEqual(policy, { baseDelayMs: 1000, maxDelayMs: 30000, jitter: 0.25, maxAttempts: 10 })
  let mid = n => backoffDelay(n, policy, () => 0.5)
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20, 1000].map(mid), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000])
  assert.deepEqual([0, 1, 2, 3].map(n => backoffDelay(n, policy, () => 0)), [750, 1500, 3000, 6000])
  assert.deepEqual([0, 1, 2, 3].map(n => backoffDelay(n, policy, () => 0.999999)), [1250, 2500, 5000, 10000])
  assert.equal(backoffDelay(10, policy, () => 0.999999), 30000, 'jitter never exceeds the cap')
  for (let i = 0; i < 200; i++) {
    let n = i % 8
    let d = backoffDelay(n, policy)
    let nominal = Math.min(30000, 1000 * 2 ** n)
    assert.ok(d >= nominal * 0.75 - 1 && d <= Math.min(30000, nominal * 1.25) + 1, `attempt ${n}: ${d}`)
  }
  let custom = reconnectPolicy({ baseDelayMs: 500, maxDelayMs: 3000, jitter: 0 })
  assert.deepEqual([0, 1, 2, 3, 4].map(n => backoffDelay(n, custom)), [500, 1000, 2000, 3000, 3000])
})

test('reconnects with 1, 2, 4, 8 … s (fake clock), gives up after 10 attempts', async () => {
  let { clock, WS, client, states } = setup()
  assert.equal(client.status.state, 'connecting')
  assert.equal(WS.sockets.length, 1)
  assert.deepEqual(WS.last.protocols, ['actioncable-v1-ext-json', 'actioncable-v1-json'])
  assert.equal(WS.last.url, 'ws://cable.test/cable?token=t0')
  WS.last.accept()
  assert.equal(client.status.state, 'connected')
  assert.equal(client.status.protocol, 'ext')

  WS.last.drop()
  let delays = []
  for (let attempt = 1; attempt <= 10; attempt++) {
    assert.equal(client.status.state, 'reconnecting')
    assert.equal(client.status.attempt, attempt)
    let before = WS.sockets.length
    let wait = clock.nextIn()
    clock.advance(wait - 1)
    assert.equal(WS.sockets.length, before, `attempt ${attempt} not before its delay`)
    clock.advance(1)
    assert.equal(WS.sockets.length, before + 1, `attempt ${attempt} at its delay`)
    delays.push(wait)
    WS.last.drop() // refused
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000])
  assert.equal(client.status.state, 'closed')
  assert.equal(client.status.reason, 'gave_up')
  clock.advance(10 * 60 * 1000)
  assert.equal(WS.sockets.length, 11, 'no attempt after giving up')
  assert.deepEqual([...new Set(states.map(s => s.state))], ['connected', 'reconnecting', 'closed'])

  // connect() starts over.
  client.connect()
  assert.equal(WS.sockets.length, 12)
  WS.last.accept()
  assert.equal(client.status.state, 'connected')
})

test('maxAttempts: Infinity never gives up; the delay stays at the cap', () => {
  let { clock, WS, client } = setup({ reconnect: { maxAttempts: Infinity, maxDelayMs: 5000 } })
  WS.last.drop()
  for (let i = 0; i < 60; i++) {
    clock.advance(clock.nextIn())
    WS.last.drop()
  }
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.attempt, 61)
  assert.equal(clock.nextIn(), 5000)
  clock.advance(5000)
  WS.last.accept()
  assert.equal(client.status.state, 'connected')
  assert.equal(client.status.attempt, 0)
})

test('welcome resets the attempts: the next loss starts again at 1 s', () => {
  let { clock, WS, client } = setup()
  WS.last.drop()
  clock.advance(1000)
  WS.last.drop()
  clock.advance(2000)
  WS.last.drop()
  assert.equal(clock.nextIn(), 4000)
  clock.advance(4000)
  WS.last.accept()
  WS.last.drop()
  assert.equal(client.status.attempt, 1)
  assert.equal(clock.nextIn(), 1000)
})

test('a connection without frames for 6 s is stale: closed and reconnected; pings keep it alive', () => {
  let { clock, WS, client } = setup()
  let first = WS.last.accept()
  for (let i = 0; i < 5; i++) {
    clock.advance(3000)
    first.receive({ type: 'ping', message: 1700000000 + i })
  }
  assert.equal(client.status.state, 'connected', 'pings every 3 s keep it alive')
  clock.advance(5999)
  assert.equal(client.status.state, 'connected')
  clock.advance(1)
  assert.equal(first.closed, true, 'the stale socket is closed')
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.reason, 'stale')
  clock.advance(1000)
  assert.equal(WS.sockets.length, 2)
  // A socket that never opens is stale too.
  clock.advance(6000)
  assert.equal(WS.sockets[1].closed, true)
  assert.equal(client.status.attempt, 2)
})

test('server disconnects: server_restart reconnects with backoff; reconnect:false stops', () => {
  let { clock, WS, client } = setup()
  WS.last.accept().receive({ type: 'disconnect', reason: 'server_restart', reconnect: true })
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.reason, 'server_restart')
  assert.equal(clock.nextIn(), 1000)
  clock.advance(1000)
  WS.last.accept().receive({ type: 'disconnect', reason: 'invalid_request', reconnect: false })
  assert.equal(client.status.state, 'closed')
  assert.equal(client.status.reason, 'invalid_request')
  clock.advance(60000)
  assert.equal(WS.sockets.length, 2)
})

test('unauthorized / token_expired: the provider is called once with refresh, then once more only after a welcome', async () => {
  let calls = []
  let n = 0
  let { clock, WS, client } = setup({ token: async r => (calls.push(r), `tok${n++}`) })
  await settle()
  assert.equal(WS.last.url, 'ws://cable.test/cable?token=tok0')
  WS.last.accept().receive({ type: 'disconnect', reason: 'token_expired', reconnect: false })
  assert.equal(client.status.state, 'reconnecting')
  await settle()
  assert.equal(WS.sockets.length, 2, 'reconnects at once with the fresh token')
  assert.equal(WS.last.url, 'ws://cable.test/cable?token=tok1', 'no sid: the expired session is not resumed')
  WS.last.accept()
  // A later expiry refreshes again (the budget is per welcome).
  WS.last.receive({ type: 'disconnect', reason: 'token_expired', reconnect: false })
  await settle()
  assert.equal(WS.last.url, 'ws://cable.test/cable?token=tok2')
  // Refused right away again: no loop.
  WS.last.accept(undefined, null)
  WS.last.receive({ type: 'disconnect', reason: 'unauthorized', reconnect: false })
  await settle()
  clock.advance(60000)
  await settle()
  assert.equal(client.status.state, 'closed')
  assert.equal(client.status.reason, 'unauthorized')
  assert.equal(WS.sockets.length, 3)
  assert.deepEqual(calls, [
    { refresh: false, reason: null },
    { refresh: true, reason: 'token_expired' },
    { refresh: true, reason: 'token_expired' }
  ])
  // Plain reconnections reuse the cached token (no provider call).
})

test('a failing token provider is reported and retried with backoff', async () => {
  let fail = true
  let { clock, WS, client, errors } = setup({ token: () => (fail ? Promise.reject(new Error('auth down')) : 'ok') })
  await settle()
  assert.equal(WS.sockets.length, 0)
  assert.equal(client.status.state, 'reconnecting')
  assert.equal(client.status.reason, 'token_unavailable')
  assert.equal(errors[0].message, 'auth down')
  fail = false
  clock.advance(1000)
  await settle()
  assert.equal(WS.sockets.length, 1)
  assert.equal(WS.last.url, 'ws://cable.test/cable?token=ok')
})

test('subscriptions: sent after welcome, resubscribed with history, duplicates dropped', async () => {
  let { clock, WS, client } = setup()
  let got = []
  let resyncs = []
  let sub = client.notification.subscribe({ account_id: 'a1' }, { new_notification: p => got.push(p.id), onResync: r => resyncs.push(r) })
  assert.equal(WS.last.sent.length, 0, 'nothing before welcome')
  let ws = WS.last.accept()
  assert.deepEqual(ws.sent, [{ command: 'subscribe', identifier: NOTES }], 'a first subscribe asks no history')
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  await sub.ready
  let data = (id, offset, epoch = 'e1') => ({ identifier: NOTES, message: { event: 'new_notification', payload: { id } }, stream_id: 'notifications:a1', epoch, offset })
  ws.receive(data('n1', 1))
  ws.receive(data('n2', 2))
  ws.receive(data('n2', 2)) // a duplicate
  ws.receive(data('n1', 1)) // an old one
  ws.receive({ type: 'ping', message: 1700000123 })
  assert.deepEqual(got, ['n1', 'n2'])

  ws.drop()
  clock.advance(1000)
  // Not restored (the server forgot the sid): resubscribe from the last position.
  ws = WS.last
  assert.match(ws.url, /sid=sid1/)
  ws.accept(undefined, { type: 'welcome', sid: 'sid2' })
  assert.deepEqual(ws.sent, [{ command: 'subscribe', identifier: NOTES, history: { since: 1700000123, streams: { 'notifications:a1': { epoch: 'e1', offset: 2 } } } }])
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  ws.receive(data('n3', 3))
  ws.receive({ identifier: NOTES, type: 'confirm_history' })
  assert.deepEqual(got, ['n1', 'n2', 'n3'])

  // Restored: a `history` command instead of a subscribe.
  ws.drop()
  clock.advance(1000)
  ws = WS.last
  assert.match(ws.url, /sid=sid2/)
  ws.accept(undefined, { type: 'welcome', sid: 'sid3', restored: true, restored_ids: [NOTES, 'stale-id'] })
  assert.deepEqual(ws.sent, [
    { command: 'unsubscribe', identifier: 'stale-id' },
    { command: 'history', identifier: NOTES, history: { since: 1700000123, streams: { 'notifications:a1': { epoch: 'e1', offset: 3 } } } }
  ])
  assert.equal(sub.state, 'subscribed')

  // History rejected: the subscription must resync; its positions start afresh.
  ws.receive({ identifier: NOTES, type: 'reject_history' })
  assert.deepEqual(resyncs, [{ reason: 'history_rejected' }])
  ws.receive(data('n9', 1, 'e2'))
  assert.deepEqual(got, ['n1', 'n2', 'n3', 'n9'])
})

test('plain ActionCable (v1): no history, a resync after every reconnection', async () => {
  let { clock, WS, client } = setup()
  let resyncs = []
  let sub = client.notification.subscribe({ account_id: 'a1' }, { onResync: r => resyncs.push(r) })
  let ws = WS.last.accept('actioncable-v1-json', { type: 'welcome' })
  assert.equal(client.status.protocol, 'v1')
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  await sub.ready
  ws.drop()
  clock.advance(1000)
  ws = WS.last
  assert.doesNotMatch(ws.url, /sid=/)
  ws.accept('', { type: 'welcome' })
  assert.equal(client.status.protocol, 'v1', 'no subprotocol at all is plain ActionCable too')
  assert.deepEqual(ws.sent, [{ command: 'subscribe', identifier: NOTES }])
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  assert.deepEqual(resyncs, [{ reason: 'no_history' }])
})

test('offline queue: bounded, flushed in order after confirmation; replies, timeouts and lost replies', async () => {
  let { clock, WS, client } = setup({ offlineQueueLimit: 2, replyTimeoutMs: 5000 })
  let conv = client.aiConversation.subscribe({ conversation_id: 'c1' })
  let id = conv.identifier
  let first = conv.perform('typing_indicator', { conversation_id: 'c1', status: 'typing' })
  let second = conv.perform('send_message', { content: 'hi' })
  await assert.rejects(conv.perform('send_message', { content: 'too many' }), e => e instanceof QueueFullError && e.code === 'queue_full' && e.limit === 2)
  let ws = WS.last.accept()
  assert.deepEqual(ws.commands('message'), [], 'not before the subscription is confirmed')
  ws.receive({ identifier: id, type: 'confirm_subscription' })
  let messages = ws.commands('message')
  assert.deepEqual(
    messages.map(m => JSON.parse(m.data)),
    [
      { conversation_id: 'c1', status: 'typing', action: 'typing_indicator', $ref: '1' },
      { content: 'hi', action: 'send_message', $ref: '2' }
    ]
  )
  ws.receive({ identifier: id, message: { $reply: { ref: '2', action: 'send_message', ok: false, error: { code: 'conversation_closed', message: 'closed' } } } })
  ws.receive({ identifier: id, message: { $reply: { ref: '1', action: 'typing_indicator', ok: true, data: null } } })
  assert.equal(await first, null)
  await assert.rejects(second, e => e.name === 'ActionError' && e.code === 'conversation_closed' && e.action === 'send_message')

  // No reply in time.
  let slow = conv.perform('send_message', { content: 'slow' })
  clock.advance(4999)
  await settle()
  clock.advance(1)
  await assert.rejects(slow, e => e instanceof CableClientError && e.code === 'timeout')

  // Sent, then the connection is lost: the reply can never come.
  let lost = conv.perform('send_message', { content: 'lost' })
  ws.drop()
  await assert.rejects(lost, e => e instanceof CableClientError && e.code === 'disconnected')

  // Released before it could be sent.
  let released = conv.perform('send_message', { content: 'never' })
  conv.unsubscribe()
  await assert.rejects(released, e => e instanceof CableClientError && e.code === 'unsubscribed')
})

test('reference counting and rejection', async () => {
  let { WS, client } = setup()
  let ws = WS.last.accept()
  let a = client.notification.subscribe({ account_id: 'a1' })
  let b = client.notification.subscribe({ account_id: 'a1' })
  assert.equal(ws.commands('subscribe').length, 1)
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  await Promise.all([a.ready, b.ready])
  let late = client.notification.subscribe({ account_id: 'a1' })
  await late.ready // already confirmed: ready at once
  a.unsubscribe()
  late.unsubscribe()
  assert.equal(ws.commands('unsubscribe').length, 0)
  b.unsubscribe()
  assert.deepEqual(ws.commands('unsubscribe'), [{ command: 'unsubscribe', identifier: NOTES }])

  let rejected = []
  let denied = client.customer.subscribe({}, { onRejected: r => rejected.push(r) })
  ws.receive({ identifier: denied.identifier, type: 'reject_subscription', reason: 'forbidden' })
  await assert.rejects(denied.ready, e => e.code === 'rejected')
  assert.equal(denied.state, 'rejected')
  assert.deepEqual(rejected, [{ reason: 'forbidden' }])
  await assert.rejects(denied.perform('x', {}), e => e.code === 'rejected')
  denied.unsubscribe()
  assert.equal(ws.commands('unsubscribe').length, 1, 'nothing to unsubscribe from after a rejection')
})

test('handlers that throw are reported and do not stop delivery', async () => {
  let { WS, client, errors } = setup()
  let got = []
  client.notification.subscribe({ account_id: 'a1' }, { new_notification: () => { throw new Error('boom') } })
  client.notification.subscribe({ account_id: 'a1' }, { new_notification: p => got.push(p.id) })
  let ws = WS.last.accept()
  ws.receive({ identifier: NOTES, type: 'confirm_subscription' })
  ws.receive({ identifier: NOTES, message: { event: 'new_notification', payload: { id: 'n1' } } })
  assert.deepEqual(got, ['n1'])
  assert.equal(errors[0].message, 'boom')
})

test('package.json: name and version from the schema, ESM, every export built, no runtime dependency', async () => {
  let { readFile, access } = await import('node:fs/promises')
  let dir = new URL('../../../generated/ts/', import.meta.url)
  let pkg = JSON.parse(await readFile(new URL('package.json', dir), 'utf8'))
  let { SCHEMA_VERSION } = await import('../../../generated/ts/dist/index.js')
  assert.equal(pkg.version, SCHEMA_VERSION)
  assert.equal(pkg.type, 'module')
  assert.equal(pkg.dependencies, undefined)
  assert.deepEqual(Object.keys(pkg.exports), ['.', './react', './package.json'])
  for (let [entry, targets] of Object.entries(pkg.exports)) {
    if (typeof targets === 'string') continue
    for (let file of Object.values(targets)) await access(new URL(file, dir))
    let mod = await import(new URL(targets.import, dir).href)
    assert.ok(Object.keys(mod).length > 0, entry)
  }
  assert.deepEqual(pkg.peerDependenciesMeta, { react: { optional: true } })
})

// ---------------------------------------------------------------------------------------
// The parts of the runtime on their own: the protocol, the registry, the queue, the token
// source and the connection, each driven through its own interface.
// ---------------------------------------------------------------------------------------

const runtime = name => import(`../../../generated/ts/dist/runtime/${name}.js`)

/** A `FrameHandler` that records each call as `[method, ...args]`. */
function recordingHandler() {
  let calls = []
  let handler = new Proxy({}, { get: (_, method) => (...args) => calls.push([method, ...args]) })
  return { calls, handler }
}

test('protocol: every frame decodes into one handler call; the rest is ignored', async () => {
  let { dispatchFrame } = await runtime('protocol')
  let { calls, handler } = recordingHandler()
  let frames = [
    { type: 'welcome', sid: 's1', restored: true, restored_ids: ['a', 7, 'b'] },
    { type: 'welcome', sid: 5, restored_ids: ['a'] },
    { type: 'ping', message: 1700000000 },
    { type: 'ping', message: 'soon' },
    { type: 'disconnect', reason: 'server_restart', reconnect: true },
    { type: 'disconnect' },
    { type: 'confirm_subscription', identifier: 'i' },
    { type: 'confirm_subscription' },
    { type: 'reject_subscription', identifier: 'i', reason: 'forbidden' },
    { type: 'reject_subscription', identifier: 'i' },
    { type: 'confirm_history', identifier: 'i' },
    { type: 'reject_history', identifier: 'i' },
    { identifier: 'i', message: { event: 'e' }, stream_id: 's', epoch: 'e1', offset: 3 },
    { identifier: 'i', message: 'text', stream_id: 's', epoch: 'e1' },
    { identifier: 'i', message: { $reply: { ref: '1', ok: true } } },
    { identifier: 'i', message: { $reply: { ref: '2', ok: false, error: { code: 'nope', message: 'no', details: [{ path: '/a', message: 'm' }] } } } },
    { identifier: 'i', message: { $reply: { ref: '3' } } },
    { identifier: 'i', message: { $reply: { ok: true } } },
    { identifier: 'i' },
    { message: 'no identifier' }
  ]
  for (let f of frames) dispatchFrame(JSON.stringify(f), handler)
  for (let raw of ['{not json', '[1,2]', 'null', '5']) dispatchFrame(raw, handler)
  assert.deepEqual(calls, [
    ['welcome', { sid: 's1', restored: true, restoredIds: ['a', 'b'] }],
    ['welcome', { sid: null, restored: false, restoredIds: [] }],
    ['ping', 1700000000],
    ['disconnect', { reason: 'server_restart', reconnect: true }],
    ['disconnect', { reason: 'disconnect', reconnect: false }],
    ['confirmed', 'i'],
    ['rejected', 'i', 'forbidden'],
    ['rejected', 'i', null],
    ['historyRejected', 'i'],
    ['message', 'i', { stream: 's', epoch: 'e1', offset: 3 }, { kind: 'event', message: { event: 'e' } }],
    ['message', 'i', null, { kind: 'event', message: 'text' }],
    ['message', 'i', null, { kind: 'reply', reply: { ref: '1', ok: true, data: null } }],
    ['message', 'i', null, { kind: 'reply', reply: { ref: '2', ok: false, code: 'nope', message: 'no', details: [{ path: '/a', message: 'm' }] } }],
    ['message', 'i', null, { kind: 'reply', reply: { ref: '3', ok: false, code: 'backend_unavailable', message: 'the action failed', details: [] } }],
    ['message', 'i', null, { kind: 'reply', reply: null }]
  ])
})

test('protocol: subprotocols, and the commands as they go on the wire', async () => {
  let p = await runtime('protocol')
  assert.deepEqual(p.offeredProtocols(undefined), ['actioncable-v1-ext-json', 'actioncable-v1-json'])
  assert.deepEqual(p.offeredProtocols('v1'), ['actioncable-v1-json'])
  assert.deepEqual(['actioncable-v1-ext-json', 'actioncable-v1-json', '', undefined, 'graphql-ws'].map(p.negotiatedDialect), ['ext', 'v1', 'v1', 'v1', null])
  let positions = new Map([['s1', { epoch: 'e1', offset: 2 }], ['s2', { epoch: 'e2', offset: 9 }]])
  let history = p.historyRequest(1700000000, positions)
  let wire = [
    p.subscribeCommand('i'),
    p.subscribeCommand('i', p.historyRequest(1700000000, new Map())),
    p.historyCommand('i', history),
    p.unsubscribeCommand('i'),
    p.messageCommand('i', JSON.stringify(p.performBody('send', { content: 'hi', action: 'spoofed' }, '7'))),
    p.messageCommand('i', JSON.stringify(p.performBody('ping', [1, 2], '8')))
  ].map(c => JSON.stringify(c))
  assert.deepEqual(wire, [
    '{"command":"subscribe","identifier":"i"}',
    '{"command":"subscribe","identifier":"i","history":{"since":1700000000}}',
    '{"command":"history","identifier":"i","history":{"since":1700000000,"streams":{"s1":{"epoch":"e1","offset":2},"s2":{"epoch":"e2","offset":9}}}}',
    '{"command":"unsubscribe","identifier":"i"}',
    '{"command":"message","identifier":"i","data":"{\\"content\\":\\"hi\\",\\"action\\":\\"send\\",\\"$ref\\":\\"7\\"}"}',
    '{"command":"message","identifier":"i","data":"{\\"action\\":\\"ping\\",\\"$ref\\":\\"8\\"}"}'
  ])
})

/** A subscriber that records what its shared subscription tells it. */
function recordingSubscriber(log, name) {
  return Object.fromEntries(['_notifyState', '_confirmed', '_rejected', '_disconnected', '_resync', '_deliver', '_close'].map(m => [m, (...args) => log.push([name, m, ...args])]))
}

test('registry: one shared subscription per identifier, released with its last subscriber; positions drop duplicates', async () => {
  let { SubscriptionRegistry } = await runtime('registry')
  let registry = new SubscriptionRegistry()
  let def = { name: 'C', events: [], eventKey: 'event', payloadKey: 'payload' }
  let first = registry.obtain('k', def, {})
  let again = registry.obtain('k', def, {})
  assert.equal(first.fresh, true)
  assert.equal(again.fresh, false)
  assert.equal(again.entry, first.entry)
  let entry = first.entry
  let log = []
  let a = recordingSubscriber(log, 'a')
  let b = recordingSubscriber(log, 'b')
  entry.handles.add(a)
  entry.handles.add(b)

  entry.pause(true)
  assert.deepEqual(log, [], 'a pending subscription has nothing to pause')
  entry.confirm({ reconnected: false, restored: false })
  entry.pause(true)
  entry.pause(true)
  assert.equal(entry.state, 'pending')
  assert.deepEqual(log.map(l => l.slice(0, 2).join('.')), ['a._notifyState', 'a._confirmed', 'b._notifyState', 'b._confirmed', 'a._notifyState', 'a._disconnected', 'b._notifyState', 'b._disconnected'])

  let at = (stream, epoch, offset) => entry.advance({ stream, epoch, offset })
  assert.deepEqual([at('s', 'e1', 1), at('s', 'e1', 2), at('s', 'e1', 2), at('s', 'e1', 1), at('t', 'e1', 1), at('s', 'e2', 1), at('s', 'e2', 2)], [true, true, false, false, true, true, true])
  assert.deepEqual([...entry.positions], [['s', { epoch: 'e2', offset: 2 }], ['t', { epoch: 'e1', offset: 1 }]])
  log.length = 0
  entry.historyRejected()
  assert.equal(entry.positions.size, 0)
  assert.deepEqual(log, [['a', '_resync', { reason: 'history_rejected' }], ['b', '_resync', { reason: 'history_rejected' }]])

  assert.equal(registry.leave(entry, a), false, 'b still holds it')
  assert.equal(registry.holds(entry), true)
  assert.equal(registry.leave(entry, b), true, 'the last one releases it')
  assert.equal(registry.holds(entry), false)
  assert.equal(registry.get('k'), undefined)
  assert.equal(registry.obtain('k', def, {}).fresh, true, 'a later subscribe starts a new one')
  assert.deepEqual(registry.clear().map(e => e.key), ['k'])
  assert.deepEqual(registry.snapshot(), [])
})

test('queue: waits until it can send, bounded, flushed per subscription in order; replies, timeouts and failures settle it', async () => {
  let { PerformQueue } = await runtime('queue')
  let clock = new FakeTimers()
  let sent = []
  let ready = new Set()
  let queue = new PerformQueue({ offlineQueueLimit: 2, replyTimeoutMs: 1000 }, clock, { canSend: e => ready.has(e), send: c => sent.push(c) })
  let x = { key: 'x' }
  let y = { key: 'y' }
  let outcomes = []
  let track = (name, p) => p.then(v => outcomes.push([name, 'ok', v]), e => outcomes.push([name, e.name, e.code, e.message]))
  track('x1', queue.perform(x, 'a', { n: 1 }))
  track('y1', queue.perform(y, 'b', { n: 2 }))
  track('x2', queue.perform(x, 'c', { n: 3 }))
  await settle()
  assert.deepEqual(outcomes, [['x2', 'QueueFullError', 'queue_full', 'the offline queue is full (2 requests waiting for the connection)']])
  assert.deepEqual(sent, [])

  ready.add(x)
  queue.flush(x)
  assert.deepEqual(sent, [{ command: 'message', identifier: 'x', data: '{"n":1,"action":"a","$ref":"1"}' }], 'only what waited for x')
  track('x3', queue.perform(x, 'd', {}, { timeoutMs: 50 }))
  assert.equal(sent.length, 2, 'sent at once while x can send')
  queue.settle({ ref: '1', ok: false, code: 'nope', message: 'no', details: [] })
  queue.settle({ ref: '1', ok: true, data: 'late' })
  queue.settle({ ref: '99', ok: true, data: 'unknown' })
  clock.advance(50)
  queue.failWaiting(() => new Error('gone'), x)
  await settle()
  assert.deepEqual(outcomes.slice(1), [
    ['x1', 'ActionError', 'nope', 'no'],
    ['x3', 'CableClientError', 'timeout', 'no reply to `d` within 50 ms']
  ])
  assert.deepEqual(clock.timers.size, 0, 'settled requests leave no timer behind')

  ready.add(y)
  queue.flush(y)
  track('y2', queue.perform(y, 'e', {}))
  queue.settle({ ref: '2', ok: true, data: { fine: true } })
  queue.failInFlight(() => Object.assign(new Error('lost'), { code: 'disconnected' }))
  await settle()
  assert.deepEqual(outcomes.slice(3), [['y1', 'ok', { fine: true }], ['y2', 'Error', 'disconnected', 'lost']])
  assert.deepEqual(sent.map(c => JSON.parse(c.data).$ref), ['1', '4', '2', '5'])
})

test('token source: a provider is asked again only once per welcome; its answer is kept', async () => {
  let { TokenSource } = await runtime('token')
  assert.equal(new TokenSource(undefined).known(), null)
  let fixed = new TokenSource('t')
  assert.equal(fixed.known(), 't')
  assert.equal(fixed.refreshAfter('token_expired'), false, 'a fixed token cannot be refreshed')

  let requests = []
  let source = new TokenSource(r => (requests.push(r), `p${requests.length}`))
  assert.equal(source.known(), undefined, 'the provider must be asked')
  source.accept(await source.ask())
  assert.equal(source.known(), 'p1', 'kept for the next reconnection')
  assert.equal(source.refreshAfter('unauthorized'), true)
  assert.equal(source.known(), undefined)
  source.accept(await source.ask())
  assert.equal(source.refreshAfter('token_expired'), false, 'once per welcome')
  source.renewRefresh()
  assert.equal(source.refreshAfter('token_expired'), true)
  source.forget()
  source.set('fixed')
  assert.equal(source.known(), 'fixed')
  assert.deepEqual(requests, [{ refresh: false, reason: null }, { refresh: true, reason: 'unauthorized' }])
})

test('connection: frames go to the owner as received; the owner hears of a loss before the reconnection and of a stop before the status', async () => {
  let { Connection } = await runtime('connection')
  let clock = new FakeTimers()
  let WS = fakeWebSocket(clock)
  let events = []
  let owner = {
    received: data => events.push(['received', data]),
    lost: wasWelcomed => events.push(['lost', wasWelcomed, conn.status.state]),
    stopped: reason => events.push(['stopped', reason, conn.status.state]),
    report: e => events.push(['report', e.message])
  }
  let conn = new Connection({ url: 'ws://cable.test/cable?x=1#top', token: 'a b', tokenParam: 'jwt', WebSocket: WS, random: () => 0.5 }, clock, owner)
  conn.onStateChange(s => events.push(['status', s.state, s.reason]))
  assert.equal(conn.status.state, 'idle')
  conn.connect()
  assert.equal(WS.last.url, 'ws://cable.test/cable?x=1&jwt=a%20b#top')
  WS.last.accept('actioncable-v1-ext-json', null)
  WS.last.receive({ type: 'ping', message: 1 })
  assert.equal(conn.welcomed, false, 'a frame is not a welcome: the owner decides')
  assert.equal(conn.welcome('sid-1', false), false, 'the first welcome')
  assert.equal(conn.welcome('sid-1', false), null, 'a second one is ignored')
  assert.equal(conn.dialect, 'ext')
  conn.send({ command: 'subscribe', identifier: 'i' })
  assert.deepEqual(WS.last.sent, [{ command: 'subscribe', identifier: 'i' }])

  WS.last.drop()
  clock.advance(1000)
  assert.match(WS.last.url, /&jwt=a%20b&sid=sid-1#top$/, 'resumes the session')
  WS.last.accept('actioncable-v1-ext-json', null)
  assert.equal(conn.welcome(null, true), true, 'a reconnection')
  conn.disconnected({ reason: 'invalid_request', reconnect: false })

  conn.connect()
  let released = []
  conn.logout(() => released.push(conn.status.state))
  assert.deepEqual(released, ['reconnecting'], 'released before the status turns closed')
  conn.send({ command: 'unsubscribe', identifier: 'i' })
  assert.deepEqual(events, [
    ['status', 'connecting', null],
    ['received', '{"type":"ping","message":1}'],
    ['status', 'connected', null],
    ['lost', true, 'connected'],
    ['status', 'reconnecting', 'closed'],
    ['status', 'reconnecting', 'closed'],
    ['status', 'connected', null], // connected again: the reason of the last ending is cleared
    ['lost', true, 'connected'],
    ['stopped', 'invalid_request', 'connected'],
    ['status', 'closed', 'invalid_request'],
    ['status', 'reconnecting', 'invalid_request'],
    ['status', 'closed', 'disconnected']
  ])
  assert.equal(WS.sockets.at(-1).sent.length, 0, 'nothing is sent after the logout')
})

const NOTIFY = { name: 'NotificationChannel', events: ['new_notification'], eventKey: 'event', payloadKey: 'payload' }

test('end states: unauthorized (fixed token), origin_refused and gave_up reach the status and every pending onRejected', async () => {
  for (let [reason, end] of [
    ['unauthorized', ws => ws.accept('actioncable-v1-ext-json', { type: 'disconnect', reason: 'unauthorized', reconnect: false })],
    ['origin_refused', ws => ws.accept('actioncable-v1-json', { type: 'disconnect', reason: 'origin_refused', reconnect: false })],
    ['gave_up', (ws, clock, WS) => {
      ws.drop()
      for (let i = 0; i < 3; i++) {
        clock.advance(clock.nextIn())
        WS.last.drop()
      }
    }],
  ]) {
    let { clock, WS, client, states } = setup({ reconnect: { maxAttempts: 3 } })
    let rejected = []
    let sub = client.channel(NOTIFY).subscribe({ account_id: 'a1' }, { onRejected: info => rejected.push(info.reason) })
    end(WS.last, clock, WS)
    assert.equal(client.status.state, 'closed', reason)
    assert.equal(client.status.reason, reason)
    assert.equal(states.at(-1).reason, reason)
    assert.deepEqual(rejected, [reason], `${reason}: onRejected hears why`)
    assert.equal(sub.state, 'rejected')
    await assert.rejects(sub.ready, /rejected/)
    // connect() tries the subscription again.
    client.connect()
    WS.last.accept()
    assert.equal(client.status.reason, null, 'connected again: no reason')
    assert.equal(sub.state, 'pending')
    assert.equal(WS.last.commands('subscribe').length, 1, `${reason}: resubscribed on the new connection`)
  }
})

test('the first status is heard by a listener added right after createClient', async () => {
  let clock = new FakeTimers()
  let WS = fakeWebSocket(clock)
  let client = createClient({ url: 'ws://cable.test/cable', token: 't0', WebSocket: WS, timers: clock })
  let heard = []
  client.onStateChange(s => heard.push(s.state))
  await settle()
  assert.deepEqual(heard, ['connecting'])
  WS.last.accept()
  assert.deepEqual(heard, ['connecting', 'connected'])
  // Later listeners hear only what comes next.
  let later = []
  client.onStateChange(s => later.push(s.state))
  await settle()
  assert.deepEqual(later, [])
})

test('network and page: online reconnects at once, offline pauses the backoff, visible checks a stale socket, freeze lets go until resume', () => {
  // A page's events (lifecycle.ts watches `window` and `document` when both exist).
  let win = new EventTarget()
  let doc = Object.assign(new EventTarget(), { visibilityState: 'visible' })
  globalThis.window = win
  globalThis.document = doc
  try {
    let { clock, WS, client } = setup({ shareConnection: false })
    WS.last.accept()
    WS.last.drop()
    assert.ok(client.status.retryAt > clock.now(), 'waiting on the backoff timer')
    win.dispatchEvent(new Event('offline'))
    assert.equal(client.status.retryAt, null, 'offline: no timer')
    assert.equal(client.status.reason, 'offline')
    clock.advance(120_000)
    assert.equal(WS.sockets.length, 1, 'no attempt while offline')
    win.dispatchEvent(new Event('online'))
    assert.equal(WS.sockets.length, 2, 'online: the attempt starts at once')
    WS.last.accept()
    assert.equal(client.status.state, 'connected')
    // Hidden, its timers throttled, the stale check did not run; visible again, it runs now.
    clock.nowMs += 10_000
    doc.dispatchEvent(new Event('visibilitychange'))
    assert.equal(client.status.state, 'reconnecting')
    assert.equal(client.status.reason, 'stale')
    clock.advance(clock.nextIn())
    WS.last.accept()
    // Frozen: the socket goes and nothing retries until resume.
    doc.dispatchEvent(new Event('freeze'))
    assert.ok(WS.last.closed)
    let n = WS.sockets.length
    clock.advance(120_000)
    assert.equal(WS.sockets.length, n)
    doc.dispatchEvent(new Event('resume'))
    assert.equal(WS.sockets.length, n + 1)
  } finally {
    delete globalThis.window
    delete globalThis.document
  }
})

test('tokenTransport: subprotocol puts the token in an anycable-token entry, not in the URL', () => {
  let { WS } = setup({ tokenTransport: 'subprotocol' })
  assert.equal(WS.last.url, 'ws://cable.test/cable')
  assert.deepEqual(WS.last.protocols, ['actioncable-v1-ext-json', 'actioncable-v1-json', 'anycable-token.t0'])
})
