// The generated client (generated/ts/dist) against the real server: typed receipt, action
// replies and errors, shared subscriptions, resume after a dropped connection (session
// restore and resubscribe-with-history), the offline queue, token refresh, refusal
// without a retry loop, logout, and the fallback to plain ActionCable.
// Run by tests/tests/node_ts_client.rs (see helpers.mjs for the environment).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket, { WebSocketServer } from 'ws'

import { ActionError, CableClientError, Notification, QueueFullError, canonicalIdentifier, createClient } from '../../../generated/ts/dist/index.js'
import { deferred, dump, env, own, publish, publishNotification, quietFor, received, recordingWebSocket, sent, token, waitFor, waitForNoConnections } from './helpers.mjs'

const CABLE_URL = env('CABLE_URL')

/** A client on a recording socket; `t` disconnects it when the test ends. */
function client(t, options = {}) {
  let WS = recordingWebSocket()
  let c = createClient({ url: CABLE_URL, WebSocket: WS, reconnect: { baseDelayMs: 200, maxDelayMs: 1000 }, ...options })
  t.after(() => c.disconnect())
  return { c, WS, log: WS.log, net: WS.net, ctx: () => `status ${JSON.stringify(c.status)}\n${dump(WS.log)}` }
}

const ids = list => list.map(p => p.id)

test('typed receipt: on-subscribe and published events reach their typed handlers; unknown events reach onUnknown', async t => {
  let account = 'acc-receipt'
  let { c, log, ctx } = client(t, { token: await token('u1', account) })
  let got = []
  let all = []
  let connected = []
  let sub = c.notification.subscribe(
    { account_id: account },
    {
      connection_established: p => got.push(['connection_established', p]),
      new_notification: (p, envelope) => got.push(['new_notification', p, envelope]),
      onMessage: e => all.push(e.event),
      onConnected: info => connected.push(info),
      onUnknown: m => got.push(['unknown', m])
    }
  )
  assert.equal(sub.state, 'pending')
  assert.equal(sub.identifier, JSON.stringify({ account_id: account, channel: 'NotificationChannel' }))
  await sub.ready
  assert.equal(sub.state, 'subscribed')
  assert.equal(c.status.state, 'connected')
  assert.equal(c.status.protocol, 'ext', 'the extended protocol is negotiated')
  assert.deepEqual(connected, [{ reconnected: false, restored: false }])
  await waitFor('connection_established', () => got.length >= 1, { context: ctx })
  assert.deepEqual(got[0], ['connection_established', { account_id: account, user_id: 'u1', message: 'Connected to notifications' }])

  await publishNotification(account, 'n1')
  await waitFor('n1', () => got.length >= 2, { context: ctx })
  let [name, payload, envelope] = got[1]
  assert.equal(name, 'new_notification')
  assert.equal(payload.title, 'title n1')
  assert.equal(envelope.event, 'new_notification')
  assert.equal(envelope.resource_type, 'notification')
  assert.equal(envelope.resource_id, 'n1')
  assert.match(envelope.timestamp, /Z$/)
  assert.deepEqual(all, ['connection_established', 'new_notification'], 'onMessage sees every known event')
  let data = log.find(e => e.dir === 'in' && e.frame.message?.payload?.id === 'n1').frame
  assert.equal(typeof data.offset, 'number', 'ext data frames carry positions')

  // An older client that does not know `new_notification` yet: it reaches onUnknown, never a handler.
  let old = { ...Notification.CHANNEL, events: ['connection_established'] }
  let unknown = []
  let known = []
  let oldSub = c.subscribe(old, { account_id: account }, { onUnknown: (m, info) => unknown.push([m, info]), onMessage: e => known.push(e.event) })
  await oldSub.ready
  assert.equal(sent(log, 'subscribe').length, 1, 'same identifier: shared with the first subscription')
  await publishNotification(account, 'n2')
  await waitFor('n2 as unknown', () => unknown.length >= 1, { context: ctx })
  assert.equal(unknown[0][0].payload.id, 'n2')
  assert.deepEqual(unknown[0][1], { event: 'new_notification' })
  assert.deepEqual(known, [], 'the unknown event never reaches onMessage')
  await waitFor('n2 typed for the new client', () => got.length >= 3, { context: ctx })
  assert.equal(got[2][1].id, 'n2')
})

