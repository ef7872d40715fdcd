// generated/asyncapi.yaml under the official AsyncAPI parser, `@asyncapi/parser` (which runs
// the AsyncAPI 3.0.0 JSON Schema and its Spectral ruleset): no diagnostic of severity error,
// and one AsyncAPI channel per Cableway channel, with a subscribe operation each.
//
// Run by tests/tests/node_asyncapi.rs (`node --test tests/node/asyncapi.test.mjs` from the
// repository root). The channel names come from generated/ts/src/index.ts (CHANNEL_NAMES),
// which `cableway check` keeps in step with the schema.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'

const generated = rel => fileURLToPath(new URL(`../../generated/${rel}`, import.meta.url))

function channelNames() {
  const index = readFileSync(generated('ts/src/index.ts'), 'utf8')
  const list = index.match(/export const CHANNEL_NAMES = \[([^\]]*)\]/)
  assert.ok(list, 'generated/ts/src/index.ts has no CHANNEL_NAMES array')
  return [...list[1].matchAll(/"([A-Za-z0-9]+)"/g)].map(m => m[1])
}

test('generated/asyncapi.yaml parses with no errors and has one channel per Cableway channel', async () => {
  const text = readFileSync(generated('asyncapi.yaml'), 'utf8')
  const { document, diagnostics } = await new Parser().parse(text)
  const errors = diagnostics.filter(d => d.severity === DiagnosticSeverity.Error)
  assert.deepEqual(
    errors.map(d => `${d.code} at ${d.path.join('/')}: ${d.message}`),
    [],
    'the AsyncAPI parser reported errors'
  )
  assert.ok(document, 'the parser returned no document')
  assert.equal(document.version(), '3.0.0')

  const names = channelNames()
  assert.ok(names.length > 0, 'CHANNEL_NAMES is empty')
  const channels = document.channels()
  assert.equal(channels.length, names.length, 'one AsyncAPI channel per channel of the registry')
  for (const name of names) {
    const channel = channels.get(name)
    assert.ok(channel, `no AsyncAPI channel ${name}`)
    const subscribe = document.operations().get(`${name}.subscribe`)
    assert.ok(subscribe, `no operation ${name}.subscribe`)
    assert.ok(subscribe.isReceive(), `${name}.subscribe is not a receive operation`)
    assert.equal(subscribe.channels().all()[0]?.id(), name)
  }
})
