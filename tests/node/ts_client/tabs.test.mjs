// Tabs sharing one connection, with a fake clock, fake sockets, and an in-memory
// BroadcastChannel and Web Locks: one real socket for every tab, subscriptions reference
// counted across tabs, replies to the tab that asked, a leader that goes is replaced and the
// tabs resume from their positions (nothing lost, nothing twice), end states reach every tab;
// and the BroadcastChannel election without Web Locks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient } from '../../../generated/ts/dist/index.js'
import { BusElection, CLAIM_MS, LEADER_TIMEOUT_MS } from '../../../generated/ts/dist/runtime/election.js'
import { FakeTimers, fakeWebSocket, settle } from './fakes.mjs'

/** A BroadcastChannel network: messages (cloned) reach every other open channel of the name, on a later microtask. */
class FakeBusNetwork {
  channels = new Set()

  /** The `BroadcastChannel` class of one tab; `close()` closes every channel the tab made. */
  tab() {
    let net = this
    let mine = new Set()
    class Bus {
      listeners = []
      closed = false
      constructor(name) {
        this.name = name
        net.channels.add(this)
        mine.add(this)
      }
      addEventListener(type, fn) {
        if (type === 'message') this.listeners.push(fn)
      }
      postMessage(message) {
        if (this.closed) throw new Error('InvalidStateError: the channel is closed')
        let data = structuredClone(message)
        for (let other of net.channels) {
          if (other === this || other.name !== this.name) continue
          queueMicrotask(() => {
            if (!other.closed) for (let fn of other.listeners) fn({ data })
          })
        }
      }
      close() {
        this.closed = true
        net.channels.delete(this)
      }
    }
    return { Bus, close: () => [...mine].forEach(b => b.close()) }
  }
}

/** Web Locks: one holder per name, the others wait in order; a closed tab's locks are released. */
class FakeLocks {
  held = new Map()
  waiting = new Map()

  tab() {
    let locks = this
    let tab = { closed: false }
    return {
      request(name, callback) {
        return new Promise(resolve => {
          let entry = { tab, callback, resolve }
          if (!locks.held.has(name)) locks.grant(name, entry)
          else (locks.waiting.get(name) ?? locks.waiting.set(name, []).get(name)).push(entry)
        })
      },
      close() {
        tab.closed = true
        for (let [name, entry] of [...locks.held]) if (entry.tab === tab) locks.release(name, entry)
        for (let list of locks.waiting.values()) list.splice(0, list.length, ...list.filter(e => e.tab !== tab))
      },
    }
  }

  grant(name, entry) {
    this.held.set(name, entry)
    queueMicrotask(() => {
      Promise.resolve(entry.callback({ name })).then(() => this.release(name, entry), () => this.release(name, entry))
    })
  }

  release(name, entry) {
    if (this.held.get(name) !== entry) return
    this.held.delete(name)
    entry.resolve()
    let next = this.waiting.get(name)?.shift()
    if (next) this.grant(name, next)
  }
}

const NOTIFICATIONS = { name: 'NotificationChannel', events: ['new_notification'], eventKey: 'event', payloadKey: 'payload' }
const ID = JSON.stringify({ account_id: 'a1', channel: 'NotificationChannel' })
const event = (n, offset, epoch = 'e1') => ({ identifier: ID, message: { event: 'new_notification', payload: { n } }, stream_id: 'notifications:a1', epoch, offset })

/** `count` tabs of one browser on one fake clock and one fake server. */
async function browser(count, options = {}) {
  let clock = new FakeTimers()
  let WS = fakeWebSocket(clock)
  let net = new FakeBusNetwork()
  let locks = new FakeLocks()
  let tabs = []
  for (let i = 0; i < count; i++) {
    let bus = net.tab()
    let lock = locks.tab()
    let errors = []
    let client = createClient({ url: 'ws://cable.test/cable', token: 't0', WebSocket: WS, timers: clock, random: () => 0.5, onError: e => errors.push(e), tabApis: { BroadcastChannel: bus.Bus, locks: lock }, ...options })
    let states = []
    client.onStateChange(s => states.push(s))
    tabs.push({ client, states, errors, close: () => (lock.close(), bus.close()) })
    await flush(clock)
  }
  await flush(clock)
  return { clock, WS, tabs }
}

