// Bundles the built client (generated/ts/dist) as an app would, with esbuild, minified:
//   one-channel  createCable + one channel (Mission), the tree-shakable path
//   all-channels createClient (the client with a property per channel)
//   react        the `./react` entry's useWebSocket + a named hook (react left external)
// and reports raw / minified / gzipped bytes of each, with `@rails/actioncable` for
// reference, to stdout and to REPORT (JSON lines). It checks only what tree-shaking
// promises: the one-channel bundle names no other channel. Run by tests/tests/node_ts_client.rs.

import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '../../generated/ts/dist')
const report = process.env.REPORT

const entries = {
  'one-channel': `import { createCable, Mission } from ${JSON.stringify(join(dist, 'index.js'))}
const cable = createCable({ url: 'wss://example.com/cable', token: 't' })
cable.channel(Mission.CHANNEL).subscribe({ type: 'mission', id: 'm1' }, { status_changed: p => console.log(p.mission.id) })`,
  'all-channels': `import { createClient } from ${JSON.stringify(join(dist, 'index.js'))}
const client = createClient({ url: 'wss://example.com/cable', token: 't' })
client.mission.subscribe({ type: 'mission', id: 'm1' }, { status_changed: p => console.log(p.mission.id) })`,
  react: `import { CableProvider, useWebSocket, useRalphLoopChannel } from ${JSON.stringify(join(dist, 'react.js'))}
export { CableProvider, useWebSocket, useRalphLoopChannel }`,
  '@rails/actioncable': `import { createConsumer } from '@rails/actioncable'
createConsumer('wss://example.com/cable').subscriptions.create({ channel: 'MissionChannel', type: 'mission', id: 'm1' }, { received: d => console.log(d) })`
}

async function bundle(name, contents, minify) {
  let out = await build({
    stdin: { contents, resolveDir: here, sourcefile: `${name}.mjs` },
    bundle: true,
    minify,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['react'],
    write: false,
    logLevel: 'silent'
  })
  return out.outputFiles[0].text
}

const wireNames = Object.keys((await import(join(dist, 'index.js'))).CHANNEL_NAMES.reduce((o, n) => ({ ...o, [n]: true }), {}))
const rows = []
for (let [name, contents] of Object.entries(entries)) {
  let raw = await bundle(name, contents, false)
  let min = await bundle(name, contents, true)
  let row = { bundle: name, raw: Buffer.byteLength(raw), minified: Buffer.byteLength(min), gzipped: gzipSync(min, { level: 9 }).length }
  row.channels = wireNames.filter(n => min.includes(JSON.stringify(n)) || min.includes(`'${n}'`) || min.includes(`\`${n}\``)).length
  rows.push(row)
  if (name === 'one-channel') {
    let others = wireNames.filter(n => n !== 'MissionChannel' && min.includes(n))
    if (others.length > 0) {
      console.error(`the one-channel bundle names other channels: ${others.join(', ')}`)
      process.exitCode = 1
    }
    if (!min.includes('MissionChannel')) {
      console.error('the one-channel bundle lacks its own channel')
      process.exitCode = 1
    }
  }
}
const kb = n => `${(n / 1024).toFixed(1)} KB`
console.log('bundle               channels        raw   minified    gzipped')
for (let r of rows) console.log(`${r.bundle.padEnd(20)} ${String(r.channels).padStart(8)} ${kb(r.raw).padStart(10)} ${kb(r.minified).padStart(10)} ${kb(r.gzipped).padStart(10)}`)
if (report) writeFileSync(report, rows.map(r => JSON.stringify(r)).join('\n') + '\n')
