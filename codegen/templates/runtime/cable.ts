// The client: one WebSocket, every subscription multiplexed over it. Puts the parts
// together and gives them their public API (`Cable`, which `createClient` extends with one
// typed property per channel): the connection (`connection.ts`), the wire protocol
// (`protocol.ts`), the subscription registry (`registry.ts`, `subscription.ts`) and the
// perform/reply queue (`queue.ts`). Each frame is decoded by the protocol and routed here:
// welcome, ping and disconnect to the connection, the rest to a subscription or the queue.
//
// In a browser the tabs of one page share one connection (`tabs.ts`): each tab's client
// then talks to the hub of the elected tab instead of the server, the same protocol over a
// BroadcastChannel. The page's lifecycle (`lifecycle.ts`) reaches the connection that holds
// the socket.
//
// Speaks `actioncable-v1-ext-json` (AnyCable's extension: stream positions, `history`,
// session resume with `sid`) and falls back to `actioncable-v1-json` when the server
// answers with plain ActionCable. Reconnects with exponential backoff (to the next node when
// given several URLs), resubscribes and asks for what it missed; refreshes the token once
// when the server says it is bad.

import { Connection, sameStatus, type ConnectionOptions, type ConnectionStatus } from "./connection.js";
import { inBrowser, watchLifecycle } from "./lifecycle.js";
import { CableClientError } from "./errors.js";
import { canonicalIdentifier } from "./identifier.js";
import {
  dispatchFrame,
  historyCommand,
  historyRequest,
  subscribeCommand,
  unsubscribeCommand,
  type FrameHandler,
  type HistoryRequest,
  type MessageBody,
  type StreamPosition,
  type Welcome,
} from "./protocol.js";
import { PerformQueue, type QueueOptions } from "./queue.js";
import { SubscriptionRegistry, type SharedSubscription } from "./registry.js";
import { SubscriptionHandle } from "./subscription.js";
import { browserTabApis, randomId, TabShare, tokenPrincipal, type TabApis } from "./tabs.js";
import { systemTimers, type Timers } from "./timers.js";
import type { TokenProvider } from "./token.js";
import type { ChannelApi, ChannelDef, ChannelHandlers, ChannelSpec, ChannelSubscription, ConnectedInfo, PerformOptions } from "./types.js";

// The package root exports these from here.
export { PROTOCOL_EXT, PROTOCOL_V1 } from "./protocol.js";
export type { ConnectionState, ConnectionStatus, WebSocketConstructor, WebSocketLike } from "./connection.js";
export type { TokenProvider, TokenRequest } from "./token.js";

/** Options of {@link Cable} and `createClient`. */
export interface CableOptions extends ConnectionOptions, QueueOptions {
  /** Connect at once (default). When false, call `connect()`. */
  readonly autoConnect?: boolean;
  /** Clock and timers. Default the platform's. */
  readonly timers?: Timers;
  /** Errors nobody else hears about: a failing token provider, a handler that threw. */
  readonly onError?: (error: unknown) => void;
  /**
   * Share one connection among the page's tabs (default: on in a browser with
   * BroadcastChannel; off in Node). One tab, elected with Web Locks (or over the
   * BroadcastChannel without them), holds the WebSocket; the others subscribe and perform
   * through it. `false`: every tab connects on its own.
   */
  readonly shareConnection?: boolean;
  /**
   * Who the tabs share the connection as: tabs share only with tabs of the same `url` and
   * scope. Default: the `sub` of a fixed JWT. With a token provider, pass the user's id, or
   * two users signed in one after the other in the same browser would share.
   */
  readonly tabScope?: string;
  /** The BroadcastChannel and Web Locks to share over. Default the page's; for tests. */
  readonly tabApis?: TabApis;
  /** Follow the page's `online`/`offline`, visibility and lifecycle events (default: on in a browser). */
  readonly lifecycle?: boolean;
}


/**
 * The connection and its subscriptions. `createClient` returns a subclass with one typed
 * property per channel; use this class directly only for channels the package does not know.
 */
