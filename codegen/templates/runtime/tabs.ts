// One connection per browser, shared by its tabs. The tabs of one scope (same server URLs,
// same principal) elect a leader (`election.ts`); the leader runs the hub, which holds the
// only WebSocket, and every tab (the leader's own included) talks to the hub over a
// BroadcastChannel through a `TabSocket`: a WebSocket look-alike its client's `Connection`
// opens instead of a real one. So each tab keeps its own registry, positions, duplicate
// check and perform queue, and the wire protocol between a tab and the hub is the server's.
//
// The hub multiplexes: a server subscription is shared by the tabs that hold it (reference
// counted; the last one to leave sends `unsubscribe`), frames of the server go to every
// attached tab (each keeps those of its own subscriptions), and `$ref`s are unique per tab
// so a reply settles only the perform that sent it. When the real connection is lost the hub
// drops the tabs' sockets; they reconnect to it at once and resubscribe with their history
// (`history.streams`: what they have seen), so when the hub is back, or a new leader's hub
// took over, each tab gets what it missed once. A hub whose connection stopped for good
// (`unauthorized`, `origin_refused`, `gave_up`) tells each tab with the server's
// `disconnect` frame, `reconnect: false`.

import { Connection, type ConnectionOptions, type ConnectionStatus, type WebSocketLike } from "./connection.js";
import { BusElection, LockElection, type Election, type TabBus, type TabBusConstructor, type TabLocks } from "./election.js";
import { PROTOCOL_EXT, historyCommand, isJsonObject, type Command, type HistoryRequest } from "./protocol.js";
import type { TimerHandle, Timers } from "./timers.js";

/** How long the hub keeps the connection after its last socket closed, for one that reopens, in ms. */
const IDLE_GRACE_MS = 1000;

/** What travels on a scope's BroadcastChannel between the tabs' sockets and the hub. */
type HubMessage =
  /** A tab's socket asks the hub to attach it. */
  | { readonly cable: "open"; readonly peer: string }
  /** A command of a tab, as its JSON text. */
  | { readonly cable: "send"; readonly peer: string; readonly data: string }
  /** A tab's socket closed. */
  | { readonly cable: "close"; readonly peer: string }
  /** The hub attached a socket; `protocol` is the real connection's. */
  | { readonly cable: "accept"; readonly peer: string; readonly hub: string; readonly protocol: string }
  /** A frame for one socket, or (`peer: null`) for every socket attached to `hub`. */
  | { readonly cable: "frame"; readonly peer: string | null; readonly hub: string; readonly data: string }
  /** The hub closed a socket. */
  | { readonly cable: "drop"; readonly peer: string }
  /** The real connection's status. */
  | { readonly cable: "status"; readonly hub: string; readonly status: ConnectionStatus }
  /** A hub started (a new leader): sockets attached elsewhere or waiting (re)open on it. */
  | { readonly cable: "hub"; readonly hub: string }
  /** A hub stopped (its leader steps down): its sockets are closed. */
  | { readonly cable: "bye"; readonly hub: string };

function hubMessage(data: unknown): HubMessage | null {
  return isJsonObject(data) && typeof data["cable"] === "string" ? (data as unknown as HubMessage) : null;
}