test('actions: a typed reply, a declared error, an invalid payload, an unknown action', async t => {
  let account = 'acc-actions'
  await own('ai_conversation', 'conv-a', account)
  let { c, ctx } = client(t, { token: await token('u-actions', account) })
  let created = []
  let sub = c.aiConversation.subscribe({ conversation_id: 'conv-a' }, { message_created: m => created.push(m.content) })
  await sub.ready

  // Forwarded to the backend: its reply is the typed SendMessageAccepted.
  let reply = await sub.perform('send_message', { content: 'hello' })
  assert.equal(reply.ai_response_queued, true)
  assert.equal(reply.message.content, 'hello')
  assert.equal(reply.message.conversation_id, 'conv-a')
  await waitFor('the backend event', () => created.includes('hello'), { context: ctx })

  // A declared error code.
  await assert.rejects(sub.perform('send_message', { content: 'closed' }), e => {
    assert.ok(e instanceof ActionError, String(e))
    assert.equal(e.code, 'conversation_closed')
    assert.equal(e.action, 'send_message')
    assert.equal(e.message, 'the conversation is closed')
    return true
  })

  // A relay with `$ref`: ok with data null.
  assert.equal(await sub.perform('typing_indicator', { conversation_id: 'conv-a', status: 'typing' }), null)

  // An invalid payload: invalid_request with the field's path.
  let bad = await sub.tryPerform('typing_indicator', { conversation_id: 'conv-a', status: 'sleeping' })
  assert.equal(bad.ok, false)
  assert.ok(bad.error instanceof ActionError)
  assert.equal(bad.error.code, 'invalid_request')
  assert.ok(bad.error.details.some(d => d.path === '/status'), JSON.stringify(bad.error.details))

  // An action the channel does not have.
  await assert.rejects(sub.perform('delete_everything', {}), e => e instanceof ActionError && e.code === 'unknown_action')

  // The backend failing: a built-in code.
  await assert.rejects(sub.perform('send_message', { content: 'boom' }), e => e instanceof ActionError && e.code === 'backend_unavailable')
})

