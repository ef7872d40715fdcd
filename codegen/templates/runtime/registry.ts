// The subscription registry: one server subscription per identifier (channel and params),
// shared by every subscriber that asked for it. Each keeps its state, the stream positions
// it has seen (to ask for history and to drop duplicates) and the subscribers it tells
// about every change. Sends nothing: the client decides what goes on the wire.

import type { Position, StreamPosition } from "./protocol.js";
import type { ChannelDef, ChannelSpec, ConnectedInfo, ResyncInfo } from "./types.js";

/** @internal What a shared subscription tells each of its subscribers. */
export interface Subscriber {
  /** The shared state may have changed. */
  _notifyState(): void;
  _confirmed(info: ConnectedInfo): void;
  _rejected(reason: string | null): void;
  _disconnected(): void;
  _resync(info: ResyncInfo): void;
  _deliver(message: unknown): void;
  /** The client was disconnected: this subscriber is over. */
  _close(): void;
}

/** @internal One server subscription, shared by every subscriber with the same identifier. */
export class SharedSubscription {
  readonly key: string;
  readonly def: ChannelDef<ChannelSpec>;
  readonly params: object;
  readonly handles = new Set<Subscriber>();
  state: "pending" | "subscribed" | "rejected" = "pending";
  /** Confirmed at least once: a later subscribe is a resubscribe and asks for history. */
  everConfirmed = false;
  /** The last position seen of each stream. */
  readonly positions = new Map<string, Position>();
  /** Rejected because the connection stopped, not by the server. */
  #stoppedByConnection = false;

  constructor(key: string, def: ChannelDef<ChannelSpec>, params: object) {
    this.key = key;
    this.def = def;
    this.params = params;
  }

  // Handlers run inside these loops and may subscribe or unsubscribe, so most of them go
  // over a copy of the subscribers.

  confirm(info: ConnectedInfo): void {
    this.state = "subscribed";
    this.everConfirmed = true;
    for (const h of [...this.handles]) {
      h._notifyState();
      h._confirmed(info);
    }
  }

  reject(reason: string | null): void {
    this.state = "rejected";
    for (const h of [...this.handles]) {
      h._notifyState();
      h._rejected(reason);
    }
  }

  /**
   * The connection stopped for good (`unauthorized`, `origin_refused`, `gave_up`): the
   * subscribers hear it as a rejection with that reason; the next connection tries again.
   */
  stop(reason: string): void {
    this.#stoppedByConnection = true;
    this.reject(reason);
  }

  /** Whether a new connection should try again: the rejection was the connection's, not the server's. */
  retryOnConnect(): boolean {
    if (!this.#stoppedByConnection) return false;
    this.#stoppedByConnection = false;
    this.retry();
    return true;
  }

  /** A new subscriber after a rejection: try again. */
  retry(): void {
    this.state = "pending";
    this.#stoppedByConnection = false;
    for (const h of this.handles) h._notifyState();
  }

  /** The connection was lost: a confirmed subscription waits for the next one. */
  pause(wasWelcomed: boolean): void {
    if (this.state !== "subscribed") return;
    this.state = "pending";
    for (const h of this.handles) {
      h._notifyState();
      if (wasWelcomed) h._disconnected();
    }
  }

  /** The server cannot replay what was missed: forget the positions, tell every subscriber. */
  historyRejected(): void {
    this.positions.clear();
    this.resync({ reason: "history_rejected" });
  }

  resync(info: ResyncInfo): void {
    for (const h of [...this.handles]) h._resync(info);
  }

  /** Records a data frame's position; false when that message was delivered already. */
  advance(position: StreamPosition): boolean {
    const seen = this.positions.get(position.stream);
    if (seen !== undefined && seen.epoch === position.epoch && position.offset <= seen.offset) return false;
    this.positions.set(position.stream, { epoch: position.epoch, offset: position.offset });
    return true;
  }

  deliver(message: unknown): void {
    for (const h of [...this.handles]) h._deliver(message);
  }

  close(): void {
    for (const h of [...this.handles]) h._close();
  }
}

/** @internal Shared subscriptions by identifier. */
export class SubscriptionRegistry {
  readonly #byKey = new Map<string, SharedSubscription>();

  get(key: string): SharedSubscription | undefined {
    return this.#byKey.get(key);
  }

  /** `entry` is still the registered subscription of its identifier (not released, not cleared). */
  holds(entry: SharedSubscription): boolean {
    return this.#byKey.get(entry.key) === entry;
  }

  /** The subscription of `key`, registered now (`fresh`) when there was none. */
  obtain(key: string, def: ChannelDef<ChannelSpec>, params: object): { readonly entry: SharedSubscription; readonly fresh: boolean } {
    const entry = this.#byKey.get(key);
    if (entry !== undefined) return { entry, fresh: false };
    const created = new SharedSubscription(key, def, params);
    this.#byKey.set(key, created);
    return { entry: created, fresh: true };
  }

  /** `handle` lets go of `entry`; true when it was the last one and `entry` is released now. */
  leave(entry: SharedSubscription, handle: Subscriber): boolean {
    entry.handles.delete(handle);
    if (entry.handles.size > 0 || !this.holds(entry)) return false;
    this.#byKey.delete(entry.key);
    return true;
  }

  /** Forgets every subscription and returns them. */
  clear(): SharedSubscription[] {
    const all = this.snapshot();
    this.#byKey.clear();
    return all;
  }

  /** The subscriptions now, to go over while handlers may change the registry. */
  snapshot(): SharedSubscription[] {
    return [...this.#byKey.values()];
  }

  /** The live subscriptions: one added or released while going over them is seen or skipped. */
  [Symbol.iterator](): IterableIterator<SharedSubscription> {
    return this.#byKey.values();
  }
}
