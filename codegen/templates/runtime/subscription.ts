// One subscriber's view of a (possibly shared) server subscription: what `subscribe`
// returns. Holds this subscriber's handlers and `ready` promise, routes each message to the
// handler of its event, and asks the client that made it to perform and to release.

import { ActionError, CableClientError } from "./errors.js";
import { isJsonObject } from "./protocol.js";
import type { SharedSubscription, Subscriber } from "./registry.js";
import type { ChannelDef, ChannelHandlers, ChannelSpec, ConnectedInfo, PerformOptions, PerformResult, ResyncInfo, SubscriptionState } from "./types.js";

/** @internal What a subscription asks of the client that made it. */
export interface SubscriptionOwner {
  _perform(entry: SharedSubscription, closed: boolean, action: string, request: unknown, options: PerformOptions | undefined): Promise<unknown>;
  _release(entry: SharedSubscription, handle: SubscriptionHandle): void;
  /** A handler threw. */
  _report(error: unknown): void;
}

const noop = (): void => {};

/** @internal One subscriber's view of a (possibly shared) server subscription. */
export class SubscriptionHandle implements Subscriber {
  readonly #owner: SubscriptionOwner;
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

  constructor(owner: SubscriptionOwner, entry: SharedSubscription, def: ChannelDef<ChannelSpec>, handlers: ChannelHandlers<ChannelSpec>) {
    this.#owner = owner;
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
    return this.#owner._perform(this.#entry, this.#closed, action, request, options);
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
    this.#owner._release(this.#entry, this);
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
  _resync(info: ResyncInfo): void {
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
    const envelope = isJsonObject(message) ? message : null;
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

  // A handler that throws must not stop the others, nor the frame being handled.
  #call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#owner._report(e);
    }
  }
}
