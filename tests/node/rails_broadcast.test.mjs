// Rails' own broadcasts reach the OFFICIAL Rails client through Cableway: `@rails/actioncable`
// subscribes to a workflow run (with a numeric id, as the seed's frontend sends it), then
// Rails' ActionCable library (Debian's ruby-actioncable, tests/ruby/broadcast.rb) calls
// `ActionCable.server.broadcast` over its Redis adapter: first a broadcast the schema
// refuses, then a valid node update. The client receives the valid one only.
//
// Run by tests/tests/rails_broadcasts.rs against a node with CABLEWAY_RAILS_BROADCASTS=on:
//   CABLE_URL       ws://127.0.0.1:PORT/cable
//   TOKEN           a user token of the account that owns workflow run RUN_ID
//   RUN_ID          the workflow run (a number)
//   REDIS_URL       the Redis Rails and Cableway share
//   CHANNEL_PREFIX  Rails' channel_prefix (cable.yml) and CABLEWAY_RAILS_CHANNEL_PREFIX

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { createConsumer, adapters } from '@rails/actioncable'

import { waitFor } from './shared.mjs'

const env = name => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run through tests/tests/rails_broadcasts.rs)`)
  return v
}
const [CABLE_URL, TOKEN, RUN_ID] = [env('CABLE_URL'), env('TOKEN'), Number(env('RUN_ID'))]

globalThis.addEventListener ??= () => {}
globalThis.removeEventListener ??= () => {}
adapters.WebSocket = WebSocket

/** What a Rails app broadcasts on a node update (seed 001), at the run level. */
function nodeUpdate(id, extra = {}) {
  return {
    event: 'workflow.node.execution.updated',
    resource_type: 'node_execution',
    resource_id: id,
    payload: {
      id, execution_id: String(RUN_ID), workflow_id: '7', status: 'completed', node_name: 'Start', node_type: 'start',
      started_at: '2025-10-11T21:07:00Z', completed_at: '2025-10-11T21:07:01Z', duration_ms: 1000, ...extra
    },
    timestamp: '2025-10-11T21:07:01Z'
  }
}

/** `ActionCable.server.broadcast(stream, message)` for each, in Ruby, with Rails' library. */
function railsBroadcast(list) {
  const script = fileURLToPath(new URL('../ruby/broadcast.rb', import.meta.url))
  const input = list.map(b => JSON.stringify(b)).join('\n') + '\n'
  const out = execFileSync('ruby', [script], { input, env: process.env, encoding: 'utf8' })
  assert.equal(out.trim(), `broadcast ${list.length}`)
}

test('@rails/actioncable receives what ActionCable.server.broadcast sent over the Redis adapter', { timeout: 30_000 }, async () => {
  const consumer = createConsumer(() => `${CABLE_URL}?token=${TOKEN}`)
  try {
    const s = { connected: 0, rejected: 0, received: [] }
    consumer.subscriptions.create({ channel: 'AiOrchestrationChannel', type: 'workflow_run', id: RUN_ID }, {
      connected() { s.connected++ },
      rejected() { s.rejected++ },
      received(m) { s.received.push(m) }
    })
    await waitFor('the subscription', () => s.connected + s.rejected > 0, { ms: 10_000 })
    assert.equal(s.rejected, 0)

    const stream = `ai_orchestration:workflow_run:${RUN_ID}`
    // Refused: the payload lacks its required `workflow_id`; then a valid one.
    const refused = nodeUpdate('n-refused')
    delete refused.payload.workflow_id
    railsBroadcast([[stream, refused], [stream, nodeUpdate('n-1')]])

    const got = await waitFor('the node update', () => s.received[0], { ms: 10_000, context: () => JSON.stringify(s) })
    assert.equal(got.event, 'workflow.node.execution.updated')
    assert.equal(got.payload.id, 'n-1')
    assert.equal(got.payload.execution_id, String(RUN_ID))
    assert.equal(got.resource_type, 'node_execution')
    // Ingested in order: the refused one, broadcast first, was not delivered before it.
    assert.equal(s.received.length, 1, JSON.stringify(s.received))
  } finally {
    consumer.disconnect()
  }
})