/** Runs what the bus, the locks and the timers have to do. */
async function flush(clock, ms = 0) {
  for (let i = 0; i < 10; i++) {
    await settle()
    clock.advance(ms)
  }
}

/** Subscribes in `tab`, recording what arrives. */
function follow(tab, log = []) {
  let sub = tab.client.channel(NOTIFICATIONS).subscribe({ account_id: 'a1' }, {
    new_notification: p => log.push(p.n),
    onRejected: info => log.push(`rejected:${info.reason}`),
  })
  return { sub, log }
}

test('three tabs: one socket, one server subscription, every event once in each tab, unsubscribe counted across tabs', async () => {
  let { clock, WS, tabs } = await browser(3)
  assert.equal(WS.sockets.length, 1, 'one real socket for the three tabs')
  WS.last.accept()
  await flush(clock)
  for (let t of tabs) assert.equal(t.client.status.state, 'connected', 'each tab sees the shared connection')
  assert.equal(tabs[2].client.status.url, 'ws://cable.test/cable')

  let followed = tabs.map(t => follow(t))
  await flush(clock)
  assert.equal(WS.last.commands('subscribe').length, 1, 'one subscribe on the wire')
  WS.last.receive({ identifier: ID, type: 'confirm_subscription' })
  await flush(clock)
  for (let f of followed) assert.equal(f.sub.state, 'subscribed')

  WS.last.receive(event(1, 1))
  WS.last.receive(event(2, 2))
  await flush(clock)
  for (let f of followed) assert.deepEqual(f.log, [1, 2])

  // A late tab of the same browser joins the subscription without a second subscribe.
  let late = follow(tabs[1])
  await flush(clock)
  assert.equal(late.sub.state, 'subscribed')
  assert.equal(WS.last.commands('subscribe').length, 1)

  followed[0].sub.unsubscribe()
  followed[1].sub.unsubscribe()
  await flush(clock)
  assert.equal(WS.last.commands('unsubscribe').length, 0, 'others still hold it')
  late.sub.unsubscribe()
  followed[2].sub.unsubscribe()
  await flush(clock)
  assert.deepEqual(WS.last.commands('unsubscribe'), [{ command: 'unsubscribe', identifier: ID }], 'the last one out unsubscribes')
  for (let t of tabs) assert.deepEqual(t.errors, [])
})

test('a perform of any tab goes out once and its reply settles it in that tab only', async () => {
  let { clock, WS, tabs } = await browser(2)
  WS.last.accept()
  await flush(clock)
  let subs = tabs.map(t => follow(t).sub)
  await flush(clock)
  WS.last.receive({ identifier: ID, type: 'confirm_subscription' })
  await flush(clock)
  let replies = []
  let p0 = subs[0].perform('mark_read', { id: 'x' }).then(r => replies.push(['tab0', r]))
  let p1 = subs[1].perform('mark_read', { id: 'y' }).then(r => replies.push(['tab1', r]))
  await flush(clock)
  let sent = WS.last.commands('message').map(c => JSON.parse(c.data))
  assert.equal(sent.length, 2)
  assert.notEqual(sent[0].$ref, sent[1].$ref, 'refs are unique across tabs')
  for (let s of sent) WS.last.receive({ identifier: ID, message: { $reply: { ref: s.$ref, ok: true, data: { id: s.id } } } })
  await Promise.all([p0, p1])
  assert.deepEqual(replies.sort(), [['tab0', { id: 'x' }], ['tab1', { id: 'y' }]])
})

