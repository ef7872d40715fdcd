// The seed's example component in Debian's Chromium (playwright-core, no downloaded browser):
// a page bundled with esbuild from the built client (generated/ts/dist), React and react-dom
// renders `MyComponent` exactly as the seed writes it (useWebSocket() → subscribe in an
// effect keyed on `subscribe`, the unsubscribe as its cleanup), shows "Connected", renders a
// published event, and an unmount sends the unsubscribe.
//
// CABLE_URL, HTTP_URL, TOKEN, ACCOUNT, PUBLISHER_KEY come from tests/tests/seed_page.rs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '../../generated/ts/dist')
const env = name => {
  let v = process.env[name]
  assert.ok(v, `${name} is set`)
  return v
}
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

// The page's code: the seed's component, unchanged but for the import.
const app = `
import { createElement as h, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { createClient } from ${JSON.stringify(join(dist, 'index.js'))}
import { CableProvider, useWebSocket } from ${JSON.stringify(join(dist, 'react.js'))}

function MyComponent({ accountId }) {
  const { isConnected, subscribe } = useWebSocket()
  const [received, setReceived] = useState([])
  useEffect(() => {
    const unsubscribe = subscribe({
      channel: 'NotificationChannel',
      params: { account_id: accountId },
      onMessage: (data) => {
        if (data.event === 'new_notification') setReceived((list) => [...list, data.payload.title])
      },
      onError: (error) => {
        document.getElementById('errors').textContent += error.code
      }
    })
    return unsubscribe
  }, [subscribe])
  return h('div', { id: 'status' }, 'Status: ' + (isConnected ? 'Connected' : 'Disconnected') + '|' + received.join(','))
}

const config = window.CABLE
const client = createClient({ url: config.url, token: config.token })
window.cableClient = client
const root = createRoot(document.getElementById('root'))
root.render(h(CableProvider, { client }, h(MyComponent, { accountId: config.account })))
window.unmountApp = () => root.unmount()
`

test('the seed example component in Chromium: connected, receives, unsubscribes on unmount', { timeout: 120_000 }, async () => {
  let bundle = await build({
    stdin: { contents: app, resolveDir: here, sourcefile: 'seed-page.mjs' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'silent'
  })
  let script = bundle.outputFiles[0].text
  let config = { url: env('CABLE_URL'), token: env('TOKEN'), account: env('ACCOUNT') }
  let html = `<!doctype html><meta charset="utf-8"><title>seed</title><div id="root"></div><div id="errors"></div>
<script>window.CABLE = ${JSON.stringify(config)}</script><script src="/app.js"></script>`
  // The page's own server on loopback (Chromium refuses a public origin's socket to 127.0.0.1,
  // and counts a routed response as public), closed at the end.
  let pages = createServer((req, res) => {
    let js = req.url === '/app.js'
    res.writeHead(200, { 'Content-Type': js ? 'text/javascript' : 'text/html' })
    res.end(js ? script : html)
  })
  await new Promise(resolve => pages.listen(0, '127.0.0.1', resolve))
  let origin = `http://127.0.0.1:${pages.address().port}`
  let profile = mkdtempSync(join(tmpdir(), 'cableway-chromium-seed-'))
  let context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args })
  try {
    let page = context.pages()[0] ?? (await context.newPage())
    let problems = []
    page.on('pageerror', e => problems.push(`page error: ${e.message}`))
    page.on('console', m => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    let frames = []
    page.on('websocket', ws => {
      ws.on('framesent', f => frames.push({ dir: 'out', text: String(f.payload) }))
      ws.on('framereceived', f => frames.push({ dir: 'in', text: String(f.payload) }))
    })
    await page.goto(`${origin}/`)
    let status = page.locator('#status')
    let why = async () => `page: ${await page.content()}\nproblems: ${problems.join('\n')}\nframes:\n${frames.map(f => `${f.dir} ${f.text}`).join('\n')}`
    await status.filter({ hasText: 'Status: Connected' }).waitFor({ timeout: 30_000 }).catch(async e => assert.fail(`${e.message}\n${await why()}`))
    let identifier = JSON.stringify({ account_id: config.account, channel: 'NotificationChannel' })
    let confirmed = () => frames.some(f => f.dir === 'in' && f.text.includes('confirm_subscription'))
    let until = Date.now() + 30_000
    while (!confirmed() && Date.now() < until) await new Promise(r => setTimeout(r, 50))
    assert.ok(confirmed(), `confirmed:\n${frames.map(f => `${f.dir} ${f.text}`).join('\n')}`)

    let resp = await fetch(`${env('HTTP_URL')}/broadcast`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env('PUBLISHER_KEY')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        channel: 'NotificationChannel', event: 'new_notification',
        payload: { id: 'n-seed', account_id: config.account, notification_type: 'seed.hello', title: 'HelloSeed', message: 'from the seed page', severity: 'info', read: false, created_at: '2026-01-01T00:00:00Z' }
      })
    })
    assert.equal(resp.status, 200, await resp.text())
    await status.filter({ hasText: 'Status: Connected|HelloSeed' }).waitFor({ timeout: 30_000 }).catch(async e => assert.fail(`${e.message}\n${await why()}`))
    assert.equal(await page.locator('#errors').textContent(), '')

    await page.evaluate(() => window.unmountApp())
    let unsubscribed = () => frames.some(f => f.dir === 'out' && f.text.includes('"unsubscribe"') && f.text.includes(JSON.stringify(identifier).slice(1, -1)))
    until = Date.now() + 30_000
    while (!unsubscribed() && Date.now() < until) await new Promise(r => setTimeout(r, 50))
    assert.ok(unsubscribed(), `unsubscribe sent:\n${frames.map(f => `${f.dir} ${f.text}`).join('\n')}`)
    await page.evaluate(() => window.cableClient.disconnect())
    assert.deepEqual(problems, [])
  } finally {
    await context.close()
    await new Promise(resolve => pages.close(resolve))
    rmSync(profile, { recursive: true, force: true })
  }
})