test('shared subscription: two subscribes (params in any order) are one server subscription; the second unsubscribe ends it', async t => {
  let account = 'acc-shared'
  let { c, WS, log, ctx } = client(t, { token: await token('u-shared', account) })
  let a = []
  let b = []
  let first = c.aiOrchestration.subscribe({ type: 'account', id: account }, { 'agent.deleted': p => a.push(p.id) })
  let second = c.aiOrchestration.subscribe({ id: account, type: 'account' }, { 'agent.deleted': p => b.push(p.id) })
  assert.equal(first.identifier, second.identifier)
  await Promise.all([first.ready, second.ready])
  // Another channel on the same client: still one socket.
  let notes = c.notification.subscribe({ account_id: account })
  await notes.ready
  assert.equal(WS.sockets.length, 1, 'one WebSocket for every subscription')
  let id = canonicalIdentifier('AiOrchestrationChannel', { type: 'account', id: account })
  assert.equal(sent(log, 'subscribe', id).length, 1, `one subscribe for both: ${ctx()}`)
  assert.equal(received(log, 'confirm_subscription').filter(f => f.identifier === id).length, 1)

  let deleted = n => publish('AiOrchestrationChannel', 'agent.deleted', { id: `agent-${n}`, account_id: account, deleted_at: '2026-01-01T00:00:00Z' })
  await deleted(1)
  await waitFor('both get agent-1', () => a.length === 1 && b.length === 1, { context: ctx })

  first.unsubscribe()
  first.unsubscribe() // idempotent
  assert.equal(first.state, 'closed')
  assert.equal(second.state, 'subscribed')
  // An unsubscribe would go out at once; and the server still delivering agent-2 below
  // shows it kept the subscription.
  assert.equal(sent(log, 'unsubscribe', id).length, 0, 'still one subscriber: no unsubscribe')
  await deleted(2)
  await waitFor('the second gets agent-2', () => b.length === 2, { context: ctx })
  assert.deepEqual(a, ['agent-1'], 'the released one hears nothing more')

  second.unsubscribe()
  await waitFor('unsubscribe', () => sent(log, 'unsubscribe', id).length === 1, { context: ctx })
  // A round trip on the same connection: the server has handled the unsubscribe before it.
  let probe = c.aiOrchestration.subscribe({ type: 'account', id: 'someone-else' })
  await assert.rejects(probe.ready, e => e instanceof CableClientError && e.code === 'rejected')
  assert.equal(probe.state, 'rejected')
  probe.unsubscribe()
  await deleted(3)
  await publishNotification(account, 'after-unsubscribe')
  await waitFor('the notification', () => log.some(e => e.dir === 'in' && e.frame.message?.payload?.id === 'after-unsubscribe'), { context: ctx })
  assert.ok(!log.some(e => e.dir === 'in' && e.frame.identifier === id && e.frame.message?.payload?.id === 'agent-3'), `the server ended the subscription: ${ctx()}`)
  assert.deepEqual(b, ['agent-1', 'agent-2'])
})

/** Subscribe, one live event, drop the socket, miss five events, come back, one more live event. */
async function dropAndCatchUp(t, options, prefix) {
  let account = `acc-${prefix}`
  let { c, WS, log, net, ctx } = client(t, { token: await token('u-drop', account), ...options })
  let got = []
  let connected = []
  let resyncs = []
  let disconnects = 0
  let sub = c.notification.subscribe(
    { account_id: account },
    {
      new_notification: p => got.push(p.id),
      onConnected: i => connected.push(i),
      onResync: i => resyncs.push(i),
      onDisconnected: () => disconnects++
    }
  )
  await sub.ready
  await publishNotification(account, 'live-1')
  await waitFor('live-1', () => got.length === 1, { context: ctx })

  net.offline = true
  WS.last.terminate() // no close frame: a network drop
  await waitFor('reconnecting', () => c.status.state === 'reconnecting', { context: ctx })
  assert.equal(sub.state, 'pending')
  assert.equal(disconnects, 1)
  await waitForNoConnections(env('HTTP_URL'), ctx) // the server notices, and keeps the session
  let missed = [1, 2, 3, 4, 5].map(n => `missed-${n}`)
  for (let id of missed) await publishNotification(account, id)
  assert.deepEqual(got, ['live-1'])
  let opens = WS.sockets.length
  net.offline = false
  await waitFor('reconnected', () => c.status.state === 'connected' && sub.state === 'subscribed', { context: ctx })
  assert.ok(WS.sockets.length > opens)
  await waitFor('the missed events', () => got.length >= 6, { context: ctx })
  await publishNotification(account, 'live-2')
  await waitFor('live-2', () => got.includes('live-2'), { context: ctx })
  // Anything delivered twice would have been sent before a later event: publish one and wait for it.
  await publishNotification(account, 'fence')
  await waitFor('the fence', () => got.includes('fence'), { context: ctx })
  assert.deepEqual(got, ['live-1', ...missed, 'live-2', 'fence'], `none lost, none twice, in order: ${ctx()}`)
  assert.deepEqual(resyncs, [], 'nothing to resync: the history covered the gap')
  let after = log.slice(log.findLastIndex(e => e.dir === 'open' && !e.offline))
  return { c, log, after, connected, ctx }
}

