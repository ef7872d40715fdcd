// The seed frontend's API from the generated `./react` entry, with react-test-renderer
// against the real server: `useWebSocket()` used exactly as the seed's example component
// uses it (subscribe in an effect keyed on `subscribe`, the unsubscribe as its cleanup),
// `onError` on a refused subscription, `sendMessage`, and the named hooks the schema
// declares (`client.hooks`), each subscribing with the params the seed's hook uses.
// Run by tests/tests/node_ts_client.rs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createElement as h, useEffect, useState } from 'react'
import { create } from 'react-test-renderer'

import { createClient } from '../../../generated/ts/dist/index.js'
import {
  CableProvider,
  useAnalyticsWebSocket,
  useConversationSocket,
  useCustomerWebSocket,
  useMissionChannel,
  useRalphLoopChannel,
  useSubscriptionWebSocket,
  useWebSocket,
  useWorkflowExecution
} from '../../../generated/ts/dist/react.js'
import { dump, env, own, publish, publishNotification, recordingWebSocket, sent, token, waitFor } from './helpers.mjs'

globalThis.IS_REACT_ACT_ENVIRONMENT = false
const consoleError = console.error
console.error = (...args) => {
  if (typeof args[0] === 'string' && args[0].startsWith('react-test-renderer is deprecated')) return
  consoleError(...args)
}

const text = renderer => {
  let json = renderer.toJSON()
  return json === null ? '' : [json].flat().map(n => (typeof n === 'string' ? n : (n.children ?? []).join(''))).join('')
}

// The seed's example component, with NotificationChannel standing for its `MyChannel`.
function MyComponent({ accountId, errors }) {
  const { isConnected, subscribe } = useWebSocket()
  const [received, setReceived] = useState([])
  useEffect(() => {
    const unsubscribe = subscribe({
      channel: 'NotificationChannel',
      params: { account_id: accountId },
      onMessage: data => {
        if (data.event === 'new_notification') setReceived(list => [...list, data.payload.id])
      },
      onError: error => errors.push(error)
    })
    return unsubscribe
  }, [subscribe])
  return h('div', null, `Status: ${isConnected ? 'Connected' : 'Disconnected'}|${received.join(',')}`)
}

test('useWebSocket: the seed example subscribes, receives, reports a refusal and unsubscribes', { timeout: 30000 }, async () => {
  let account = 'acc-seed-1'
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-seed', account), WebSocket: WS })
  let notes = JSON.stringify({ account_id: account, channel: 'NotificationChannel' })
  try {
    let errors = []
    let renderer = create(h(CableProvider, { client }, h(MyComponent, { accountId: account, errors })))
    await waitFor('connected and subscribed', () => text(renderer) === 'Status: Connected|' && client.status.state === 'connected' && sent(log, 'subscribe', notes).length === 1 && log.some(e => e.dir === 'in' && e.frame.type === 'confirm_subscription'), {
      context: () => `${text(renderer)}\n${dump(log)}`
    })
    await publishNotification(account, 'seed-n1')
    await waitFor('the event rendered', () => text(renderer) === 'Status: Connected|seed-n1', { context: () => text(renderer) })
    assert.deepEqual(errors, [])

    // Another account's notifications are refused: onError says so, with the server's reason.
    let otherErrors = []
    let other = create(h(CableProvider, { client }, h(MyComponent, { accountId: 'acc-seed-other', errors: otherErrors })))
    await waitFor('onError', () => otherErrors.length === 1, { context: () => dump(log) })
    assert.equal(otherErrors[0].code, 'rejected')
    assert.match(otherErrors[0].message, /rejected/)
    other.unmount()

    // The effect's cleanup is the unsubscribe.
    renderer.unmount()
    await waitFor('unsubscribed on unmount', () => sent(log, 'unsubscribe', notes).length === 1, { context: () => dump(log) })
  } finally {
    client.disconnect()
  }
})

