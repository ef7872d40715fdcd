// The fakes the client's unit tests drive it with: a manual clock whose timers fire only
// when the test moves it, and a WebSocket class whose sockets the test opens, feeds and
// drops; and a client on both. Used by unit.test.mjs and failover.test.mjs.

import { createClient } from '../../../generated/ts/dist/index.js'

/** A manual clock: timers fire only in `advance`. */
export class FakeTimers {
  nowMs = 0
  seq = 0
  timers = new Map()

  now() {
    return this.nowMs
  }

  setTimeout(callback, ms) {
    let id = ++this.seq
    this.timers.set(id, { at: this.nowMs + Math.max(0, ms), callback, id })
    return id
  }

  clearTimeout(id) {
    this.timers.delete(id)
  }

  /** Moves the clock forward by `ms`, firing due timers in order. */
  advance(ms) {
    let end = this.nowMs + ms
    for (;;) {
      let next = [...this.timers.values()].filter(t => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!next) break
      this.timers.delete(next.id)
      this.nowMs = next.at
      next.callback()
    }
    this.nowMs = end
  }

  /** Time until the next timer, or Infinity. */
  nextIn() {
    let at = Math.min(...[...this.timers.values()].map(t => t.at))
    return at - this.nowMs
  }
}

/** A WebSocket the test drives: `accept()`, `receive()`, `drop()`. */
export function fakeWebSocket(clock) {
  class FakeWebSocket {
    static sockets = []
    listeners = {}
    sent = []
    protocol = ''
    closed = false

    constructor(url, protocols) {
      this.url = url
      this.protocols = protocols
      this.createdAt = clock.now()
      FakeWebSocket.sockets.push(this)
    }

    addEventListener(type, fn) {
      ;(this.listeners[type] ??= []).push(fn)
    }

    emit(type, event = {}) {
      for (let fn of this.listeners[type] ?? []) fn(event)
    }

    send(data) {
      if (this.closed) throw new Error('send on a closed socket')
      this.sent.push(JSON.parse(data))
    }

    close() {
      if (this.closed) return
      this.closed = true
      this.emit('close', { code: 1000 })
    }

    /** The server accepts with `protocol` and says welcome. */
    accept(protocol = 'actioncable-v1-ext-json', welcome = { type: 'welcome', sid: 'sid1' }) {
      this.protocol = protocol
      this.emit('open')
      if (welcome) this.receive(welcome)
      return this
    }

    receive(frame) {
      this.emit('message', { data: JSON.stringify(frame) })
    }

    /** The connection fails or is lost without a disconnect frame. */
    drop() {
      this.closed = true
      this.emit('close', { code: 1006 })
    }

    commands(command) {
      return this.sent.filter(f => f.command === command)
    }

    static get last() {
      return FakeWebSocket.sockets.at(-1)
    }
  }
  return FakeWebSocket
}

/** A client on a fake clock and fake sockets (jitter at its midpoint), recording its statuses and errors. */
export function setup(options = {}) {
  let clock = new FakeTimers()
  let WS = fakeWebSocket(clock)
  let errors = []
  let client = createClient({ url: 'ws://cable.test/cable', token: 't0', WebSocket: WS, timers: clock, random: () => 0.5, onError: e => errors.push(e), ...options })
  let states = []
  client.onStateChange(s => states.push(s))
  return { clock, WS, client, states, errors }
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise(resolve => setImmediate(resolve))