test('a dropped connection resumes the session (?sid=) and replays exactly the missed events', async t => {
  let r = await dropAndCatchUp(t, {}, 'restore')
  assert.match(r.after[0].url, /[?&]sid=/, 'reconnects with its sid')
  let welcome = r.after.find(e => e.dir === 'in' && e.frame.type === 'welcome').frame
  assert.equal(welcome.restored, true, r.ctx())
  assert.equal(r.c.status.restored, true)
  assert.deepEqual(r.connected.at(-1), { reconnected: true, restored: true })
  let out = r.after.filter(e => e.dir === 'out').map(e => e.frame)
  assert.ok(!out.some(f => f.command === 'subscribe'), `no resubscribe after a restore: ${r.ctx()}`)
  let history = out.find(f => f.command === 'history')
  assert.ok(history?.history?.streams?.['notifications:acc-restore'], `history from the last position: ${r.ctx()}`)
  assert.ok(r.after.some(e => e.dir === 'in' && e.frame.type === 'confirm_history'))
})

test('without session resume, the client resubscribes with its stream positions and gets the same replay', async t => {
  let r = await dropAndCatchUp(t, { resumeSession: false }, 'resub')
  assert.doesNotMatch(r.after[0].url, /[?&]sid=/)
  let subscribe = r.after.find(e => e.dir === 'out' && e.frame.command === 'subscribe')?.frame
  assert.ok(subscribe, r.ctx())
  let position = subscribe.history?.streams?.['notifications:acc-resub']
  assert.equal(typeof position?.epoch, 'string', `subscribe carries history: ${JSON.stringify(subscribe)}`)
  assert.equal(typeof position?.offset, 'number')
  assert.deepEqual(r.connected.at(-1), { reconnected: true, restored: false })
  assert.ok(r.after.some(e => e.dir === 'in' && e.frame.type === 'confirm_history'))
})

test('offline queue: performs wait while offline, are sent after the resubscription, and overflow is a typed error', async t => {
  let account = 'acc-queue'
  await own('ai_conversation', 'conv-q', account)
  let { c, WS, log, net, ctx } = client(t, { token: await token('u-q', account), offlineQueueLimit: 2 })
  let observer = client(t, { token: await token('u-obs', account) })
  let heard = []
  let o = observer.c.aiConversation.subscribe({ conversation_id: 'conv-q' }, { typing_indicator: p => heard.push(p.status) })
  let sub = c.aiConversation.subscribe({ conversation_id: 'conv-q' })
  await Promise.all([sub.ready, o.ready])

  net.offline = true
  WS.last.terminate()
  await waitFor('offline', () => c.status.state === 'reconnecting', { context: ctx })
  let offlineAt = log.length
  let one = sub.perform('typing_indicator', { conversation_id: 'conv-q', status: 'typing' })
  let two = sub.perform('typing_indicator', { conversation_id: 'conv-q', status: 'stopped' })
  await assert.rejects(sub.perform('typing_indicator', { conversation_id: 'conv-q', status: 'typing' }), e => {
    assert.ok(e instanceof QueueFullError)
    assert.ok(e instanceof CableClientError)
    assert.equal(e.code, 'queue_full')
    assert.equal(e.limit, 2)
    return true
  })
  assert.deepEqual(sent(log.slice(offlineAt), 'message'), [], 'nothing sent while offline')
  assert.deepEqual(heard, [])
  net.offline = false
  assert.equal(await one, null)
  assert.equal(await two, null)
  await waitFor('the observer hears both, in order', () => heard.length === 2, { context: ctx })
  assert.deepEqual(heard, ['typing', 'stopped'])
  // They went out on the new socket, after the subscription was back.
  let openAt = log.findLastIndex(e => e.dir === 'open')
  let after = log.slice(openAt)
  let firstMessage = after.findIndex(e => e.dir === 'out' && e.frame.command === 'message')
  let back = after.findIndex(e => e.dir === 'in' && (e.frame.type === 'confirm_subscription' || (e.frame.type === 'welcome' && e.frame.restored)))
  assert.ok(back >= 0 && back < firstMessage, `flushed after the subscription came back: ${ctx()}`)
})

