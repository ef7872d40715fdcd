// The connection: one WebSocket per client, every subscription multiplexed over it.
//
// Speaks `actioncable-v1-ext-json` (AnyCable's extension: stream positions, `history`,
// session resume with `sid`) and falls back to `actioncable-v1-json` when the server
// answers with plain ActionCable. Reconnects with exponential backoff, resubscribes and
// asks for what it missed; refreshes the token once when the server says it is bad.

import { backoffDelay, reconnectPolicy, type ReconnectOptions, type ReconnectPolicy } from "./backoff.js";
import { ActionError, CableClientError, QueueFullError, type ActionErrorDetail } from "./errors.js";
import { canonicalIdentifier } from "./identifier.js";
import { systemTimers, type TimerHandle, type Timers } from "./timers.js";
import type {
  ChannelApi,
  ChannelDef,
  ChannelHandlers,
  ChannelSpec,
  ChannelSubscription,
  ConnectedInfo,
  PerformOptions,
  PerformResult,
  SubscriptionState,
} from "./types.js";

/** AnyCable's extended protocol: stream positions, `history`, session resume. */
export const PROTOCOL_EXT = "actioncable-v1-ext-json";
/** Plain ActionCable. */
export const PROTOCOL_V1 = "actioncable-v1-json";

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

/** What refresh means to a token provider. */
export interface TokenRequest {
  /** False for the first connection; true when the server refused the last token. */
  readonly refresh: boolean;
  /** The server's reason when refreshing: `unauthorized` or `token_expired`. */
  readonly reason: string | null;
}

/** Supplies the JWT: called for the first connection, and once more whenever the server refuses the token. */
export type TokenProvider = (request: TokenRequest) => string | Promise<string>;

/** Options of {@link Cable} and `createClient`. */
export interface CableOptions {
  /** The server's WebSocket URL, e.g. `wss://example.com/cable`. */
  readonly url: string;
  /** The JWT, or a (possibly async) function that returns it; sent as the `tokenParam` query parameter. */
  readonly token?: string | TokenProvider;
  /** Query parameter carrying the token. Default `token`. */
  readonly tokenParam?: string;
  /** `ext` (default) offers the extended protocol first and falls back to plain ActionCable; `v1` offers only plain ActionCable. */
  readonly protocol?: "ext" | "v1";
  /** Resume the server session (`?sid=`) on reconnection when the server supports it. Default true. */
  readonly resumeSession?: boolean;
  /** Backoff settings. */
  readonly reconnect?: ReconnectOptions;
  /** The connection counts as dead after this long without any frame (the server pings every 3 s), in ms. Default 6000. */
  readonly staleAfterMs?: number;
  /** Most `perform`s that may wait for the connection; one more rejects with {@link QueueFullError}. Default 100. */
  readonly offlineQueueLimit?: number;
  /** How long a sent `perform` waits for its reply, in ms. Default 30000. */
  readonly replyTimeoutMs?: number;
  /** Connect at once (default). When false, call `connect()`. */
  readonly autoConnect?: boolean;
  /** The WebSocket implementation. Default `globalThis.WebSocket`; in Node pass `WebSocket` from `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Clock and timers. Default the platform's. */
  readonly timers?: Timers;
  /** Random numbers in [0, 1) for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Errors nobody else hears about: a failing token provider, a handler that threw. */
  readonly onError?: (error: unknown) => void;
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
  /** The current reconnection attempt (1 for the first), 0 when connected. */
  readonly attempt: number;
  /** Why the last connection ended (`server_restart`, `stale`, `closed`, `token_expired`, `gave_up`, `disconnected`…), or `null`. */
  readonly reason: string | null;
  /** The current connection resumed the previous session. */
  readonly restored: boolean;
  /** When the next attempt starts (the clock's `now()`), while waiting to reconnect. */
  readonly retryAt: number | null;
}

// ---------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------

interface Position {
  epoch: string;
  offset: number;
}

/** @internal One server subscription, shared by every handle with the same identifier. */
export interface SharedSubscription {
  readonly key: string;
  readonly def: ChannelDef<ChannelSpec>;
  readonly params: object;
  readonly handles: Set<SubscriptionHandle>;
  state: "pending" | "subscribed" | "rejected";
  /** Confirmed at least once: a later subscribe is a resubscribe and asks for history. */
  everConfirmed: boolean;
  /** Stream positions received on this subscription. */
  readonly positions: Map<string, Position>;
}

