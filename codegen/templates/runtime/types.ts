// The shapes the runtime shares with every generated channel module.

import type { ActionError, CableClientError } from "./errors.js";

/** Everything the type system knows of a channel; each channel module exports its `Spec`. */
export interface ChannelSpec {
  /** Wire name, e.g. `AiOrchestrationChannel`. */
  readonly name: string;
  /** Subscription params. */
  readonly params: object;
  /** Payload type of each event, by event name. */
  readonly events: object;
  /** The envelope of each event, by event name. */
  readonly envelopes: object;
  /** `{ request; reply; error }` of each action, by action name. */
  readonly actions: object;
}

/** What the runtime needs of a channel at run time; each channel module exports its `CHANNEL`. */
export interface ChannelDef<S extends ChannelSpec> {
  /** Wire name. */
  readonly name: S["name"];
  /** The event names this version of the client knows; any other event reaches `onUnknown`. */
  readonly events: ReadonlyArray<string>;
  /** Envelope key holding the event name. */
  readonly eventKey: string;
  /** Envelope key holding the payload. */
  readonly payloadKey: string;
  /** Carries `S` for inference; never set. */
  readonly spec?: S;
}

/** An event name of channel `S`. */
export type EventNameOf<S extends ChannelSpec> = keyof S["events"] & string;
/** The envelope of event `E` of channel `S`. */
export type EnvelopeOf<S extends ChannelSpec, E extends EventNameOf<S>> = E extends keyof S["envelopes"] ? S["envelopes"][E] : never;
/** Any envelope of channel `S`: a union discriminated on the event name. */
export type AnyEnvelopeOf<S extends ChannelSpec> = S["envelopes"][keyof S["envelopes"]];
/** An action name of channel `S`. */
export type ActionNameOf<S extends ChannelSpec> = keyof S["actions"] & string;
type ActionOf<S extends ChannelSpec, A extends ActionNameOf<S>> = S["actions"][A];
/** The request of action `A`. */
export type RequestOf<S extends ChannelSpec, A extends ActionNameOf<S>> = ActionOf<S, A> extends { readonly request: infer R } ? R : never;
/** The reply of action `A`. */
export type ReplyOf<S extends ChannelSpec, A extends ActionNameOf<S>> = ActionOf<S, A> extends { readonly reply: infer R } ? R : never;
/** The error codes action `A` declares (the built-in ones come on top). */
export type ErrorCodeOf<S extends ChannelSpec, A extends ActionNameOf<S>> = ActionOf<S, A> extends { readonly error: infer E extends string } ? E : never;

/** One handler per event, each with its typed payload and envelope. */
export type EventHandlers<S extends ChannelSpec> = {
  readonly [E in EventNameOf<S>]?: (payload: S["events"][E], envelope: EnvelopeOf<S, E>) => void;
};

/** Passed to `onConnected`. */
export interface ConnectedInfo {
  /** False on the first confirmation; true after a reconnection. */
  readonly reconnected: boolean;
  /** The server resumed the session and kept the subscription (no resubscribe). */
  readonly restored: boolean;
}

/** Passed to `onResync`. */
export interface ResyncInfo {
  /**
   * - `history_rejected`: the server could not replay what was missed (restart, evicted history);
   * - `no_history`: the server speaks plain ActionCable, so nothing missed could be replayed.
   */
  readonly reason: "history_rejected" | "no_history";
}

/** Passed to `onRejected`. */
export interface RejectedInfo {
  /** The server's reason (`forbidden`, `invalid_params`, …), when it gives one. */
  readonly reason: string | null;
}

/** Passed to `onUnknown` with the message. */
export interface UnknownMessageInfo {
  /** The event name, when the message is an envelope of an event this client does not know. */
  readonly event: string | null;
}

/** Callbacks about the subscription itself rather than one event. */
export interface LifecycleHandlers<S extends ChannelSpec> {
  /** Every known event, after its own handler: `switch (envelope.event)` is exhaustive. */
  readonly onMessage?: (envelope: AnyEnvelopeOf<S>) => void;
  /** Messages this client does not know: events added to the schema later, or anything else. */
  readonly onUnknown?: (message: unknown, info: UnknownMessageInfo) => void;
  /** The server confirmed the subscription (first time, or again after a reconnection). */
  readonly onConnected?: (info: ConnectedInfo) => void;
  /** The connection was lost; the subscription is resumed when it comes back. */
  readonly onDisconnected?: () => void;
  /** Events may have been missed and could not be replayed: reload the state this subscription shows. */
  readonly onResync?: (info: ResyncInfo) => void;
  /** The server refused the subscription. */
  readonly onRejected?: (info: RejectedInfo) => void;
}

/** Everything `subscribe` accepts: event handlers by event name, and lifecycle callbacks. */
export type ChannelHandlers<S extends ChannelSpec> = EventHandlers<S> & LifecycleHandlers<S>;

/**
 * - `pending`: waiting for the connection or the server's confirmation;
 * - `subscribed`: confirmed; events flow;
 * - `rejected`: the server refused it;
 * - `closed`: unsubscribed, or the client was disconnected.
 */
export type SubscriptionState = "pending" | "subscribed" | "rejected" | "closed";

/** Options of one `perform`. */
export interface PerformOptions {
  /** How long to wait for the reply once the request is sent, in ms (default: the client's `replyTimeoutMs`). */
  readonly timeoutMs?: number;
}

/** The outcome of `tryPerform`, with the error typed. */
export type PerformResult<Reply, Code extends string> =
  | { readonly ok: true; readonly data: Reply }
  | { readonly ok: false; readonly error: ActionError<Code> | CableClientError };

/** One subscription to channel `S`. Several may share one server subscription. */
export interface ChannelSubscription<S extends ChannelSpec> {
  /** Wire name of the channel. */
  readonly channel: S["name"];
  /** The params it was made with. */
  readonly params: S["params"];
  /** The identifier on the wire (sorted keys). */
  readonly identifier: string;
  /** Where it stands. */
  readonly state: SubscriptionState;
  /** Resolves when the server first confirms; rejects if it is rejected or closed before. */
  readonly ready: Promise<void>;
  /**
   * Performs an action and resolves with its typed reply. Rejects with an {@link ActionError}
   * whose `code` is one of `ErrorCodeOf<S, A>` or a built-in code, or with a {@link CableClientError}.
   * While offline the request waits in the offline queue and is sent on reconnection.
   */
  perform<A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<ReplyOf<S, A>>;
  /** Like `perform`, but resolves with the outcome instead of rejecting. */
  tryPerform<A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<PerformResult<ReplyOf<S, A>, ErrorCodeOf<S, A>>>;
  /** Calls `listener` on every state change; returns a function that stops it. */
  onStateChange(listener: (state: SubscriptionState) => void): () => void;
  /** Releases this subscription; the last one sharing the server subscription sends `unsubscribe`. Idempotent. */
  unsubscribe(): void;
}

/** A channel's entry point on the client: `client.aiOrchestration`. */
export interface ChannelApi<S extends ChannelSpec> {
  /** Wire name. */
  readonly name: S["name"];
  /** Subscribes with `params`; `handlers` receive typed events. */
  subscribe(params: S["params"], handlers?: ChannelHandlers<S>): ChannelSubscription<S>;
}