export class Cable {
  readonly #connection: Connection;
  readonly #registry = new SubscriptionRegistry();
  readonly #queue: PerformQueue;
  readonly #report: (error: unknown) => void;
  readonly #tabs: TabShare | null;
  readonly #listeners = new Set<(status: ConnectionStatus) => void>();
  #lastStatus: ConnectionStatus;
  /** Listeners added in the tick the client was made, not told anything yet: they hear the first status. */
  #early: Set<(status: ConnectionStatus) => void> | null = null;

  constructor(options: CableOptions) {
    const timers = options.timers ?? systemTimers;
    this.#report = (error) => {
      const onError = options.onError;
      if (onError === undefined) return;
      try {
        onError(error);
      } catch {
        // nothing left to tell
      }
    };
    // The frame handler and the connection's owner are objects of their own rather than
    // `Cable` itself: their methods would be public members, names no channel property could take.
    const frames: FrameHandler = {
      welcome: (welcome) => this.#welcome(welcome),
      ping: (serverTime) => this.#connection.ping(serverTime),
      disconnect: (disconnect) => this.#connection.disconnected(disconnect),
      confirmed: (identifier) => this.#confirmed(identifier),
      rejected: (identifier, reason) => this.#rejected(identifier, reason),
      historyRejected: (identifier) => this.#registry.get(identifier)?.historyRejected(),
      message: (identifier, position, body) => this.#message(identifier, position, body),
    };
    const apis = options.shareConnection === false ? null : (options.tabApis ?? (inBrowser() ? browserTabApis() : null));
    this.#tabs = apis === null ? null : new TabShare(options, options.tabScope ?? tokenPrincipal(options.token), timers, apis, this.#report, () => this.#statusChanged());
    this.#connection = new Connection(this.#tabs === null ? options : this.#tabs.innerOptions(options.staleAfterMs), timers, {
      received: (data) => dispatchFrame(data, frames),
      lost: (wasWelcomed) => this.#lost(wasWelcomed),
      stopped: (reason) => this.#stopped(reason),
      report: this.#report,
    });
    this.#lastStatus = this.status;
    this.#connection.onStateChange(() => this.#statusChanged());
    // Across tabs a `$ref` names the tab too: replies reach every tab, and settle only the perform that sent it.
    const refPrefix = this.#tabs === null ? "" : `${randomId().slice(0, 8)}.`;
    this.#queue = new PerformQueue({ ...options, refPrefix }, timers, {
      canSend: (entry) => this.#connection.welcomed && entry.state === "subscribed",
      send: (command) => this.#connection.send(command),
    });
    if (options.lifecycle !== false) this.#watchLifecycle();
    if (options.autoConnect !== false) this.connect();
    // What the constructor did is heard by the listeners added before the next tick.
    this.#early = new Set();
    const first = this.#lastStatus;
    void Promise.resolve().then(() => {
      const early = this.#early;
      this.#early = null;
      if (early === null || !sameStatus(first, this.#lastStatus)) return;
      for (const l of early) if (this.#listeners.has(l)) this.#call(l, first);
    });
  }

  // -------------------------------------------------------------------------------------
  // Public API
  // -------------------------------------------------------------------------------------

  /** The connection's current status. */
  get status(): ConnectionStatus {
    const own = this.#connection.status;
    const next = this.#tabs === null ? own : this.#tabs.status(own);
    // The same object while nothing changed: React's useSyncExternalStore re-renders for
    // every new snapshot, and the tabs' composed status would be a new one on each read.
    const last = this.#lastStatus as ConnectionStatus | undefined;
    return last !== undefined && sameStatus(next, last) ? last : next;
  }

  /**
   * Calls `listener` with every new status; returns a function that stops it. A listener
   * added right after the client was made (in the same tick) also hears the status it
   * started with (`connecting`), unless a newer one came first.
   */
  onStateChange(listener: (status: ConnectionStatus) => void): () => void {
    this.#listeners.add(listener);
    this.#early?.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Opens the connection (after `autoConnect: false` or `disconnect()`), or retries now while waiting to reconnect. */
  connect(): void {
    this.#connection.connect();
  }

  /**
   * Logs out: closes the connection, ends every subscription (their state becomes `closed`),
   * rejects every queued or unanswered `perform`, and forgets the session and the cached
   * token. `connect()` starts afresh.
   */
  disconnect(): void {
    if (this.#connection.welcomed) {
      for (const entry of this.#registry) {
        if (entry.state !== "rejected") this.#connection.send(unsubscribeCommand(entry.key));
      }
    }
    this.#connection.logout(() => {
      const entries = this.#registry.clear();
      const closed = (): CableClientError => new CableClientError("closed", "the client was disconnected");
      this.#queue.failWaiting(closed);
      this.#queue.failInFlight(closed);
      for (const entry of entries) entry.close();
    });
  }

  /** Replaces the token or token provider; used from the next connection on (shared by tabs: while this tab holds it). */
  setToken(token: string | TokenProvider): void {
    if (this.#tabs === null) this.#connection.setToken(token);
    else this.#tabs.real?.setToken(token);
  }

  /** The typed entry point of one channel: what `createClient`'s channel properties are made of. */
  channel<S extends ChannelSpec>(def: ChannelDef<S>): ChannelApi<S> {
    return {
      name: def.name,
      subscribe: (params, handlers) => this.subscribe(def, params, handlers),
    };
  }

  /**
   * Subscribes to `def` with `params`. Subscriptions with the same channel and params (in any
   * key order) share one server subscription; the last `unsubscribe()` ends it.
   */
  subscribe<S extends ChannelSpec>(def: ChannelDef<S>, params: S["params"], handlers: ChannelHandlers<S> = {}): ChannelSubscription<S> {
    const anyDef = def as unknown as ChannelDef<ChannelSpec>;
    const { entry, fresh } = this.#registry.obtain(canonicalIdentifier(def.name, params), anyDef, params);
    const handle = new SubscriptionHandle(this, entry, anyDef, handlers as ChannelHandlers<ChannelSpec>);
    entry.handles.add(handle);
    if (entry.state === "rejected") {
      // A new subscriber tries again.
      entry.retry();
      if (this.#connection.welcomed) this.#subscribeOnServer(entry);
    } else if (fresh) {
      if (this.#connection.welcomed) this.#subscribeOnServer(entry);
    } else if (entry.state === "subscribed") {
      // Confirmed already: the newcomer hears so too, once `subscribe` has returned it.
      void Promise.resolve().then(() => handle._confirmed({ reconnected: false, restored: false }));
    }
    return handle as unknown as ChannelSubscription<S>;
  }

  // -------------------------------------------------------------------------------------
  // Status and the page
  // -------------------------------------------------------------------------------------

  #statusChanged(): void {
    const next = this.status;
    if (sameStatus(next, this.#lastStatus)) return;
    this.#lastStatus = next;
    this.#early = null;
    for (const l of [...this.#listeners]) this.#call(l, next);
  }

  #call(listener: (status: ConnectionStatus) => void, status: ConnectionStatus): void {
    try {
      listener(status);
    } catch (e) {
      this.#report(e);
    }
  }

  /** The page's events go to the connection holding the socket: this tab's, or its hub's while it leads. */
  #watchLifecycle(): void {
    const own = this.#connection;
    const tabs = this.#tabs;
    watchLifecycle({
      networkUp: () => (tabs?.real ?? own).networkUp(),
      networkDown: () => (tabs?.real ?? own).networkDown(),
      check: () => {
        tabs?.real?.check();
        own.check();
      },
      suspend: () => {
        tabs?.suspend();
        own.suspend();
      },
      resume: () => {
        tabs?.resume();
        own.resume();
      },
      leave: () => {
        tabs?.leave();
      },
    });
  }

  /** The connection stopped for good: what waits fails, and every subscription not refused yet hears why. */
  #stopped(reason: string): void {
    this.#queue.failWaiting(() => new CableClientError("closed", `the connection is closed (${reason})`));
    for (const entry of this.#registry.snapshot()) {
      if (entry.state !== "rejected") entry.stop(reason);
    }
  }

  // -------------------------------------------------------------------------------------
  // Frames
  // -------------------------------------------------------------------------------------

  #welcome(welcome: Welcome): void {
    const restored = new Set(this.#connection.dialect === "ext" ? welcome.restoredIds : []);
    const reconnected = this.#connection.welcome(welcome.sid, welcome.restored);
    if (reconnected === null) return;
    // Subscriptions the server kept but nobody wants any more.
    for (const id of restored) {
      if (this.#registry.get(id) === undefined) this.#connection.send(unsubscribeCommand(id));
    }
    for (const entry of this.#registry.snapshot()) {
      // A handler told of a confirmation below may have dropped the connection.
      if (!this.#connection.hasSocket) return;
      if (entry.state === "rejected" && !entry.retryOnConnect()) continue;
      if (restored.has(entry.key)) {
        // Kept by the server: ask for what was missed, no resubscribe.
        this.#connection.send(historyCommand(entry.key, this.#historyRequest(entry)));
        this.#confirm(entry, { reconnected, restored: true });
      } else {
        this.#subscribeOnServer(entry);
      }
    }
  }

  #confirmed(identifier: string): void {
    const entry = this.#registry.get(identifier);
    if (entry === undefined || entry.state === "subscribed") return;
    const reconnected = entry.everConfirmed;
    this.#confirm(entry, { reconnected, restored: false });
    // Plain ActionCable cannot replay what was missed while away.
    if (reconnected && this.#connection.dialect === "v1") entry.resync({ reason: "no_history" });
  }

  #rejected(identifier: string, reason: string | null): void {
    const entry = this.#registry.get(identifier);
    if (entry === undefined) return;
    this.#queue.failWaiting(() => new CableClientError("rejected", `the server rejected the subscription${reason === null ? "" : ` (${reason})`}`), entry);
    entry.reject(reason);
  }

  #message(identifier: string, position: StreamPosition | null, body: MessageBody): void {
    const entry = this.#registry.get(identifier);
    if (entry === undefined) return;
    if (position !== null && !entry.advance(position)) return; // already delivered
    if (body.kind === "event") {
      entry.deliver(body.message);
    } else if (body.reply !== null) {
      this.#queue.settle(body.reply);
    }
  }

  #subscribeOnServer(entry: SharedSubscription): void {
    // A resubscription asks for what was missed; plain ActionCable has no history.
    const history = this.#connection.dialect === "ext" && entry.everConfirmed ? this.#historyRequest(entry) : undefined;
    this.#connection.send(subscribeCommand(entry.key, history));
  }

  #historyRequest(entry: SharedSubscription): HistoryRequest {
    return historyRequest(this.#connection.historySince(), entry.positions);
  }

  /** Confirmed by the server, or kept by a resumed session: tell the subscribers, send what waited. */
  #confirm(entry: SharedSubscription, info: ConnectedInfo): void {
    entry.confirm(info);
    this.#queue.flush(entry);
  }

  /** The socket is gone: sent requests will get no reply, confirmed subscriptions wait for the next one. */
  #lost(wasWelcomed: boolean): void {
    this.#queue.failInFlight(() => new CableClientError("disconnected", "the connection was lost before the reply arrived"));
    for (const entry of this.#registry) entry.pause(wasWelcomed);
  }

  // -------------------------------------------------------------------------------------
  // Asked by the subscription handles
  // -------------------------------------------------------------------------------------

  /** @internal */
  _perform(entry: SharedSubscription, closed: boolean, action: string, request: unknown, options: PerformOptions | undefined): Promise<unknown> {
    if (closed || !this.#registry.holds(entry)) {
      return Promise.reject(new CableClientError("unsubscribed", "the subscription was released"));
    }
    if (entry.state === "rejected") {
      return Promise.reject(new CableClientError("rejected", "the server rejected the subscription"));
    }
    if (this.#connection.status.state === "closed") {
      return Promise.reject(new CableClientError("closed", "the client is disconnected"));
    }
    return this.#queue.perform(entry, action, request, options);
  }

  /** @internal A handle let go of its entry. */
  _release(entry: SharedSubscription, handle: SubscriptionHandle): void {
    if (!this.#registry.leave(entry, handle)) return;
    const gone = (): CableClientError => new CableClientError("unsubscribed", "the subscription was released");
    this.#queue.failWaiting(gone, entry);
    this.#queue.failInFlight(gone, entry);
    if (this.#connection.welcomed && entry.state !== "rejected") this.#connection.send(unsubscribeCommand(entry.key));
  }

  /** @internal */
  _report(error: unknown): void {
    this.#report(error);
  }
}