test('useWebSocket: sendMessage performs a typed action and leaves no subscription behind', { timeout: 30000 }, async () => {
  let account = 'acc-seed-2'
  await own('ai_conversation', 'conv-seed', account)
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-seed2', account), WebSocket: WS })
  try {
    let api = null
    function Sender() {
      api = useWebSocket()
      return h('span', null, api.isConnected ? 'on' : 'off')
    }
    let renderer = create(h(CableProvider, { client }, h(Sender)))
    await waitFor('connected', () => text(renderer) === 'on', { context: () => dump(log) })
    let reply = await api.sendMessage({ channel: 'AiConversationChannel', params: { conversation_id: 'conv-seed' }, action: 'send_message', data: { content: 'hello-from-the-seed' } })
    assert.equal(reply.message.content, 'hello-from-the-seed')
    let id = JSON.stringify({ channel: 'AiConversationChannel', conversation_id: 'conv-seed' })
    await waitFor('the temporary subscription is released', () => sent(log, 'unsubscribe', id).length === 1, { context: () => dump(log) })
    assert.equal(sent(log, 'subscribe', id).length, 1)
    assert.throws(() => api.subscribe({ channel: 'MyChannel', params: {} }), /no channel "MyChannel"/)
    renderer.unmount()
  } finally {
    client.disconnect()
  }
})

test('named hooks: each subscribes to its channel with the seed hook params', { timeout: 30000 }, async () => {
  let account = 'acc-seed-3'
  await own('ralph_loop', 'loop-seed', account)
  await own('workflow_run', 'run-seed', account)
  await own('ai_conversation', 'conv-seed-3', account)
  let WS = recordingWebSocket()
  let log = WS.log
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-seed3', account, { permissions: ['admin.access'] }), WebSocket: WS })
  try {
    let progress = []
    function Dashboard() {
      let hooks = [
        useMissionChannel({ type: 'account', id: account }),
        useRalphLoopChannel({ id: 'loop-seed' }, { 'ralph_loop.progress': p => progress.push(p.current_iteration) }),
        useWorkflowExecution({ id: 'run-seed' }),
        useSubscriptionWebSocket({ account_id: account }),
        useCustomerWebSocket({ account_id: account }),
        useAnalyticsWebSocket({ account_id: account }),
        useConversationSocket({ conversation_id: 'conv-seed-3' })
      ]
      return h('span', null, hooks.map(x => x.state).join(','))
    }
    let renderer = create(h(CableProvider, { client }, h(Dashboard)))
    let all = Array(7).fill('subscribed').join(',')
    await waitFor('every named hook subscribed', () => text(renderer) === all, { context: () => `${text(renderer)}\n${dump(log)}` })
    let identifiers = sent(log, 'subscribe').map(f => JSON.parse(f.identifier))
    let expected = [
      { channel: 'MissionChannel', type: 'account', id: account },
      { channel: 'AiOrchestrationChannel', type: 'ralph_loop', id: 'loop-seed' },
      { channel: 'AiOrchestrationChannel', type: 'workflow_run', id: 'run-seed' },
      { channel: 'SubscriptionChannel', account_id: account },
      { channel: 'CustomerChannel', account_id: account },
      { channel: 'AnalyticsChannel', account_id: account },
      { channel: 'AiConversationChannel', conversation_id: 'conv-seed-3' }
    ]
    for (let id of expected) assert.ok(identifiers.some(i => JSON.stringify(i, Object.keys(i).sort()) === JSON.stringify(id, Object.keys(id).sort())), `subscribed ${JSON.stringify(id)}:\n${dump(log)}`)
    assert.equal(identifiers.length, expected.length)

    await publish('AiOrchestrationChannel', 'ralph_loop.progress', {
      ralph_loop_id: 'loop-seed', account_id: account, current_iteration: 3, max_iterations: 10,
      progress_percentage: 30, completed_tasks: 3, total_tasks: 10
    })
    await waitFor('the Ralph Loop hook received its event', () => progress.length === 1, { context: () => dump(log) })
    assert.deepEqual(progress, [3])
    renderer.unmount()
    await waitFor('every hook unsubscribed', () => sent(log, 'unsubscribe').length === expected.length, { context: () => dump(log) })
  } finally {
    client.disconnect()
  }
})