interface Outgoing {
  readonly entry: SharedSubscription;
  readonly ref: string;
  readonly action: string;
  readonly data: string;
  readonly timeoutMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | null;
}

type Frame = { readonly [key: string]: unknown };

const noop = (): void => {};

function isObject(v: unknown): v is Frame {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function withQuery(url: string, params: ReadonlyArray<readonly [string, string]>): string {
  if (params.length === 0) return url;
  const hash = url.indexOf("#");
  const base = hash >= 0 ? url.slice(0, hash) : url;
  const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return `${base}${base.includes("?") ? "&" : "?"}${query}${hash >= 0 ? url.slice(hash) : ""}`;
}

/**
 * The connection and its subscriptions. `createClient` returns a subclass with one typed
 * property per channel; use this class directly only for channels the package does not know.
 */
export class Cable {
  readonly #options: CableOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #policy: ReconnectPolicy;
  readonly #staleAfterMs: number;
  readonly #queueLimit: number;
  readonly #replyTimeoutMs: number;

  #token: string | TokenProvider | undefined;
  #cachedToken: string | null = null;
  #refreshReason: string | null = null;
  #refreshedSinceWelcome = false;

  #status: ConnectionStatus = { state: "idle", protocol: null, attempt: 0, reason: null, restored: false, retryAt: null };
  readonly #listeners = new Set<(status: ConnectionStatus) => void>();

  #ws: WebSocketLike | null = null;
  #generation = 0;
  #welcomed = false;
  #dialect: "ext" | "v1" = "v1";
  #serverDisconnect: { reason: string; reconnect: boolean } | null = null;
  #everWelcomed = false;
  #sid: string | null = null;
  /** Server time (Unix seconds) of the last ping: where `since` starts after a reconnection. */
  #serverTime: number | null = null;
  #lastFrameAt = 0;
  #staleTimer: TimerHandle | null = null;
  #retryTimer: TimerHandle | null = null;
  #attempts = 0;

  readonly #entries = new Map<string, SharedSubscription>();
  #queue: Outgoing[] = [];
  readonly #inFlight = new Map<string, Outgoing>();
  #nextRef = 0;

  constructor(options: CableOptions) {
    this.#options = options;
    this.#token = options.token;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#policy = reconnectPolicy(options.reconnect);
    this.#staleAfterMs = options.staleAfterMs ?? 6000;
    this.#queueLimit = options.offlineQueueLimit ?? 100;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 30000;
    if (options.autoConnect !== false) this.connect();
  }

  // -------------------------------------------------------------------------------------
  // Public API
  // -------------------------------------------------------------------------------------

  /** The connection's current status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Calls `listener` with every new status; returns a function that stops it. */
  onStateChange(listener: (status: ConnectionStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Opens the connection (after `autoConnect: false` or `disconnect()`), or retries now while waiting to reconnect. */
  connect(): void {
    const state = this.#status.state;
    if (state === "idle" || state === "closed") {
      this.#attempts = 0;
      this.#refreshedSinceWelcome = false;
      this.#open();
    } else if (state === "reconnecting" && this.#retryTimer !== null) {
      this.#open();
    }
  }

  /**
   * Logs out: closes the connection, ends every subscription (their state becomes `closed`),
   * rejects every queued or unanswered `perform`, and forgets the session and the cached
   * token. `connect()` starts afresh.
   */
  disconnect(): void {
    const ws = this.#ws;
    if (ws !== null && this.#welcomed) {
      for (const entry of this.#entries.values()) {
        if (entry.state !== "rejected") this.#sendFrame({ command: "unsubscribe", identifier: entry.key });
      }
    }
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
    this.#cachedToken = null;
    this.#serverTime = null;
    this.#everWelcomed = false;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    this.#failQueued(() => new CableClientError("closed", "the client was disconnected"), () => true);
    this.#failInFlight(() => new CableClientError("closed", "the client was disconnected"), () => true);
    for (const entry of entries) {
      for (const h of [...entry.handles]) h._close();
    }
    this.#setStatus({ state: "closed", protocol: null, attempt: 0, reason: "disconnected", restored: false, retryAt: null });
  }

  /** Replaces the token or token provider; used from the next connection on. */
  setToken(token: string | TokenProvider): void {
    this.#token = token;
    this.#cachedToken = null;
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
    const key = canonicalIdentifier(def.name, params);
    let entry = this.#entries.get(key);
    const fresh = entry === undefined;
    if (entry === undefined) {
      entry = {
        key,
        def: def as unknown as ChannelDef<ChannelSpec>,
        params,
        handles: new Set(),
        state: "pending",
        everConfirmed: false,
        positions: new Map(),
      };
      this.#entries.set(key, entry);
    }
    const handle = new SubscriptionHandle(this, entry, def as unknown as ChannelDef<ChannelSpec>, handlers as ChannelHandlers<ChannelSpec>);
    entry.handles.add(handle);
    if (entry.state === "rejected") {
      // A new subscriber tries again.
      entry.state = "pending";
      for (const h of entry.handles) h._notifyState();
      if (this.#welcomed) this.#sendSubscribe(entry);
    } else if (fresh) {
      if (this.#welcomed) this.#sendSubscribe(entry);
    } else if (entry.state === "subscribed") {
      void Promise.resolve().then(() => handle._confirmed({ reconnected: false, restored: false }));
    }
    return handle as unknown as ChannelSubscription<S>;
  }

  // -------------------------------------------------------------------------------------
  // Connection lifecycle
  // -------------------------------------------------------------------------------------

  #setStatus(next: ConnectionStatus): void {
    const cur = this.#status;
    if (
      cur.state === next.state &&
      cur.protocol === next.protocol &&
      cur.attempt === next.attempt &&
      cur.reason === next.reason &&
      cur.restored === next.restored &&
      cur.retryAt === next.retryAt
    ) {
      return;
    }
    this.#status = next;
    for (const l of [...this.#listeners]) {
      try {
        l(next);
      } catch (e) {
        this.#report(e);
      }
    }
  }

  #report(error: unknown): void {
    const onError = this.#options.onError;
    if (onError !== undefined) {
      try {
        onError(error);
      } catch {
        // nothing left to tell
      }
    }
  }

  #open(): void {
    this.#clearRetry();
    const gen = ++this.#generation;
    const state = this.#everWelcomed || this.#attempts > 0 ? "reconnecting" : "connecting";
    this.#setStatus({ ...this.#status, state, protocol: null, retryAt: null, restored: false });
    const go = (token: string | null): void => {
      if (gen !== this.#generation) return;
      this.#createSocket(token);
    };
    const token = this.#token;
    if (typeof token === "function") {
      if (this.#cachedToken !== null && this.#refreshReason === null) {
        go(this.#cachedToken);
        return;
      }
      const request: TokenRequest = { refresh: this.#refreshReason !== null, reason: this.#refreshReason };
      Promise.resolve()
        .then(() => token(request))
        .then(
          (t) => {
            if (gen !== this.#generation) return;
            this.#cachedToken = t;
            this.#refreshReason = null;
            go(t);
          },
          (error: unknown) => {
            if (gen !== this.#generation) return;
            this.#report(error);
            this.#scheduleReconnect("token_unavailable");
          },
        );
    } else {
      go(token ?? null);
    }
  }

  #createSocket(token: string | null): void {
    const Impl = this.#options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Impl === undefined) {
      this.#report(new Error("no WebSocket implementation: pass `WebSocket` (e.g. from the `ws` package) in the options"));
      this.#close("no_websocket");
      return;
    }
    const query: Array<readonly [string, string]> = [];
    if (token !== null) query.push([this.#options.tokenParam ?? "token", token]);
    if (this.#sid !== null && this.#options.resumeSession !== false && this.#options.protocol !== "v1") query.push(["sid", this.#sid]);
    const protocols = this.#options.protocol === "v1" ? [PROTOCOL_V1] : [PROTOCOL_EXT, PROTOCOL_V1];
    let ws: WebSocketLike;
    try {
      ws = new Impl(withQuery(this.#options.url, query), protocols);
    } catch (error) {
      this.#report(error);
      this.#scheduleReconnect("connect_failed");
      return;
    }
    this.#ws = ws;
    this.#welcomed = false;
    this.#serverDisconnect = null;
    this.#lastFrameAt = this.#timers.now();
    this.#armStale();
    ws.addEventListener("open", () => {
      if (ws !== this.#ws) return;
      this.#lastFrameAt = this.#timers.now();
      const p = ws.protocol;
      if (p === PROTOCOL_EXT) {
        this.#dialect = "ext";
      } else if (p === PROTOCOL_V1 || p === "" || p === undefined) {
        this.#dialect = "v1";
      } else {
        this.#lost("unsupported_protocol", { reason: "unsupported_protocol", reconnect: false });
      }
    });
    ws.addEventListener("message", (event: { data?: unknown }) => {
      if (ws !== this.#ws) return;
      this.#lastFrameAt = this.#timers.now();
      let frame: unknown;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (isObject(frame)) this.#handleFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.#ws) return;
      this.#lost("closed", this.#serverDisconnect);
    });
    ws.addEventListener("error", noop);
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

  #clearRetry(): void {
    if (this.#retryTimer !== null) {
      this.#timers.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  /** The socket is gone (closed, stale, or refused): clean up, then reconnect or stop. */
  #lost(reason: string, disconnect: { reason: string; reconnect: boolean } | null): void {
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
    this.#failInFlight(() => new CableClientError("disconnected", "the connection was lost before the reply arrived"), () => true);
    for (const entry of this.#entries.values()) {
      if (entry.state === "subscribed") {
        entry.state = "pending";
        for (const h of entry.handles) {
          h._notifyState();
          if (wasWelcomed) h._disconnected();
        }
      }
    }
    const why = disconnect?.reason ?? reason;
    if (disconnect !== null && (disconnect.reason === "unauthorized" || disconnect.reason === "token_expired")) {
      this.#sid = null;
      if (typeof this.#token === "function" && !this.#refreshedSinceWelcome) {
        this.#refreshedSinceWelcome = true;
        this.#refreshReason = disconnect.reason;
        this.#cachedToken = null;
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

  #scheduleReconnect(reason: string): void {
    this.#clearRetry();
    if (this.#attempts >= this.#policy.maxAttempts) {
      this.#close("gave_up");
      return;
    }
    const delay = backoffDelay(this.#attempts, this.#policy, this.#random);
    this.#attempts++;
    const gen = ++this.#generation;
    this.#setStatus({ state: "reconnecting", protocol: null, attempt: this.#attempts, reason, restored: false, retryAt: this.#timers.now() + delay });
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
    this.#failQueued(() => new CableClientError("closed", `the connection is closed (${reason})`), () => true);
    this.#setStatus({ state: "closed", protocol: null, attempt: 0, reason, restored: false, retryAt: null });
  }

  // -------------------------------------------------------------------------------------
  // Frames
  // -------------------------------------------------------------------------------------

  #sendFrame(frame: object): void {
    const ws = this.#ws;
    if (ws === null) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch (e) {
      this.#report(e);
    }
  }

  #handleFrame(frame: Frame): void {
    const type = frame["type"];
    const identifier = typeof frame["identifier"] === "string" ? (frame["identifier"] as string) : null;
    const entry = identifier === null ? undefined : this.#entries.get(identifier);
    switch (type) {
      case "welcome":
        this.#onWelcome(frame);
        return;
      case "ping":
        if (typeof frame["message"] === "number") this.#serverTime = frame["message"];
        return;
      case "disconnect":
        this.#lost("disconnect", {
          reason: typeof frame["reason"] === "string" ? frame["reason"] : "disconnect",
          reconnect: frame["reconnect"] === true,
        });
        return;
      case "confirm_subscription":
        if (entry !== undefined) this.#onConfirmed(entry);
        return;
      case "reject_subscription":
        if (entry !== undefined) this.#onRejected(entry, typeof frame["reason"] === "string" ? frame["reason"] : null);
        return;
      case "confirm_history":
        return;
      case "reject_history":
        if (entry !== undefined) {
          entry.positions.clear();
          for (const h of [...entry.handles]) h._resync({ reason: "history_rejected" });
        }
        return;
      default:
        if (entry !== undefined && "message" in frame) this.#onData(entry, frame);
    }
  }

  #onWelcome(frame: Frame): void {
    if (this.#welcomed) return;
    this.#welcomed = true;
    this.#attempts = 0;
    this.#refreshedSinceWelcome = false;
    const reconnected = this.#everWelcomed;
    this.#everWelcomed = true;
    this.#sid = this.#dialect === "ext" && typeof frame["sid"] === "string" ? frame["sid"] : null;
    const restored = new Set<string>();
    if (this.#dialect === "ext" && frame["restored"] === true && Array.isArray(frame["restored_ids"])) {
      for (const id of frame["restored_ids"]) if (typeof id === "string") restored.add(id);
    }
    this.#setStatus({ state: "connected", protocol: this.#dialect, attempt: 0, reason: this.#status.reason, restored: frame["restored"] === true, retryAt: null });
    // Subscriptions the server kept but nobody wants any more.
    for (const id of restored) {
      if (!this.#entries.has(id)) this.#sendFrame({ command: "unsubscribe", identifier: id });
    }
    for (const entry of [...this.#entries.values()]) {
      if (this.#ws === null) return;
      if (entry.state === "rejected") continue;
      if (restored.has(entry.key)) {
        // Kept by the server: ask for what was missed, no resubscribe.
        this.#sendFrame({ command: "history", identifier: entry.key, history: this.#historyRequest(entry) });
        this.#markConfirmed(entry, { reconnected, restored: true });
      } else {
        this.#sendSubscribe(entry);
      }
    }
  }

  #sendSubscribe(entry: SharedSubscription): void {
    const frame: { command: string; identifier: string; history?: object } = { command: "subscribe", identifier: entry.key };
    if (this.#dialect === "ext" && entry.everConfirmed) frame.history = this.#historyRequest(entry);
    this.#sendFrame(frame);
  }

  #historyRequest(entry: SharedSubscription): { since: number; streams?: { [stream: string]: Position } } {
    const since = this.#serverTime ?? Math.floor(this.#timers.now() / 1000) - 5;
    if (entry.positions.size === 0) return { since };
    const streams: { [stream: string]: Position } = {};
    for (const [stream, p] of entry.positions) streams[stream] = { epoch: p.epoch, offset: p.offset };
    return { since, streams };
  }

  #onConfirmed(entry: SharedSubscription): void {
    if (entry.state === "subscribed") return;
    const reconnected = entry.everConfirmed;
    this.#markConfirmed(entry, { reconnected, restored: false });
    if (reconnected && this.#dialect === "v1") {
      for (const h of [...entry.handles]) h._resync({ reason: "no_history" });
    }
  }

  #markConfirmed(entry: SharedSubscription, info: ConnectedInfo): void {
    entry.state = "subscribed";
    entry.everConfirmed = true;
    for (const h of [...entry.handles]) {
      h._notifyState();
      h._confirmed(info);
    }
    this.#flush(entry);
  }

  #onRejected(entry: SharedSubscription, reason: string | null): void {
    entry.state = "rejected";
    this.#failQueued(() => new CableClientError("rejected", `the server rejected the subscription${reason === null ? "" : ` (${reason})`}`), (o) => o.entry === entry);
    for (const h of [...entry.handles]) {
      h._notifyState();
      h._rejected(reason);
    }
  }

  #onData(entry: SharedSubscription, frame: Frame): void {
    const stream = frame["stream_id"];
    const epoch = frame["epoch"];
    const offset = frame["offset"];
    if (typeof stream === "string" && typeof epoch === "string" && typeof offset === "number") {
      const seen = entry.positions.get(stream);
      if (seen !== undefined && seen.epoch === epoch && offset <= seen.offset) return; // already delivered
      entry.positions.set(stream, { epoch, offset });
    }
    const message = frame["message"];
    if (isObject(message) && isObject(message["$reply"])) {
      this.#onReply(message["$reply"]);
      return;
    }
    for (const h of [...entry.handles]) h._deliver(message);
  }

  #onReply(reply: Frame): void {
    const ref = reply["ref"];
    if (typeof ref !== "string") return;
    const out = this.#inFlight.get(ref);
    if (out === undefined) return;
    this.#inFlight.delete(ref);
    if (out.timer !== null) this.#timers.clearTimeout(out.timer);
    if (reply["ok"] === true) {
      out.resolve(reply["data"] ?? null);
      return;
    }
    const error = isObject(reply["error"]) ? reply["error"] : {};
    const code = typeof error["code"] === "string" ? error["code"] : "backend_unavailable";
    const message = typeof error["message"] === "string" ? error["message"] : "the action failed";
    const details = Array.isArray(error["details"]) ? (error["details"] as ActionErrorDetail[]) : [];
    out.reject(new ActionError(out.action, code, message, details));
  }

  // -------------------------------------------------------------------------------------
  // Perform and the offline queue
  // -------------------------------------------------------------------------------------

  /** @internal */
  _perform(entry: SharedSubscription, closed: boolean, action: string, request: unknown, options: PerformOptions | undefined): Promise<unknown> {
    if (closed || this.#entries.get(entry.key) !== entry) {
      return Promise.reject(new CableClientError("unsubscribed", "the subscription was released"));
    }
    if (entry.state === "rejected") {
      return Promise.reject(new CableClientError("rejected", "the server rejected the subscription"));
    }
    if (this.#status.state === "closed") {
      return Promise.reject(new CableClientError("closed", "the client is disconnected"));
    }
    const ref = String(++this.#nextRef);
    const body = { ...(isObject(request) ? request : {}), action, $ref: ref };
    return new Promise((resolve, reject) => {
      const out: Outgoing = {
        entry,
        ref,
        action,
        data: JSON.stringify(body),
        timeoutMs: options?.timeoutMs ?? this.#replyTimeoutMs,
        resolve,
        reject,
        timer: null,
      };
      if (this.#ws !== null && this.#welcomed && entry.state === "subscribed") {
        this.#transmit(out);
      } else if (this.#queue.length >= this.#queueLimit) {
        reject(new QueueFullError(this.#queueLimit));
      } else {
        this.#queue.push(out);
      }
    });
  }

  #transmit(out: Outgoing): void {
    this.#inFlight.set(out.ref, out);
    out.timer = this.#timers.setTimeout(() => {
      if (this.#inFlight.get(out.ref) !== out) return;
      this.#inFlight.delete(out.ref);
      out.reject(new CableClientError("timeout", `no reply to \`${out.action}\` within ${out.timeoutMs} ms`));
    }, out.timeoutMs);
    this.#sendFrame({ command: "message", identifier: out.entry.key, data: out.data });
  }

  /** Sends what waited for this subscription, in order. */
  #flush(entry: SharedSubscription): void {
    if (this.#ws === null || !this.#welcomed) return;
    const mine = this.#queue.filter((o) => o.entry === entry);
    if (mine.length === 0) return;
    this.#queue = this.#queue.filter((o) => o.entry !== entry);
    for (const out of mine) this.#transmit(out);
  }

  #failQueued(error: () => unknown, which: (o: Outgoing) => boolean): void {
    const failed = this.#queue.filter(which);
    if (failed.length === 0) return;
    this.#queue = this.#queue.filter((o) => !which(o));
    for (const o of failed) o.reject(error());
  }

  #failInFlight(error: () => unknown, which: (o: Outgoing) => boolean): void {
    for (const [ref, o] of [...this.#inFlight]) {
      if (!which(o)) continue;
      this.#inFlight.delete(ref);
      if (o.timer !== null) this.#timers.clearTimeout(o.timer);
      o.reject(error());
    }
  }

  /** @internal A handle let go of its entry. */
  _release(entry: SharedSubscription, handle: SubscriptionHandle): void {
    entry.handles.delete(handle);
    if (entry.handles.size > 0 || this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    const gone = (): CableClientError => new CableClientError("unsubscribed", "the subscription was released");
    this.#failQueued(gone, (o) => o.entry === entry);
    this.#failInFlight(gone, (o) => o.entry === entry);
    if (this.#welcomed && entry.state !== "rejected") this.#sendFrame({ command: "unsubscribe", identifier: entry.key });
  }

  /** @internal */
  _report(error: unknown): void {
    this.#report(error);
  }
}

/** @internal One subscriber's view of a (possibly shared) server subscription. */
export class SubscriptionHandle {
  readonly #cable: Cable;
  readonly #entry: SharedSubscription;
  readonly #def: ChannelDef<ChannelSpec>;
  readonly #events: ReadonlySet<string>;
  #handlers: ChannelHandlers<ChannelSpec>;
  #closed = false;
  #settled = false;
  #lastState: SubscriptionState;
  readonly #stateListeners = new Set<(state: SubscriptionState) => void>();
  #resolveReady: () => void = noop;
  #rejectReady: (error: unknown) => void = noop;
  readonly ready: Promise<void>;

  constructor(cable: Cable, entry: SharedSubscription, def: ChannelDef<ChannelSpec>, handlers: ChannelHandlers<ChannelSpec>) {
    this.#cable = cable;
    this.#entry = entry;
    this.#def = def;
    this.#events = new Set(def.events);
    this.#handlers = handlers;
    this.#lastState = entry.state;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody has to wait on `ready`: an unobserved rejection is not an error.
    this.ready.catch(noop);
  }

  get channel(): string {
    return this.#entry.def.name;
  }

  get params(): object {
    return this.#entry.params;
  }

  get identifier(): string {
    return this.#entry.key;
  }

  get state(): SubscriptionState {
    return this.#closed ? "closed" : this.#entry.state;
  }

  perform(action: string, request: unknown, options?: PerformOptions): Promise<unknown> {
    return this.#cable._perform(this.#entry, this.#closed, action, request, options);
  }

  tryPerform(action: string, request: unknown, options?: PerformOptions): Promise<PerformResult<unknown, string>> {
    return this.perform(action, request, options).then(
      (data) => ({ ok: true as const, data }),
      (error: unknown) => {
        if (error instanceof ActionError || error instanceof CableClientError) return { ok: false as const, error };
        throw error;
      },
    );
  }

  onStateChange(listener: (state: SubscriptionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => {
      this.#stateListeners.delete(listener);
    };
  }

  unsubscribe(): void {
    if (this.#closed) return;
    this._close();
    this.#cable._release(this.#entry, this);
  }

  /** @internal Ends this handle (unsubscribe or client disconnect). */
  _close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#settled) {
      this.#settled = true;
      this.#rejectReady(new CableClientError("unsubscribed", "the subscription ended before it was confirmed"));
    }
    this._notifyState();
    this.#stateListeners.clear();
  }

  /** @internal */
  _notifyState(): void {
    const state = this.state;
    if (state === this.#lastState) return;
    this.#lastState = state;
    for (const l of [...this.#stateListeners]) this.#call(() => l(state));
  }

  /** @internal */
  _confirmed(info: ConnectedInfo): void {
    if (this.#closed) return;
    this._notifyState();
    if (!this.#settled) {
      this.#settled = true;
      this.#resolveReady();
    }
    const h = this.#handlers.onConnected;
    if (h !== undefined) this.#call(() => h(info));
  }

  /** @internal */
  _rejected(reason: string | null): void {
    if (this.#closed) return;
    if (!this.#settled) {
      this.#settled = true;
      this.#rejectReady(new CableClientError("rejected", `the server rejected the subscription${reason === null ? "" : ` (${reason})`}`));
    }
    const h = this.#handlers.onRejected;
    if (h !== undefined) this.#call(() => h({ reason }));
  }

  /** @internal */
  _disconnected(): void {
    const h = this.#handlers.onDisconnected;
    if (!this.#closed && h !== undefined) this.#call(() => h());
  }

  /** @internal */
  _resync(info: { reason: "history_rejected" | "no_history" }): void {
    const h = this.#handlers.onResync;
    if (!this.#closed && h !== undefined) this.#call(() => h(info));
  }

  /**
   * @internal Routes a message: an event this handle's channel definition knows goes to its
   * handler and `onMessage`, anything else to `onUnknown`.
   */
  _deliver(message: unknown): void {
    if (this.#closed) return;
    const def = this.#def;
    const handlers = this.#handlers as unknown as { readonly [key: string]: unknown };
    const envelope = isObject(message) ? message : null;
    const event = envelope === null ? undefined : envelope[def.eventKey];
    if (envelope !== null && typeof event === "string" && this.#events.has(event)) {
      const own = handlers[event];
      if (typeof own === "function") this.#call(() => (own as (p: unknown, e: unknown) => void)(envelope[def.payloadKey], envelope));
      const all = this.#handlers.onMessage;
      if (all !== undefined) this.#call(() => (all as (e: unknown) => void)(message));
      return;
    }
    const unknown = this.#handlers.onUnknown;
    if (unknown !== undefined) this.#call(() => unknown(message, { event: typeof event === "string" ? event : null }));
  }

  #call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#cable._report(e);
    }
  }
}
