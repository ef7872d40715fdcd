// The generated client in Debian's Chromium (playwright-core), against the real server:
// tests/tests/browser_client.rs starts the server (with a fixed key, and one allowed Origin)
// and a control server that restarts it; this file bundles generated/ts with esbuild, serves
// a tiny page on the allowed origin and on a foreign one, and drives the page.
//
// - subscribe and receive; a server restart → onResync (or a resume), then live events;
// - offline (CDP), then online: the reconnect starts within 500 ms of `online`;
// - 3 tabs → one server connection, every event once in each tab; the leader tab closes →
//   another takes over, and what is published during the handover reaches each tab once;
// - the token as the `anycable-token.<jwt>` subprotocol: not in the URL, accepted;
// - a refused token and a refused Origin show up as such (status and onRejected).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { launch } from './chromium.mjs'
import { notification, openConnections, waitFor } from './shared.mjs'

const env = name => {
  let v = process.env[name]
  assert.ok(v, `${name} is set (tests/tests/browser_client.rs sets it)`)
  return v
}
const CABLE_URL = env('CABLE_URL')
const HTTP_URL = env('HTTP_URL')
const PAGE = `http://127.0.0.1:${env('PAGE_PORT')}`
const FOREIGN = `http://127.0.0.1:${env('FOREIGN_PORT')}`

function sign(sub, account) {
  let b64 = v => Buffer.from(JSON.stringify(v)).toString('base64url')
  let now = Math.floor(Date.now() / 1000)
  let body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, account_id: account, permissions: [], kind: 'user', iat: now, exp: now + 3600 })}`
  return `${body}.${createHmac('sha256', env('JWT_SECRET')).update(body).digest('base64url')}`
}

async function publish(account, id) {
  let resp = await fetch(`${HTTP_URL}/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env('PUBLISHER_KEY')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'NotificationChannel', event: 'new_notification', payload: notification(account, id) }),
  })
  assert.equal(resp.status, 200, await resp.text())
}

// The page: the generated package bundled for the browser, nothing else.
let servers = []
before(async () => {
  let entry = fileURLToPath(new URL('../../generated/ts/src/index.ts', import.meta.url))
  let out = await build({ entryPoints: [entry], bundle: true, format: 'iife', globalName: 'Cableway', write: false, target: 'es2022', logLevel: 'silent' })
  let bundle = out.outputFiles[0].text
  let html = '<!doctype html><meta charset="utf-8"><title>cableway</title><script src="/client.js"></script>'
  for (let port of [env('PAGE_PORT'), env('FOREIGN_PORT')]) {
    let server = createServer((req, res) => {
      if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html)
      else res.writeHead(404).end()
    })
    await new Promise(resolve => server.listen(Number(port), '127.0.0.1', resolve))
    servers.push(server)
  }
})
after(() => servers.forEach(s => s.close()))

/** A page of `origin` with a client subscribed to the notifications of `account`; what happens is recorded in `window.rec`. */
async function openPage(context, origin, { token, account, options = {} }) {
  let page = await context.newPage()
  let problems = []
  page.on('pageerror', e => problems.push(e.message))
  page.problems = problems
  await page.goto(origin + '/')
  await page.evaluate(({ url, token, account, options }) => {
    let rec = (window.rec = { statuses: [], events: [], rejected: [], resyncs: [], sockets: [], urls: [], protocols: [], online: [], errors: [] })
    let Native = window.WebSocket
    window.WebSocket = class extends Native {
      constructor(...a) {
        super(...a)
        rec.sockets.push(performance.now())
        rec.urls.push(String(a[0]))
        rec.protocols.push([a[1] ?? []].flat().map(p => p.replace(/^anycable-token\..*/, 'anycable-token.<jwt>')))
      }
    }
    addEventListener('online', () => rec.online.push(performance.now()))
    let client = Cableway.createClient({ url, token, onError: e => rec.errors.push(String(e)), ...options })
    window.client = client
    client.onStateChange(s => rec.statuses.push({ state: s.state, reason: s.reason, retryAt: s.retryAt, at: performance.now() }))
    window.sub = client.notification.subscribe({ account_id: account }, {
      new_notification: p => rec.events.push(p.id),
      onRejected: i => rec.rejected.push(i.reason),
      onResync: r => rec.resyncs.push(r.reason),
    })
  }, { url: CABLE_URL, token, account, options })
  return page
}