/** A random id for a tab, a socket or a hub. */
export function randomId(): string {
  const c = (globalThis as unknown as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** The BroadcastChannel name of a scope: the server URLs and the principal, so two users or two servers never mix. */
export function scopeName(url: string | ReadonlyArray<string>, principal: string): string {
  const urls = typeof url === "string" ? [url] : [...url];
  return `cableway:${urls.join(" ")}:${principal}`;
}

/**
 * The principal a fixed token names (its `sub`, read without verifying: it only keeps tabs
 * of different users apart), or `""` when it is not a JWT.
 */
export function tokenPrincipal(token: unknown): string {
  if (typeof token !== "string") return "";
  const payload = token.split(".")[1];
  if (payload === undefined) return "";
  try {
    const b64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const atobFn = (globalThis as unknown as { atob?: (s: string) => string }).atob;
    if (atobFn === undefined) return "";
    const claims: unknown = JSON.parse(atobFn(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
    return isJsonObject(claims) && typeof claims["sub"] === "string" ? claims["sub"] : "";
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------------------
// A tab's side: the socket its Connection opens
// ---------------------------------------------------------------------------------------

/** @internal A WebSocket class whose sockets talk to the scope's hub over `bus`. */
export function tabSocketClass(bus: TabBus): new (url: string, protocols?: string | string[]) => WebSocketLike {
  const live = new Set<TabSocket>();
  bus.addEventListener("message", (event) => {
    const m = hubMessage(event.data);
    if (m === null) return;
    for (const socket of [...live]) socket._heard(m);
  });

  type Listener = (event: { readonly data?: unknown; readonly code?: number }) => void;
  class TabSocket implements WebSocketLike {
    readonly #peer = randomId();
    readonly #listeners = new Map<string, Listener[]>();
    #hub: string | null = null;
    #protocol = "";

    constructor() {
      live.add(this);
      this.#post({ cable: "open", peer: this.#peer });
    }

    get protocol(): string {
      return this.#protocol;
    }

    addEventListener(type: string, listener: Listener): void {
      const list = this.#listeners.get(type) ?? [];
      list.push(listener);
      this.#listeners.set(type, list);
    }

    send(data: string): void {
      if (this.#hub === null) throw new Error("the tab socket is not open");
      this.#post({ cable: "send", peer: this.#peer, data });
    }

    close(): void {
      if (!live.delete(this)) return;
      this.#post({ cable: "close", peer: this.#peer });
    }

    /** @internal */
    _heard(m: HubMessage): void {
      switch (m.cable) {
        case "accept":
          if (m.peer !== this.#peer || this.#hub !== null) return;
          this.#hub = m.hub;
          this.#protocol = m.protocol;
          this.#emit("open", {});
          return;
        case "frame":
          if (this.#hub !== null && m.hub === this.#hub && (m.peer === null || m.peer === this.#peer)) this.#emit("message", { data: m.data });
          return;
        case "drop":
          if (m.peer === this.#peer) this.#end();
          return;
        case "hub":
          // A new hub: one attached elsewhere is cut off; one still waiting asks the new hub.
          if (this.#hub === null) this.#post({ cable: "open", peer: this.#peer });
          else if (this.#hub !== m.hub) this.#end();
          return;
        case "bye":
          if (this.#hub === m.hub) this.#end();
          return;
        default:
          return;
      }
    }

    #end(): void {
      if (!live.delete(this)) return;
      this.#emit("close", { code: 1006 });
    }

    #post(m: HubMessage): void {
      try {
        bus.postMessage(m);
      } catch {
        // The channel is closed: the page is going away.
      }
    }

    #emit(type: string, event: { readonly data?: unknown; readonly code?: number }): void {
      for (const l of [...(this.#listeners.get(type) ?? [])]) l(event);
    }
  }
  return TabSocket;
}

// ---------------------------------------------------------------------------------------
// The leader's side: the hub and the only WebSocket
// ---------------------------------------------------------------------------------------

/** One server subscription of the hub and the sockets holding it. */
interface HubSubscription {
  confirmed: boolean;
  readonly holders: Set<string>;
  /** History requests of holders that came while the subscription was being confirmed. */
  readonly waitingHistory: HistoryRequest[];
}

/** @internal The leader's hub: the real connection, shared by every tab's socket. */
export class Hub {
  readonly id = randomId();
  readonly #bus: TabBus;
  readonly #real: Connection;
  /** Attached (`true`) and waiting (`false`) sockets. */
  readonly #peers = new Map<string, boolean>();
  readonly #subs = new Map<string, HubSubscription>();
  #stopped = false;
  readonly #timers: Timers;
  #idleTimer: TimerHandle | null = null;
  /** The real socket was lost; its sockets are dropped unless the connection stopped for good at once. */
  #dropping = false;

  constructor(options: ConnectionOptions, timers: Timers, Bus: TabBusConstructor, name: string, report: (error: unknown) => void) {
    this.#bus = new Bus(name);
    this.#timers = timers;
    // The tabs resume through their history, each from what it has seen; a resumed server
    // session would keep subscriptions whose holders the new hub does not know.
    this.#real = new Connection({ ...options, resumeSession: false }, timers, {
      received: (data) => this.#received(data),
      lost: () => this.#lost(),
      stopped: (reason) => this.#stoppedFor(reason),
      report,
    });
    this.#real.onStateChange((status) => this.#post({ cable: "status", hub: this.id, status }));
    this.#bus.addEventListener("message", (event) => this.#heard(hubMessage(event.data)));
    this.#post({ cable: "hub", hub: this.id });
  }

  /** The real connection, for the page's lifecycle events and `setToken`. */
  get connection(): Connection {
    return this.#real;
  }

  /** The leader steps down: its sockets are closed, the real connection ends. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#post({ cable: "bye", hub: this.id });
    this.#real.logout(() => {});
    this.#bus.close();
  }

  #post(m: HubMessage): void {
    if (this.#stopped && m.cable !== "bye") return;
    try {
      this.#bus.postMessage(m);
    } catch {
      // closed: the page is going away
    }
  }

  #frame(peer: string | null, data: string): void {
    this.#post({ cable: "frame", peer, hub: this.id, data });
  }

  #heard(m: HubMessage | null): void {
    if (m === null || this.#stopped) return;
    switch (m.cable) {
      case "open":
        this.#open(m.peer);
        return;
      case "send":
        if (this.#peers.get(m.peer) === true) this.#command(m.peer, m.data);
        return;
      case "close":
        this.#close(m.peer);
        return;
      default:
        return;
    }
  }

  #open(peer: string): void {
    if (this.#peers.has(peer)) return;
    if (this.#idleTimer !== null) {
      this.#timers.clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    this.#peers.set(peer, false);
    // A tab's socket starts an idle or stopped connection; one that is on its way is left to it.
    const state = this.#real.status.state;
    if (state === "idle" || state === "closed") this.#real.connect();
    this.#post({ cable: "status", hub: this.id, status: this.#real.status });
    if (this.#real.welcomed) this.#accept(peer);
  }

  #accept(peer: string): void {
    this.#peers.set(peer, true);
    this.#post({ cable: "accept", peer, hub: this.id, protocol: this.#real.subprotocol || PROTOCOL_EXT });
    this.#frame(peer, JSON.stringify({ type: "welcome" }));
  }

  #close(peer: string): void {
    if (!this.#peers.delete(peer)) return;
    for (const [identifier, sub] of [...this.#subs]) this.#leave(identifier, sub, peer);
    // Nobody left to share it with: the connection ends until a tab opens again, unless one
    // comes back at once (a tab's socket that was replaced).
    if (this.#peers.size > 0 || this.#idleTimer !== null) return;
    this.#idleTimer = this.#timers.setTimeout(() => {
      this.#idleTimer = null;
      if (this.#peers.size === 0 && !this.#stopped) this.#real.logout(() => {});
    }, IDLE_GRACE_MS);
  }

  #leave(identifier: string, sub: HubSubscription, peer: string): void {
    if (!sub.holders.delete(peer) || sub.holders.size > 0) return;
    this.#subs.delete(identifier);
    this.#real.send({ command: "unsubscribe", identifier });
  }

  /** A command of an attached socket. */
  #command(peer: string, data: string): void {
    let command: unknown;
    try {
      command = JSON.parse(data);
    } catch {
      return;
    }
    if (!isJsonObject(command) || typeof command["identifier"] !== "string") return;
    const identifier = command["identifier"];
    const history = isJsonObject(command["history"]) ? (command["history"] as unknown as HistoryRequest) : undefined;
    const sub = this.#subs.get(identifier);
    switch (command["command"]) {
      case "subscribe":
        if (sub === undefined) {
          this.#subs.set(identifier, { confirmed: false, holders: new Set([peer]), waitingHistory: [] });
          this.#real.send(command as unknown as Command);
          return;
        }
        sub.holders.add(peer);
        if (!sub.confirmed) {
          if (history !== undefined) sub.waitingHistory.push(history);
          return;
        }
        this.#frame(peer, JSON.stringify({ identifier, type: "confirm_subscription" }));
        // What this tab missed is replayed to every tab; each drops what it has seen.
        if (history !== undefined) this.#real.send(historyCommand(identifier, history));
        return;
      case "unsubscribe":
        if (sub !== undefined) this.#leave(identifier, sub, peer);
        return;
      default:
        this.#real.send(command as unknown as Command);
    }
  }

  /** A frame of the real connection. */
  #received(data: unknown): void {
    const text = String(data);
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!isJsonObject(frame)) return;
    const identifier = typeof frame["identifier"] === "string" ? frame["identifier"] : null;
    switch (frame["type"]) {
      case "welcome":
        if (this.#real.welcome(null, false) === null) return;
        this.#subs.clear();
        for (const [peer, attached] of [...this.#peers]) if (!attached) this.#accept(peer);
        return;
      case "disconnect":
        this.#real.disconnected({ reason: typeof frame["reason"] === "string" ? frame["reason"] : "disconnect", reconnect: frame["reconnect"] === true });
        return;
      case "ping":
        if (typeof frame["message"] === "number") this.#real.ping(frame["message"]);
        break;
      case "confirm_subscription": {
        const sub = identifier === null ? undefined : this.#subs.get(identifier);
        if (sub !== undefined && identifier !== null && !sub.confirmed) {
          sub.confirmed = true;
          for (const history of sub.waitingHistory.splice(0)) this.#real.send(historyCommand(identifier, history));
        }
        break;
      }
      case "reject_subscription":
        if (identifier !== null) this.#subs.delete(identifier);
        break;
      default:
        break;
    }
    this.#frame(null, text);
  }

  /**
   * The real socket is gone: every attached socket is dropped and comes back to wait for the
   * next one. The connection decides right after whether it stops for good (then the sockets
   * hear why instead), so the drop waits for that.
   */
  #lost(): void {
    this.#subs.clear();
    this.#dropping = true;
    void Promise.resolve().then(() => {
      if (!this.#dropping) return;
      this.#dropping = false;
      for (const [peer, attached] of [...this.#peers]) {
        if (!attached) continue;
        this.#peers.delete(peer);
        this.#post({ cable: "drop", peer });
      }
    });
  }

  /** The real connection stopped for good: each socket hears why, as from the server. */
  #stoppedFor(reason: string): void {
    this.#dropping = false;
    const farewell = JSON.stringify({ type: "disconnect", reason, reconnect: false });
    for (const [peer, attached] of [...this.#peers]) {
      if (!attached) this.#post({ cable: "accept", peer, hub: this.id, protocol: this.#real.subprotocol || PROTOCOL_EXT });
      this.#frame(peer, farewell);
    }
    this.#peers.clear();
  }
}

// ---------------------------------------------------------------------------------------
// A tab's part in the sharing: its bus, its place in the election, the hub when it leads
// ---------------------------------------------------------------------------------------

/** The browser APIs the sharing uses; injected in tests. */
export interface TabApis {
  readonly BroadcastChannel: TabBusConstructor;
  /** `navigator.locks`; `null` to elect over the BroadcastChannel. */
  readonly locks: TabLocks | null;
}

/** The page's BroadcastChannel and Web Locks, or `null` where there is no BroadcastChannel. */
export function browserTabApis(): TabApis | null {
  const g = globalThis as unknown as { BroadcastChannel?: TabBusConstructor; navigator?: { locks?: TabLocks } };
  if (typeof g.BroadcastChannel !== "function") return null;
  const locks = g.navigator?.locks;
  return { BroadcastChannel: g.BroadcastChannel, locks: locks !== undefined && typeof locks.request === "function" ? locks : null };
}

/** @internal One tab's share of the browser's connection. */
export class TabShare {
  readonly name: string;
  readonly socketClass: new (url: string, protocols?: string | string[]) => WebSocketLike;
  readonly #options: ConnectionOptions;
  readonly #timers: Timers;
  readonly #apis: TabApis;
  readonly #report: (error: unknown) => void;
  readonly #changed: () => void;
  readonly #bus: TabBus;
  readonly #election: Election;
  #hub: Hub | null = null;
  /** The status of the hub this tab last heard of, until it says `bye`. */
  #hubStatus: { readonly hub: string; readonly status: ConnectionStatus } | null = null;

  constructor(options: ConnectionOptions, scope: string, timers: Timers, apis: TabApis, report: (error: unknown) => void, changed: () => void) {
    this.name = scopeName(options.url, scope);
    this.#options = options;
    this.#timers = timers;
    this.#apis = apis;
    this.#report = report;
    this.#changed = changed;
    this.#bus = new apis.BroadcastChannel(this.name);
    this.#bus.addEventListener("message", (event) => this.#heard(hubMessage(event.data)));
    this.socketClass = tabSocketClass(this.#bus);
    const lead = (leading: boolean): void => this.#lead(leading);
    this.#election = apis.locks !== null ? new LockElection(apis.locks, `${this.name}:leader`, lead) : new BusElection(apis.BroadcastChannel, `${this.name}:election`, randomId(), timers, lead);
  }

  /** This tab holds the connection now. */
  get leading(): boolean {
    return this.#hub !== null;
  }

  /** The real connection, while this tab leads. */
  get real(): Connection | null {
    return this.#hub?.connection ?? null;
  }

  /** The options of the tab's own `Connection`: to the hub, quick to come back, no token of its own. */
  innerOptions(staleAfterMs: number | undefined): ConnectionOptions {
    return {
      ...this.#options,
      url: `cableway-tab:${this.name}`,
      token: undefined,
      tokenTransport: undefined,
      WebSocket: this.socketClass,
      resumeSession: false,
      // Losing the hub is not losing the server: come back at once, and never give up (the
      // hub reports the server's give-up itself).
      reconnect: { baseDelayMs: 50, maxDelayMs: 250, jitter: 0, maxAttempts: Infinity },
      // The hub relays the server's pings; a hub silent for this long is gone.
      staleAfterMs: Math.max(12000, 2 * (staleAfterMs ?? 6000)),
    };
  }

  /** What the application sees: the real connection's status while this tab uses it, else the tab's own. */
  status(inner: ConnectionStatus): ConnectionStatus {
    const hub = this.#hubStatus;
    if (inner.state === "idle" || inner.state === "closed" || hub === null) {
      return inner.url === null ? inner : { ...inner, url: typeof this.#options.url === "string" ? this.#options.url : (this.#options.url[0] ?? null) };
    }
    return hub.status;
  }

  /** The page freezes or goes into the back/forward cache: a leader hands over. */
  suspend(): void {
    this.#election.withdraw();
  }

  resume(): void {
    this.#election.rejoin();
  }

  /** The page unloads. */
  leave(): void {
    this.#election.stop();
  }

  #lead(leading: boolean): void {
    if (leading && this.#hub === null) {
      this.#hub = new Hub(this.#options, this.#timers, this.#apis.BroadcastChannel, this.name, this.#report);
    } else if (!leading && this.#hub !== null) {
      const hub = this.#hub;
      this.#hub = null;
      hub.stop();
    }
  }

  #heard(m: HubMessage | null): void {
    if (m === null) return;
    if (m.cable === "status") {
      this.#hubStatus = { hub: m.hub, status: m.status };
      this.#changed();
    } else if ((m.cable === "bye" && this.#hubStatus?.hub === m.hub) || (m.cable === "hub" && this.#hubStatus !== null && this.#hubStatus.hub !== m.hub)) {
      // The hub went, or another took over: until it says where it stands, the tab's own status.
      this.#hubStatus = null;
      this.#changed();
    }
  }
}