test('token expiry: the provider is called once for a fresh token, the connection continues, nothing is lost', async t => {
  let account = 'acc-refresh'
  let calls = []
  let provider = async request => {
    calls.push(request)
    if (!request.refresh) return token('u-refresh', account, { ttl: 3 })
    // Published while the client is between connections: it must be replayed.
    await publishNotification(account, 'during-refresh')
    return token('u-refresh', account, { ttl: 3600 })
  }
  let { c, log, ctx } = client(t, { token: provider })
  let got = []
  let resyncs = []
  let sub = c.notification.subscribe({ account_id: account }, { new_notification: p => got.push(p.id), onResync: r => resyncs.push(r) })
  await sub.ready
  await publishNotification(account, 'before')
  await waitFor('before', () => got.length === 1, { context: ctx })
  await waitFor('token_expired', () => received(log, 'disconnect').length === 1, { ms: 8000, context: ctx })
  assert.deepEqual(received(log, 'disconnect')[0], { type: 'disconnect', reason: 'token_expired', reconnect: false })
  await waitFor('reconnected with the fresh token', () => c.status.state === 'connected' && sub.state === 'subscribed' && calls.length === 2, { context: ctx })
  assert.deepEqual(calls, [
    { refresh: false, reason: null },
    { refresh: true, reason: 'token_expired' }
  ])
  await waitFor('the event published during the refresh', () => got.includes('during-refresh'), { context: ctx })
  await publishNotification(account, 'after')
  await waitFor('after', () => got.includes('after'), { context: ctx })
  assert.deepEqual(got, ['before', 'during-refresh', 'after'], ctx())
  assert.deepEqual(resyncs, [])
  // The fresh token outlives the old one's expiry: for a while, nothing happens.
  await quietFor(1500)
  assert.equal(c.status.state, 'connected')
  assert.equal(calls.length, 2, 'the provider was called exactly once more')
})

test('a refused token: a string is not retried; a provider is asked once more, then the client stops', async t => {
  let plain = client(t, { token: 'not-a-jwt' })
  await waitFor('closed', () => plain.c.status.state === 'closed', { context: plain.ctx })
  assert.equal(plain.c.status.reason, 'unauthorized')
  let calls = 0
  let bad = client(t, {
    token: () => {
      calls++
      return token('u-x', 'acc-x', { ttl: -600 })
    }
  })
  await waitFor('closed', () => bad.c.status.state === 'closed', { context: bad.ctx })
  assert.equal(bad.c.status.reason, 'token_expired')
  // Longer than several retry delays (200 ms, doubling to 1 s): a retry loop would show.
  await quietFor(1500)
  assert.equal(plain.WS.sockets.length, 1, 'no retry loop with a plain token')
  assert.equal(bad.WS.sockets.length, 2, 'one retry with a refreshed token, then stop')
  assert.equal(calls, 2)
})

