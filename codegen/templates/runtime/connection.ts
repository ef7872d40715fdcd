// The connection: one WebSocket at a time, and what keeps one up: the token, reconnection
// with exponential backoff to the next URL of the list (`failover.ts`), stale detection,
// session resume (`?sid=`) and the status the application watches. It knows nothing of
// subscriptions: it hands every frame to its owner, and tells the owner when a socket is
// lost or the connection stops for good.
//
// The session id and the server's clock belong to the connection, not to a URL: after a
// node is lost the next one is asked to resume the same session, and the owner asks it for
// the history after the same stream positions. Nodes that share an engine (Redis) can
// answer both; one that cannot says so (a fresh session, `reject_history`).

import { reconnectPolicy, type ReconnectOptions } from "./backoff.js";
import { Failover, urlList } from "./failover.js";
import { negotiatedDialect, offeredProtocols, type Command, type Dialect, type ServerDisconnect } from "./protocol.js";
import type { TimerHandle, Timers } from "./timers.js";
import { TokenSource, type TokenProvider } from "./token.js";

/** The part of a WebSocket the client uses: the browser's, `ws` in Node, or a fake. */
export interface WebSocketLike {
  /** The negotiated subprotocol. */
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** A WebSocket class: `globalThis.WebSocket`, or `WebSocket` from the `ws` package in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The options of `CableOptions` that concern the connection. */
export interface ConnectionOptions {
  /**
   * The server's WebSocket URL, e.g. `wss://example.com/cable` (one node, or several behind
   * a load balancer), or the URLs of several nodes: each reconnection goes to the next one,
   * in order, wrapping around.
   */
  readonly url: string | ReadonlyArray<string>;
  /** The JWT, or a (possibly async) function that returns it; sent as `tokenTransport` says. */
  readonly token?: string | TokenProvider;
  /**
   * How the token travels: `query` (default) as the `tokenParam` query parameter, or
   * `subprotocol` as an `anycable-token.<jwt>` entry of `Sec-WebSocket-Protocol`. A query
   * string ends up in proxy access logs and in the browser's own console errors; the
   * subprotocol header is logged by few proxies, but it is a header like any other (the
   * server and every proxy that terminates TLS see it), and headers are size-limited (a
   * token of several KB may be refused with 431 or a dropped handshake).
   */
  readonly tokenTransport?: "query" | "subprotocol";
  /** Query parameter carrying the token (`tokenTransport: "query"`). Default `token`. */
  readonly tokenParam?: string;
  /** `ext` (default) offers the extended protocol first and falls back to plain ActionCable; `v1` offers only plain ActionCable. */
  readonly protocol?: "ext" | "v1";
  /** Resume the server session (`?sid=`) on reconnection when the server supports it. Default true. */
  readonly resumeSession?: boolean;
  /** Backoff settings; with several URLs the delay grows once every URL has been tried. */
  readonly reconnect?: ReconnectOptions;
  /** The connection counts as dead after this long without any frame (the server pings every 3 s), in ms. Default 6000. */
  readonly staleAfterMs?: number;
  /** The WebSocket implementation. Default `globalThis.WebSocket`; in Node pass `WebSocket` from `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Random numbers in [0, 1) for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * - `idle`: not started (`autoConnect: false`);
 * - `connecting`: opening the first connection;
 * - `connected`: welcomed by the server;
 * - `reconnecting`: lost the connection, retrying with backoff;
 * - `closed`: stopped: `disconnect()`, the server refused for good, or the client gave up.
 */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

/** An immutable snapshot of the connection; a new object on every change. */
export interface ConnectionStatus {
  readonly state: ConnectionState;
  /** The negotiated dialect while connected; `null` otherwise. */
  readonly protocol: "ext" | "v1" | null;
  /** The current reconnection attempt (1 for the first) since the last welcome, over every URL; 0 when connected. */
  readonly attempt: number;
  /** Why the last connection ended (`server_restart`, `stale`, `closed`, `token_expired`, `gave_up`, `disconnected`…), or `null`. */
  readonly reason: string | null;
  /** The current connection resumed the previous session. */
  readonly restored: boolean;
  /** When the next attempt starts (the clock's `now()`), while waiting to reconnect. */
  readonly retryAt: number | null;
  /** The URL (from the options, without the query the client adds) of the socket being opened or connected, or of the next attempt while waiting to reconnect; `null` when idle or closed. */
  readonly url: string | null;
}

/** @internal Whether two statuses say the same: listeners hear only changes. */
export function sameStatus(a: ConnectionStatus, b: ConnectionStatus): boolean {
  return a.state === b.state && a.protocol === b.protocol && a.attempt === b.attempt && a.reason === b.reason && a.restored === b.restored && a.retryAt === b.retryAt && a.url === b.url;
}

/** @internal What the connection tells the one who owns it. */
export interface ConnectionOwner {
  /** A frame of the current socket, as received. */
  received(data: unknown): void;
  /** The current socket is gone, before the connection decides whether to reconnect; `wasWelcomed`: the server had welcomed it. */
  lost(wasWelcomed: boolean): void;
  /** The connection stopped for good, until `connect()`; called just before the status says `closed`. */
  stopped(reason: string): void;
  /** An error nobody else hears about. */
  report(error: unknown): void;
}

const noop = (): void => {};

/** The subprotocol entry that carries the token (`tokenTransport: "subprotocol"`): AnyCable's. */
const TOKEN_SUBPROTOCOL_PREFIX = "anycable-token.";

function withQuery(url: string, params: ReadonlyArray<readonly [string, string]>): string {
  if (params.length === 0) return url;
  const hash = url.indexOf("#");
  const base = hash >= 0 ? url.slice(0, hash) : url;
  const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return `${base}${base.includes("?") ? "&" : "?"}${query}${hash >= 0 ? url.slice(hash) : ""}`;
}

/** @internal */
export class Connection {
  readonly #options: ConnectionOptions;
  readonly #timers: Timers;
  readonly #owner: ConnectionOwner;
  readonly #failover: Failover;
  readonly #staleAfterMs: number;
  readonly #token: TokenSource;