test('the leader tab closes: another takes over, resubscribes from the positions seen, nothing lost or twice', async () => {
  let { clock, WS, tabs } = await browser(3)
  WS.last.accept()
  await flush(clock)
  let followed = tabs.map(t => follow(t))
  await flush(clock)
  WS.last.receive({ identifier: ID, type: 'confirm_subscription' })
  WS.last.receive(event(1, 1))
  await flush(clock)
  let first = WS.last

  // Tab 0 led (it asked first): its page closes, and with it its socket.
  tabs[0].close()
  first.drop()
  await flush(clock, 50)
  assert.equal(WS.sockets.length, 2, 'the next leader opens the only socket')
  let second = WS.last
  second.accept()
  await flush(clock, 50)
  let subscribe = second.commands('subscribe')
  assert.equal(subscribe.length, 1, 'one subscribe for the two tabs left')
  assert.deepEqual(subscribe[0].history.streams, { 'notifications:a1': { epoch: 'e1', offset: 1 } }, 'from the position seen')
  second.receive({ identifier: ID, type: 'confirm_subscription' })
  await flush(clock, 50)
  // The other tab's own history request is sent once the subscription is confirmed.
  assert.equal(second.commands('history').length, 1)
  // Replayed (twice: once per history request) and live events.
  for (let n of [1, 2, 3, 2, 3]) second.receive(event(n, n))
  second.receive(event(4, 4))
  await flush(clock)
  assert.deepEqual(followed[1].log, [1, 2, 3, 4])
  assert.deepEqual(followed[2].log, [1, 2, 3, 4])
  for (let t of tabs.slice(1)) assert.equal(t.client.status.state, 'connected')
})

test('end states reach every tab: a refused fixed token stops the shared connection, pending subscriptions hear why', async () => {
  let { clock, WS, tabs } = await browser(2)
  let followed = tabs.map(t => follow(t))
  await flush(clock)
  WS.last.accept('actioncable-v1-ext-json', { type: 'disconnect', reason: 'unauthorized', reconnect: false })
  await flush(clock, 50)
  for (let [i, t] of tabs.entries()) {
    assert.equal(t.client.status.state, 'closed', `tab ${i}`)
    assert.equal(t.client.status.reason, 'unauthorized', `tab ${i}`)
    assert.deepEqual(followed[i].log, ['rejected:unauthorized'], `tab ${i}`)
    assert.equal(followed[i].sub.state, 'rejected')
  }
  clock.advance(60_000)
  await flush(clock, 1000)
  assert.equal(WS.sockets.length, 1, 'no retry with a token that cannot change')
})

test('election over the BroadcastChannel (no Web Locks): one leader; when it goes, another within the timeout', async () => {
  let clock = new FakeTimers()
  let net = new FakeBusNetwork()
  let leading = []
  let tabs = ['c', 'a', 'b'].map(id => {
    let bus = net.tab()
    let e = new BusElection(bus.Bus, 'scope:election', id, clock, l => leading.push([id, l]))
    return { id, e, bus }
  })
  for (let i = 0; i < 20; i++) {
    await settle()
    clock.advance(50)
  }
  assert.deepEqual(tabs.filter(t => t.e.leading).map(t => t.id), ['a'], 'the smallest id leads')
  let leader = tabs.find(t => t.id === 'a')
  leader.e.stop()
  leader.bus.close()
  let gone = clock.now()
  while (!tabs.some(t => t.e.leading) && clock.now() - gone < 5000) {
    await settle()
    clock.advance(50)
  }
  assert.deepEqual(tabs.filter(t => t.e.leading).map(t => t.id), ['b'])
  assert.ok(clock.now() - gone <= LEADER_TIMEOUT_MS + 2 * CLAIM_MS, `took over after ${clock.now() - gone} ms`)
  for (let t of tabs) t.e.stop()
})

test('offline pauses the shared connection until online, even while the tabs reattach; online reconnects at once', async () => {
  let win = new EventTarget()
  globalThis.window = win
  globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' })
  try {
    let { clock, WS, tabs } = await browser(2)
    WS.last.accept()
    await flush(clock)
    win.dispatchEvent(new Event('offline'))
    WS.last.drop()
    // The tabs' sockets are dropped and come back to the hub (50 ms), which waits.
    await flush(clock, 100)
    clock.advance(120_000)
    await flush(clock, 100)
    assert.equal(WS.sockets.length, 1, 'no attempt while offline')
    for (let t of tabs) assert.deepEqual([t.client.status.state, t.client.status.reason, t.client.status.retryAt], ['reconnecting', 'offline', null])
    win.dispatchEvent(new Event('online'))
    assert.equal(WS.sockets.length, 2, 'online: the attempt starts at once')
    WS.last.accept()
    await flush(clock, 50)
    for (let t of tabs) assert.equal(t.client.status.state, 'connected')
  } finally {
    delete globalThis.window
    delete globalThis.document
  }
})