test('logout: disconnect() unsubscribes everything, rejects queued performs and stops reconnecting', async t => {
  let account = 'acc-logout'
  await own('ai_conversation', 'conv-l', account)
  let { c, WS, log, net, ctx } = client(t, { token: await token('u-l', account) })
  let states = []
  c.onStateChange(s => states.push(s.state))
  let notes = c.notification.subscribe({ account_id: account })
  let conv = c.aiConversation.subscribe({ conversation_id: 'conv-l' })
  await Promise.all([notes.ready, conv.ready])

  // Logged out while connected: the server is told, the socket closes.
  c.disconnect()
  assert.equal(c.status.state, 'closed')
  assert.equal(c.status.reason, 'disconnected')
  assert.equal(notes.state, 'closed')
  assert.equal(conv.state, 'closed')
  assert.deepEqual(sent(log, 'unsubscribe').map(f => JSON.parse(f.identifier).channel).sort(), ['AiConversationChannel', 'NotificationChannel'])
  await waitFor('socket closed', () => log.some(e => e.dir === 'close'), { context: ctx })
  await assert.rejects(conv.perform('typing_indicator', { conversation_id: 'conv-l', status: 'typing' }), e => e instanceof CableClientError && e.code === 'unsubscribed')

  // Log in again, go offline with a queued perform, then log out: it is rejected.
  c.setToken(await token('u-l', account))
  c.connect()
  let again = c.aiConversation.subscribe({ conversation_id: 'conv-l' })
  await again.ready
  net.offline = true
  WS.last.terminate()
  await waitFor('offline', () => c.status.state === 'reconnecting', { context: ctx })
  let queued = again.perform('typing_indicator', { conversation_id: 'conv-l', status: 'typing' })
  let opens = WS.sockets.length
  c.disconnect()
  await assert.rejects(queued, e => e instanceof CableClientError && e.code === 'closed')
  net.offline = false
  // Longer than several retry delays (200 ms, doubling to 1 s): a reconnection would show.
  await quietFor(1500)
  assert.equal(WS.sockets.length, opens, 'no reconnection after logout')
  assert.equal(c.status.state, 'closed')
  assert.ok(states.includes('connected') && states.at(-1) === 'closed', states.join(' '))
})

test('fallback to actioncable-v1-json: no history asked; after a drop the subscription resyncs', async t => {
  // A v1-only server: a proxy that accepts only `actioncable-v1-json` and relays to Cableway over v1.
  let proxy = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: protocols => (protocols.has('actioncable-v1-json') ? 'actioncable-v1-json' : false) })
  let upstreams = []
  proxy.on('connection', (down, req) => {
    let query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''
    let up = new WebSocket(CABLE_URL + query, ['actioncable-v1-json'])
    upstreams.push(up)
    let pending = []
    up.on('open', () => pending.splice(0).forEach(m => up.send(m)))
    up.on('message', m => down.readyState === WebSocket.OPEN && down.send(String(m)))
    down.on('message', m => (up.readyState === WebSocket.OPEN ? up.send(String(m)) : pending.push(String(m))))
    up.on('close', () => down.terminate())
    down.on('close', () => up.terminate())
  })
  await new Promise(resolve => proxy.once('listening', resolve))
  t.after(() => proxy.close())
  let account = 'acc-v1'
  let { c, WS, log, ctx } = client(t, { url: `ws://127.0.0.1:${proxy.address().port}/cable`, token: await token('u-v1', account) })
  let got = []
  let resyncs = []
  let connected = []
  let sub = c.notification.subscribe({ account_id: account }, { new_notification: p => got.push(p.id), onResync: r => resyncs.push(r), onConnected: i => connected.push(i) })
  await sub.ready
  assert.equal(c.status.protocol, 'v1')
  assert.equal(WS.last.protocol, 'actioncable-v1-json')
  assert.ok(!('sid' in received(log, 'welcome')[0]))
  await publishNotification(account, 'v1-live')
  await waitFor('v1-live', () => got.length === 1, { context: ctx })
  let frame = log.find(e => e.dir === 'in' && e.frame.message?.payload?.id === 'v1-live').frame
  assert.ok(!('offset' in frame), 'v1 frames carry no positions')

  upstreams.at(-1).terminate()
  await waitFor('reconnected', () => c.status.state === 'connected' && sub.state === 'subscribed' && connected.length === 2, { context: ctx })
  assert.deepEqual(connected[1], { reconnected: true, restored: false })
  assert.deepEqual(resyncs, [{ reason: 'no_history' }], 'nothing missed can be replayed: the app reloads')
  for (let f of sent(log, 'subscribe')) assert.ok(!('history' in f), `no history on v1: ${JSON.stringify(f)}`)
  assert.doesNotMatch(log.filter(e => e.dir === 'open').at(-1).url, /sid=/)
  await publishNotification(account, 'v1-after')
  await waitFor('v1-after', () => got.includes('v1-after'), { context: ctx })
})