  #status: ConnectionStatus = { state: "idle", protocol: null, attempt: 0, reason: null, restored: false, retryAt: null, url: null };
  readonly #listeners = new Set<(status: ConnectionStatus) => void>();

  #ws: WebSocketLike | null = null;
  /** Bumped whenever a pending open (token fetch, retry timer) must not go ahead any more. */
  #generation = 0;
  #welcomed = false;
  #dialect: Dialect = "v1";
  #everWelcomed = false;
  #sid: string | null = null;
  /** Server time (Unix seconds) of the last ping: where `since` starts after a reconnection. */
  #serverTime: number | null = null;
  #lastFrameAt = 0;
  #staleTimer: TimerHandle | null = null;
  #retryTimer: TimerHandle | null = null;
  /** The network is down (`offline`) or the page suspended: no attempt starts until it is back. */
  #paused: string | null = null;

  constructor(options: ConnectionOptions, timers: Timers, owner: ConnectionOwner) {
    this.#options = options;
    this.#timers = timers;
    this.#owner = owner;
    this.#token = new TokenSource(options.token);
    this.#failover = new Failover(urlList(options.url), reconnectPolicy(options.reconnect), options.random ?? Math.random);
    this.#staleAfterMs = options.staleAfterMs ?? 6000;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  onStateChange(listener: (status: ConnectionStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** A socket exists (it may not be open or welcomed yet). */
  get hasSocket(): boolean {
    return this.#ws !== null;
  }

  /** The server welcomed the current socket: commands can be sent. */
  get welcomed(): boolean {
    return this.#welcomed;
  }

  /** The dialect of the current (or last) socket. */
  get dialect(): Dialect {
    return this.#dialect;
  }

  /** The subprotocol the current socket negotiated (`""` without one). */
  get subprotocol(): string {
    return this.#ws?.protocol ?? "";
  }

  /** Where a history request starts: the server's clock when known, else ours with 5 s to spare. */
  historySince(): number {
    return this.#serverTime ?? Math.floor(this.#timers.now() / 1000) - 5;
  }

  connect(): void {
    const state = this.#status.state;
    if (state === "idle" || state === "closed") {
      this.#paused = null;
      this.#failover.restart();
      this.#token.renewRefresh();
      this.#open();
    } else if (state === "reconnecting" && this.#ws === null && (this.#retryTimer !== null || this.#paused !== null)) {
      // Asked to, it tries now, offline or not.
      this.#paused = null;
      this.#open();
    }
  }

  /**
   * Closes the socket and forgets the session, the cached token and the server's clock.
   * `release` ends whatever used the connection, before the status turns `closed`, so status
   * listeners see a client with nothing left.
   */
  logout(release: () => void): void {
    const ws = this.#ws;
    this.#detach();
    if (ws !== null) {
      try {
        ws.close(1000, "logout");
      } catch {
        // already closed
      }
    }
    this.#generation++;
    this.#clearRetry();
    this.#sid = null;
    this.#token.forget();
    this.#serverTime = null;
    this.#everWelcomed = false;
    release();
    this.#setStatus({ state: "closed", protocol: null, attempt: 0, reason: "disconnected", restored: false, retryAt: null, url: null });
  }

  setToken(token: string | TokenProvider): void {
    this.#token.set(token);
  }

  /** Sends `command` on the current socket; without one it is dropped (the owner resends what matters after the next welcome). */
  send(command: Command): void {
    const ws = this.#ws;
    if (ws === null) return;
    try {
      ws.send(JSON.stringify(command));
    } catch (e) {
      this.#owner.report(e);
    }
  }

  // -------------------------------------------------------------------------------------
  // What the server said about the connection
  // -------------------------------------------------------------------------------------

  /**
   * The server welcomed the socket: connected. Returns whether the client had been
   * connected before (a reconnection), or `null` for a second welcome, which is ignored.
   */
  welcome(sid: string | null, restored: boolean): boolean | null {
    if (this.#welcomed) return null;
    this.#welcomed = true;
    this.#failover.welcomed();
    this.#token.renewRefresh();
    const reconnected = this.#everWelcomed;
    this.#everWelcomed = true;
    this.#sid = this.#dialect === "ext" ? sid : null;
    // A reason is about an ending; connected again, there is none.
    this.#setStatus({ state: "connected", protocol: this.#dialect, attempt: 0, reason: null, restored, retryAt: null, url: this.#failover.url });
    return reconnected;
  }

  ping(serverTime: number): void {
    this.#serverTime = serverTime;
  }

  /** The server closes the connection and says whether to come back. */
  disconnected(disconnect: ServerDisconnect): void {
    this.#lost("disconnect", disconnect);
  }

  // -------------------------------------------------------------------------------------
  // What the platform says (the browser's `online`, `offline`, page lifecycle)
  // -------------------------------------------------------------------------------------

  /** The network is back: a connection waiting to retry (or paused offline) tries now. */
  networkUp(): void {
    const wasPaused = this.#paused === "offline";
    if (wasPaused) this.#paused = null;
    if (this.#status.state !== "reconnecting") return;
    const ws = this.#ws;
    if (ws !== null && !this.#welcomed) {
      // A socket opened while the network was down may hang until its stale check: start over.
      this.#detach();
      try {
        ws.close();
      } catch {
        // already closed
      }
      this.#owner.lost(false);
      this.#open();
    } else if (ws === null && (wasPaused || this.#retryTimer !== null)) {
      this.#open();
    }
  }

  /** The network is gone: no attempt is made (nor counted) until it is back. A live socket is left to the stale check. */
  networkDown(): void {
    if (this.#paused !== null) return;
    this.#paused = "offline";
    if (this.#retryTimer !== null) this.#pause("offline");
  }

  /** The page is visible again: a socket silent for longer than the stale window is dropped now (timers of hidden pages are throttled); a waiting retry goes now. */
  check(): void {
    if (this.#ws !== null) {
      if (this.#timers.now() - this.#lastFrameAt >= this.#staleAfterMs) this.#lost("stale", null);
    } else if (this.#status.state === "reconnecting" && this.#retryTimer !== null) {
      this.#open();
    }
  }

  /** The page is frozen or hidden for the back/forward cache: the socket is closed, nothing retries until {@link resume}. */
  suspend(): void {
    if (this.#status.state === "idle" || this.#status.state === "closed") return;
    this.#paused = "suspended";
    const ws = this.#ws;
    const wasWelcomed = this.#welcomed;
    this.#detach();
    this.#generation++;
    this.#clearRetry();
    if (ws !== null) {
      try {
        ws.close(1000, "suspended");
      } catch {
        // already closed
      }
      this.#owner.lost(wasWelcomed);
    }
    this.#pause("suspended");
  }

  /** The page is back from {@link suspend}: connects at once. */
  resume(): void {
    if (this.#paused !== "suspended") return;
    this.#paused = null;
    if (this.#status.state === "reconnecting" && this.#ws === null) this.#open();
  }

  // -------------------------------------------------------------------------------------
  // The socket's life
  // -------------------------------------------------------------------------------------

  #setStatus(next: ConnectionStatus): void {
    if (sameStatus(this.#status, next)) return;
    this.#status = next;
    for (const l of [...this.#listeners]) {
      try {
        l(next);
      } catch (e) {
        this.#owner.report(e);
      }
    }
  }

  #open(): void {
    this.#clearRetry();
    const gen = ++this.#generation;
    const state = this.#everWelcomed || this.#failover.attempts > 0 ? "reconnecting" : "connecting";
    this.#setStatus({ ...this.#status, state, protocol: null, retryAt: null, restored: false, url: this.#failover.url });
    // A status listener, a later open, a logout or a stop may have made this open moot.
    const go = (token: string | null): void => {
      if (gen === this.#generation) this.#createSocket(token);
    };
    const known = this.#token.known();
    if (known !== undefined) {
      go(known);
      return;
    }
    this.#token.ask().then(
      (token) => {
        if (gen !== this.#generation) return;
        this.#token.accept(token);
        go(token);
      },
      (error: unknown) => {
        if (gen !== this.#generation) return;
        this.#owner.report(error);
        this.#scheduleReconnect("token_unavailable");
      },
    );
  }

  #createSocket(token: string | null): void {
    const Impl = this.#options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Impl === undefined) {
      this.#owner.report(new Error("no WebSocket implementation: pass `WebSocket` (e.g. from the `ws` package) in the options"));
      this.#close("no_websocket");
      return;
    }
    const url = this.#socketUrl(token);
    const protocols = offeredProtocols(this.#options.protocol);
    if (token !== null && this.#options.tokenTransport === "subprotocol") protocols.push(`${TOKEN_SUBPROTOCOL_PREFIX}${token}`);
    let ws: WebSocketLike;
    try {
      ws = new Impl(url, protocols);
    } catch (error) {
      this.#owner.report(error);
      this.#scheduleReconnect("connect_failed");
      return;
    }
    this.#ws = ws;
    this.#welcomed = false;
    this.#lastFrameAt = this.#timers.now();
    this.#armStale();
    // Every listener checks that its socket is still the current one: a forgotten socket
    // (lost, stale, logged out) may still fire events, and they must change nothing.
    ws.addEventListener("open", () => {
      if (ws !== this.#ws) return;
      this.#lastFrameAt = this.#timers.now();
      const dialect = negotiatedDialect(ws.protocol);
      if (dialect === null) {
        this.#lost("unsupported_protocol", { reason: "unsupported_protocol", reconnect: false });
      } else {
        this.#dialect = dialect;
      }
    });
    ws.addEventListener("message", (event: { data?: unknown }) => {
      if (ws !== this.#ws) return;
      this.#lastFrameAt = this.#timers.now();
      this.#owner.received(event.data);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.#ws) return;
      this.#lost("closed", null);
    });
    // Every failure also ends in `close`, which is where it is handled.
    ws.addEventListener("error", noop);
  }

  /** The URL of the next socket: the current URL of the list, the token and, to resume the session, the sid. */
  #socketUrl(token: string | null): string {
    const query: Array<readonly [string, string]> = [];
    if (token !== null && this.#options.tokenTransport !== "subprotocol") query.push([this.#options.tokenParam ?? "token", token]);
    if (this.#sid !== null && this.#options.resumeSession !== false && this.#options.protocol !== "v1") query.push(["sid", this.#sid]);
    return withQuery(this.#failover.url, query);
  }

  /** Forgets the current socket without closing it; events of a forgotten socket are ignored. */
  #detach(): void {
    this.#ws = null;
    this.#welcomed = false;
    if (this.#staleTimer !== null) {
      this.#timers.clearTimeout(this.#staleTimer);
      this.#staleTimer = null;
    }
  }

  #armStale(): void {
    if (this.#staleTimer !== null) this.#timers.clearTimeout(this.#staleTimer);
    // One timer per socket rather than one per frame: when it fires early (frames came in
    // meanwhile) it re-arms for the rest of the window.
    const due = this.#lastFrameAt + this.#staleAfterMs - this.#timers.now();
    this.#staleTimer = this.#timers.setTimeout(() => {
      this.#staleTimer = null;
      if (this.#ws === null) return;
      if (this.#timers.now() - this.#lastFrameAt >= this.#staleAfterMs) {
        this.#lost("stale", null);
      } else {
        this.#armStale();
      }
    }, Math.max(0, due));
  }

  /** Waits, without a timer, for the network or the page to come back. */
  #pause(reason: string): void {
    this.#clearRetry();
    this.#generation++;
    this.#setStatus({ ...this.#status, state: "reconnecting", protocol: null, reason, restored: false, retryAt: null });
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) {
      this.#timers.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  /** The socket is gone (closed, stale, or refused): clean up, then reconnect or stop. */
  #lost(reason: string, disconnect: ServerDisconnect | null): void {
    const ws = this.#ws;
    const wasWelcomed = this.#welcomed;
    this.#detach();
    if (ws !== null) {
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    this.#owner.lost(wasWelcomed);
    const why = disconnect?.reason ?? reason;
    if (disconnect !== null && (disconnect.reason === "unauthorized" || disconnect.reason === "token_expired")) {
      // A refused token ends the session; a fresh token may open a new one at once, on the
      // same URL: the node did not fail.
      this.#sid = null;
      if (this.#token.refreshAfter(disconnect.reason)) {
        this.#setStatus({ ...this.#status, state: "reconnecting", protocol: null, reason: why, restored: false, retryAt: null });
        this.#open();
        return;
      }
      this.#close(why);
      return;
    }
    if (disconnect !== null && !disconnect.reconnect) {
      this.#close(why);
      return;
    }
    this.#scheduleReconnect(why);
  }

  /** Waits, then tries the next URL; or gives up. */
  #scheduleReconnect(reason: string): void {
    this.#clearRetry();
    if (this.#paused !== null) {
      this.#pause(this.#paused);
      return;
    }
    const delay = this.#failover.next();
    if (delay === null) {
      this.#close("gave_up");
      return;
    }
    const gen = ++this.#generation;
    this.#setStatus({ state: "reconnecting", protocol: null, attempt: this.#failover.attempts, reason, restored: false, retryAt: this.#timers.now() + delay, url: this.#failover.url });
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      if (gen !== this.#generation) return;
      this.#open();
    }, delay);
  }

  /** Stops for good (until `connect()`): the connection cannot come back by itself. */
  #close(reason: string): void {
    this.#clearRetry();
    this.#generation++;
    this.#owner.stopped(reason);
    this.#setStatus({ state: "closed", protocol: null, attempt: 0, reason, restored: false, retryAt: null, url: null });
  }
}