const state = page => page.evaluate(() => ({ status: client.status, sub: sub.state, ...rec }))
/** The last state read of each page, for a failure's message. */
const seen = new Map()
const look = async page => {
  let s = await state(page)
  seen.set(page, s)
  return s
}
const ctx = pages => () => pages.map(p => JSON.stringify(seen.get(p) ?? null)).join('\n')
const waitPage = (page, what, f, ms = 15000) => waitFor(what, async () => f(await look(page)), { ms, context: ctx([page]) })
const subscribed = s => s.status.state === 'connected' && s.sub === 'subscribed'

test('subscribe and receive; a server restart leads to onResync, then live events', { timeout: 90_000 }, async () => {
  let browser = await launch()
  try {
    let account = 'acc-b-restart'
    let page = await openPage(browser.context, PAGE, { token: sign('u-b-restart', account), account, options: { reconnect: { baseDelayMs: 300, maxDelayMs: 2000 } } })
    await waitPage(page, 'subscribed', subscribed)
    let first = await state(page)
    assert.equal(first.statuses[0].state, 'connecting', 'the first status is heard by a listener added right after createClient')
    await publish(account, 'live-1')
    await waitPage(page, 'live-1', s => s.events.includes('live-1'))

    let restarted = await fetch(`${env('CONTROL_URL')}/restart`, { method: 'POST' })
    assert.equal(restarted.status, 204)
    await publish(account, 'gap-1')
    await waitPage(page, 'connected again', s => subscribed(s) && s.statuses.some(x => x.state === 'reconnecting'), 30000)
    await publish(account, 'live-2')
    await waitPage(page, 'live-2', s => s.events.includes('live-2'))
    let s = await state(page)
    assert.ok(s.events.includes('gap-1') || s.resyncs.length > 0, `what was published while away is delivered or covered by onResync: ${JSON.stringify(s)}`)
    assert.equal(new Set(s.events).size, s.events.length, `no event twice: ${s.events}`)
    assert.equal(s.status.reason, null, 'connected again: the reason is cleared')
    assert.deepEqual(page.problems, [])
  } finally {
    await browser.close()
  }
})

test('offline, then online: the reconnect starts within 500 ms of coming back', { timeout: 90_000 }, async () => {
  let browser = await launch()
  try {
    let account = 'acc-b-offline'
    let page = await openPage(browser.context, PAGE, { token: sign('u-b-offline', account), account, options: { staleAfterMs: 4000 } })
    await waitPage(page, 'subscribed', subscribed)
    await browser.context.setOffline(true)
    // The socket goes quiet (the stale check drops it) or closes; while offline no attempt is timed.
    await waitPage(page, 'reconnecting, paused offline', s => s.status.state === 'reconnecting' && s.status.retryAt === null && s.status.reason === 'offline', 20000)
    let paused = await state(page)
    // Long enough for a backoff timer to have fired several times, had there been one.
    await new Promise(resolve => setTimeout(resolve, 3000))
    let still = await state(page)
    assert.equal(still.sockets.length, paused.sockets.length, 'no attempt while offline')
    await browser.context.setOffline(false)
    await waitPage(page, 'subscribed again', subscribed, 20000)
    let back = await state(page)
    let online = back.online.at(-1)
    assert.ok(online !== undefined, 'the page heard `online`')
    let attempt = back.sockets.find(t => t >= online)
    assert.ok(attempt !== undefined, 'a socket was opened after `online`')
    console.log(`reconnect started ${(attempt - online).toFixed(1)} ms after online`)
    assert.ok(attempt - online < 500, `the attempt started ${attempt - online} ms after online`)
    await publish(account, 'after-offline')
    await waitPage(page, 'a live event', s => s.events.includes('after-offline'))
  } finally {
    await browser.close()
  }
})

