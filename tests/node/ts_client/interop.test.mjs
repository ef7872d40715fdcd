// The official Rails client (`@rails/actioncable`, plain v1) and the generated client (ext)
// connected at once to the same conversation: both receive what is published, and each
// receives what the other relays. Run by tests/tests/node_ts_client.rs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import * as ActionCable from '@rails/actioncable'

import { createClient } from '../../../generated/ts/dist/index.js'
import { dump, env, own, publish, recordingWebSocket, token, waitFor } from './helpers.mjs'

// What the Rails client expects of a browser.
globalThis.addEventListener ??= () => {}
globalThis.removeEventListener ??= () => {}

function message(id, conversation, account, content) {
  return {
    id,
    conversation_id: conversation,
    account_id: account,
    sender_type: 'ai',
    message_type: 'text',
    content,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z'
  }
}

test('@rails/actioncable and the generated client on the same stream at once', { timeout: 30000 }, async () => {
  let account = 'acc-interop'
  let conversation = 'conv-interop'
  await own('ai_conversation', conversation, account)

  // The Rails client, exactly as a Rails app uses it.
  let railsFrames = []
  class RailsSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols)
      this.addEventListener('message', ev => railsFrames.push(JSON.parse(String(ev.data))))
    }
  }
  ActionCable.adapters.WebSocket = RailsSocket
  let consumer = ActionCable.createConsumer(`${env('CABLE_URL')}?token=${await token('u-rails', account)}`)
  let railsGot = []
  let railsConnected = false
  let rails = consumer.subscriptions.create(
    { channel: 'AiConversationChannel', conversation_id: conversation },
    {
      connected() {
        railsConnected = true
      },
      received(data) {
        railsGot.push(data)
      }
    }
  )

  // The generated client.
  let WS = recordingWebSocket()
  let client = createClient({ url: env('CABLE_URL'), token: await token('u-ts', account), WebSocket: WS })
  let ours = []
  let typing = []
  let sub = client.aiConversation.subscribe(
    { conversation_id: conversation },
    {
      message_created: m => ours.push(m.content),
      typing_indicator: p => typing.push(p.status)
    }
  )
  let ctx = () => `rails: ${JSON.stringify(railsFrames)}\nours:\n${dump(WS.log)}`
  try {
    await sub.ready
    await waitFor('the Rails client is connected', () => railsConnected, { context: ctx })
    assert.equal(client.status.protocol, 'ext')

    // A publish reaches both.
    await publish('AiConversationChannel', 'message_created', message('m-interop-1', conversation, account, 'to both'))
    await waitFor('both receive it', () => ours.includes('to both') && railsGot.some(d => d.event === 'message_created' && d.payload.content === 'to both'), { context: ctx })
    let railsData = railsFrames.find(f => f.message?.event === 'message_created')
    assert.ok(!('offset' in railsData), 'the v1 client gets plain frames')
    let oursData = WS.log.find(e => e.dir === 'in' && e.frame.message?.event === 'message_created').frame
    assert.equal(typeof oursData.offset, 'number', 'the ext client gets positions on the same stream')

    // The Rails client relays; we receive it typed.
    rails.perform('typing_indicator', { conversation_id: conversation, status: 'typing' })
    await waitFor('our client hears the Rails client', () => typing.includes('typing'), { context: ctx })

    // We relay (with a reply); the Rails client receives the event.
    assert.equal(await sub.perform('typing_indicator', { conversation_id: conversation, status: 'stopped' }), null)
    await waitFor('the Rails client hears ours', () => railsGot.some(d => d.event === 'typing_indicator' && d.payload.status === 'stopped'), { context: ctx })
    assert.ok(!railsGot.some(d => d.$reply), 'our reply goes to us only')
    // A relay is delivered before its reply is queued, on the same connection: had we been
    // sent our own event, it would have arrived before the reply we already have.
    assert.deepEqual(typing, ['typing'], 'exclude_sender: we do not hear our own relay')
  } finally {
    consumer.disconnect()
    client.disconnect()
  }
})
