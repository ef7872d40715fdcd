// A server restart: the server drains with `server_restart` (reconnect:true); the client
// reconnects with backoff to the new process on the same port, resubscribes asking for the
// history after its last position, and, since the new process has a new epoch (the history
// is in memory), gets `reject_history`: `onResync` tells the app to reload. Live events
// flow again, and no event is lost silently. Run by tests/tests/node_ts_client.rs.

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { createClient } from '../../../generated/ts/dist/index.js'
import { dump, env, publishNotification, received, recordingWebSocket, restartServer, sent, token, waitFor } from './helpers.mjs'

test('server restart: reconnect, resubscribe with history, reject_history → onResync, live again', { timeout: 60000 }, async () => {
  let account = 'acc-restart'
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-restart', account), WebSocket: WS, reconnect: { baseDelayMs: 300, maxDelayMs: 2000 } })
  let ctx = () => `status ${JSON.stringify(client.status)}\n${dump(log)}`
  try {
    let statuses = []
    client.onStateChange(s => statuses.push(s))
    let got = []
    let resyncs = []
    let connected = []
    let sub = client.notification.subscribe(
      { account_id: account },
      { new_notification: p => got.push(p.id), onResync: r => resyncs.push(r), onConnected: i => connected.push(i) }
    )
    await sub.ready
    await publishNotification(account, 'live-1')
    await waitFor('live-1', () => got.includes('live-1'), { context: ctx })
    // A ping of the old server, so the client knows where its `since` starts.
    await waitFor('a ping', () => received(log, 'ping').length >= 1, { context: ctx })
    let first = received(log, 'confirm_subscription').length

    await restartServer()
    // Published to the new process before the client is back (or just after): it is either
    // delivered or covered by a resync, never lost silently.
    await publishNotification(account, 'gap-1')
    await waitFor('the resubscription', () => client.status.state === 'connected' && sub.state === 'subscribed' && received(log, 'confirm_subscription').length > first, { ms: 20000, context: ctx })
    await waitFor('the history answer', () => received(log, 'reject_history').length + received(log, 'confirm_history').length >= 1, { context: ctx })

    let disconnect = received(log, 'disconnect')[0]
    assert.deepEqual(disconnect, { type: 'disconnect', reason: 'server_restart', reconnect: true }, ctx())
    assert.ok(statuses.some(s => s.state === 'reconnecting' && s.reason === 'server_restart'), JSON.stringify(statuses))
    let resubscribe = sent(log, 'subscribe').at(-1)
    let position = resubscribe.history?.streams?.[`notifications:${account}`]
    assert.ok(position && typeof position.epoch === 'string' && position.offset >= 1, `the resubscribe asks for history after its last position: ${JSON.stringify(resubscribe)}`)
    assert.equal(typeof resubscribe.history.since, 'number')
    assert.deepEqual(connected.at(-1), { reconnected: true, restored: false }, 'the old session is gone with the old process')

    // The new process cannot vouch for the old epoch.
    assert.equal(received(log, 'reject_history').length, 1, ctx())
    assert.deepEqual(resyncs, [{ reason: 'history_rejected' }])
    assert.ok(!received(log, 'welcome').at(-1).restored)

    await publishNotification(account, 'live-2')
    await waitFor('live-2', () => got.includes('live-2'), { context: ctx })
    // Anything delivered twice would have been sent before a later event: publish one and wait for it.
    await publishNotification(account, 'fence')
    await waitFor('the fence', () => got.includes('fence'), { context: ctx })
    assert.ok(got.includes('gap-1') || resyncs.length === 1, 'the gap event is delivered, or the app was told to reload')
    assert.equal(new Set(got).size, got.length, `no event twice: ${got}`)
    assert.deepEqual(got.filter(id => id !== 'gap-1'), ['live-1', 'live-2', 'fence'])
    // Positions continue in the new epoch: a later drop resumes from there.
    let lastFrame = log.filter(e => e.dir === 'in' && e.frame.message?.payload?.id === 'live-2')[0].frame
    assert.notEqual(lastFrame.epoch, position.epoch, 'a new epoch after the restart')
  } finally {
    client.disconnect()
  }
})