test('3 tabs share one connection; the leader closes, another takes over, nothing lost or twice', { timeout: 120_000 }, async () => {
  let browser = await launch()
  try {
    let account = 'acc-b-tabs'
    let token = sign('u-b-tabs', account)
    let pages = []
    for (let i = 0; i < 3; i++) {
      pages.push(await openPage(browser.context, PAGE, { token, account }))
      await waitPage(pages[i], `tab ${i} subscribed`, subscribed)
    }
    await waitFor('one server connection', async () => (await openConnections(HTTP_URL)) === 1, { context: ctx(pages) })
    for (let p of pages) assert.equal((await state(p)).sockets.length, p === pages[0] ? 1 : 0, 'only the leader opened a WebSocket')
    await publish(account, 't-1')
    await publish(account, 't-2')
    for (let [i, p] of pages.entries()) await waitPage(p, `tab ${i}: t-2`, s => s.events.includes('t-2'))
    assert.equal(await openConnections(HTTP_URL), 1)

    // The leader (the first tab, the first to ask for the lock) closes; published meanwhile.
    let closedAt = Date.now()
    await pages[0].close()
    await publish(account, 'h-1')
    let rest = pages.slice(1)
    let leader = null
    await waitFor('a new leader socket', async () => {
      for (let p of rest) if ((await look(p)).sockets.length > 0) leader = p
      return leader !== null
    }, { context: ctx(rest) })
    let takeover = Date.now() - closedAt
    console.log(`the next leader opened its socket ${takeover} ms after the leader tab closed`)
    // A bound of the client alone (the lock goes to the next tab, which opens its socket): within 2 s.
    assert.ok(takeover < 2000, `took over after ${takeover} ms`)
    await publish(account, 'h-2')
    for (let [i, p] of rest.entries()) await waitPage(p, `tab ${i + 1}: h-2`, s => subscribed(s) && s.events.includes('h-1') && s.events.includes('h-2'))
    await waitFor('one server connection again', async () => (await openConnections(HTTP_URL)) === 1, { context: ctx(rest) })
    await publish(account, 'h-3')
    for (let [i, p] of rest.entries()) {
      await waitPage(p, `tab ${i + 1}: h-3`, s => s.events.includes('h-3'))
      let s = await state(p)
      assert.deepEqual(s.events, ['t-1', 't-2', 'h-1', 'h-2', 'h-3'], `tab ${i + 1}: every event once, in order`)
      assert.deepEqual(p.problems, [])
    }

  } finally {
    await browser.close()
  }
})

test('the token as the anycable-token subprotocol: off the URL, and the server accepts it', { timeout: 60_000 }, async () => {
  let browser = await launch()
  try {
    let account = 'acc-b-subprotocol'
    let page = await openPage(browser.context, PAGE, { token: sign('u-b-subprotocol', account), account, options: { tokenTransport: 'subprotocol' } })
    await waitPage(page, 'subscribed', subscribed)
    await publish(account, 'sp-1')
    await waitPage(page, 'sp-1', s => s.events.includes('sp-1'))
    let s = await look(page)
    assert.deepEqual(s.urls, [CABLE_URL], 'no token in the URL')
    assert.deepEqual(s.protocols, [['actioncable-v1-ext-json', 'actioncable-v1-json', 'anycable-token.<jwt>']])
  } finally {
    await browser.close()
  }
})

test('a refused token and a refused Origin show up as such in the page', { timeout: 60_000 }, async () => {
  let browser = await launch()
  try {
    let refused = await openPage(browser.context, PAGE, { token: 'not-a-jwt', account: 'acc-b-refused' })
    await waitPage(refused, 'closed', s => s.status.state === 'closed')
    let s = await state(refused)
    assert.equal(s.status.reason, 'unauthorized')
    assert.deepEqual(s.rejected, ['unauthorized'], 'the pending subscription hears why')
    assert.equal(s.sub, 'rejected')

    let account = 'acc-b-foreign'
    let foreign = await openPage(browser.context, FOREIGN, { token: sign('u-b-foreign', account), account })
    await waitPage(foreign, 'closed', s => s.status.state === 'closed')
    s = await state(foreign)
    assert.equal(s.status.reason, 'origin_refused')
    assert.deepEqual(s.rejected, ['origin_refused'])
    // It does not retry: the refusal said `reconnect: false`.
    await new Promise(resolve => setTimeout(resolve, 1500))
    assert.equal((await state(foreign)).sockets.length, 1)
  } finally {
    await browser.close()
  }
})
