// The React entry point (`generated/ts/dist/react.js`) with react-test-renderer, against the
// real server: CableProvider, useCable (connection status), a channel hook that subscribes
// on mount, follows its params, unsubscribes on unmount, and performs typed actions.
// Run by tests/tests/node_ts_client.rs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createElement as h, useEffect, useState } from 'react'
import { create } from 'react-test-renderer'

import { createClient } from '../../../generated/ts/dist/index.js'
import { CableProvider, useAiConversationChannel, useCable, useCableClient, useNotificationChannel } from '../../../generated/ts/dist/react.js'
import { dump, env, own, publishNotification, recordingWebSocket, sent, token, waitFor } from './helpers.mjs'

// Updates come from WebSocket events, outside act(): let React schedule them itself.
globalThis.IS_REACT_ACT_ENVIRONMENT = false
// React 19 says react-test-renderer is deprecated; the test still renders what it needs.
const consoleError = console.error
console.error = (...args) => {
  if (typeof args[0] === 'string' && args[0].startsWith('react-test-renderer is deprecated')) return
  consoleError(...args)
}

const text = renderer => {
  let json = renderer.toJSON()
  return json === null ? '' : [json].flat().map(n => (typeof n === 'string' ? n : (n.children ?? []).join(''))).join('')
}

function Panel({ account }) {
  let { state } = useCable()
  let [items, setItems] = useState([])
  let channel = useNotificationChannel(account ? { account_id: account } : null, {
    new_notification: p => setItems(list => [...list, p.id])
  })
  return h('div', null, `${state}|${channel.state}|${items.join(',')}`)
}

/** Counts commits: React runs effects child by child, in order, so this one's runs after
 *  those of the siblings before it, in the same commit. */
function Committed({ count }) {
  useEffect(() => {
    count.commits++
  })
  return null
}

test('hooks: status, subscribe on mount, follow params, unsubscribe on unmount', { timeout: 30000 }, async () => {
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-react', 'acc-react-1'), WebSocket: WS })
  let ctx = () => dump(log)
  let notesOf = account => JSON.stringify({ account_id: account, channel: 'NotificationChannel' })
  let count = { commits: 0 }
  let panel = account => h(CableProvider, { client }, h(Panel, { account }), h(Committed, { count }))
  try {
    let renderer = create(panel('acc-react-1'))
    await waitFor('connected and subscribed', () => text(renderer) === 'connected|subscribed|', { context: () => `${text(renderer)}\n${ctx()}` })
    await publishNotification('acc-react-1', 'r1')
    await waitFor('r1 rendered', () => text(renderer) === 'connected|subscribed|r1', { context: () => text(renderer) })
    // Re-rendering with equal params (a new object) does not resubscribe.
    let commits = count.commits
    renderer.update(panel('acc-react-1'))
    await waitFor('the re-render and its effects', () => count.commits > commits, { context: ctx })
    assert.equal(sent(log, 'subscribe').length, 1)

    // New params: the old subscription goes, a new one comes (here: forbidden, another account).
    renderer.update(panel('acc-react-2'))
    await waitFor('the new params are rejected', () => text(renderer) === 'connected|rejected|r1', { context: () => `${text(renderer)}\n${ctx()}` })
    assert.equal(sent(log, 'unsubscribe', notesOf('acc-react-1')).length, 1, 'the old params were unsubscribed')
    assert.equal(sent(log, 'subscribe', notesOf('acc-react-2')).length, 1)

    // No params: no subscription.
    renderer.update(panel(null))
    await waitFor('idle', () => text(renderer) === 'connected|idle|r1', { context: () => text(renderer) })

    renderer.update(panel('acc-react-1'))
    await waitFor('subscribed again', () => text(renderer) === 'connected|subscribed|r1', { context: () => text(renderer) })
    renderer.unmount()
    await waitFor('unsubscribed on unmount', () => sent(log, 'unsubscribe', notesOf('acc-react-1')).length === 2, { context: ctx })

    // useCable follows the connection.
    let seen = []
    function Status() {
      let s = useCable()
      seen.push(s.state)
      return h('span', null, s.state)
    }
    let status = create(h(CableProvider, { client }, h(Status)))
    await waitFor('connected', () => text(status) === 'connected')
    client.disconnect()
    await waitFor('closed', () => text(status) === 'closed')
    status.unmount()
  } finally {
    client.disconnect()
  }
})

test('hooks: perform through a channel hook; StrictMode double effects leave one subscription', { timeout: 30000 }, async () => {
  let account = 'acc-react-3'
  await own('ai_conversation', 'conv-r', account)
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-react3', account), WebSocket: WS })
  try {
    let hook = null
    let fromContext = null
    function Chat() {
      hook = useAiConversationChannel({ conversation_id: 'conv-r' }, {})
      fromContext = useCableClient()
      return h('span', null, hook.state)
    }
    let renderer = create(h(CableProvider, { client }, h(Chat)), { unstable_strictMode: true })
    await waitFor('subscribed', () => text(renderer) === 'subscribed', { context: () => `${text(renderer)}\n${dump(log)}` })
    assert.equal(fromContext, client)
    let reply = await hook.perform('send_message', { content: 'from-a-hook' })
    assert.equal(reply.message.content, 'from-a-hook')
    let bad = await hook.tryPerform('typing_indicator', { conversation_id: 'conv-r', status: 'asleep' })
    assert.equal(bad.ok, false)
    assert.equal(bad.error.code, 'invalid_request')
    let id = JSON.stringify({ channel: 'AiConversationChannel', conversation_id: 'conv-r' })
    let net = sent(log, 'subscribe', id).length - sent(log, 'unsubscribe', id).length
    assert.equal(net, 1, `one live server subscription after StrictMode's mount/unmount/mount:\n${dump(log)}`)
    renderer.unmount()
    await waitFor('unsubscribed', () => sent(log, 'subscribe', id).length === sent(log, 'unsubscribe', id).length)
    await assert.rejects(hook.perform('send_message', { content: 'x' }), e => e.code === 'unsubscribed')
  } finally {
    client.disconnect()
  }
})
