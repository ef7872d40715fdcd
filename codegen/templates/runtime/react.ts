// React bindings: a provider for the one client, the connection status, a hook that
// subscribes while a component is mounted, and `useWebSocket`, the ActionCable-style API of
// the Rails frontend this client replaces. Imported only by the `./react` entry point, so
// the main entry point works without React.

import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { ReactElement, ReactNode } from "react";

import type { Cable, ConnectionStatus } from "./cable.js";
import { CableClientError } from "./errors.js";
import { canonicalIdentifier } from "./identifier.js";
import type {
  ActionNameOf,
  AnyEnvelopeOf,
  ChannelDef,
  ChannelHandlers,
  ChannelSpec,
  ChannelSubscription,
  ErrorCodeOf,
  PerformOptions,
  PerformResult,
  ReplyOf,
  RequestOf,
  SubscriptionState,
} from "./types.js";

const CableContext = createContext<Cable | null>(null);

/** Props of `CableProvider`. */
export interface CableProviderProps<C extends Cable = Cable> {
  /** The client every hook below uses (create it once, e.g. at login). */
  readonly client: C;
  readonly children?: ReactNode;
}

/** Makes `client` available to the hooks of its subtree. */
export function CableProvider<C extends Cable>(props: CableProviderProps<C>): ReactElement {
  return createElement(CableContext.Provider, { value: props.client }, props.children);
}

/** The client of the nearest `CableProvider`; throws outside one. */
export function useCableClient<C extends Cable = Cable>(): C {
  const client = useContext(CableContext);
  if (client === null) throw new Error("useCable…: no <CableProvider client={…}> above this component");
  return client as C;
}

/** The connection status; the component re-renders when it changes. */
export function useCable(): ConnectionStatus {
  const client = useCableClient();
  const subscribe = useCallback((onChange: () => void) => client.onStateChange(onChange), [client]);
  const snapshot = (): ConnectionStatus => client.status;
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** What a channel hook returns. */
export interface ChannelHookResult<S extends ChannelSpec> {
  /** `idle` without params; otherwise the subscription's state. */
  readonly state: SubscriptionState | "idle";
  /** The current subscription, once mounted with params. */
  readonly subscription: ChannelSubscription<S> | null;
  /** `perform` on the current subscription; rejects with `unsubscribed` when there is none. */
  perform<A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<ReplyOf<S, A>>;
  /** `tryPerform` on the current subscription. */
  tryPerform<A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<PerformResult<ReplyOf<S, A>, ErrorCodeOf<S, A>>>;
}

/**
 * Subscribes to `def` with `params` while the component is mounted (no subscription while
 * `params` is null or undefined). A change of params (by value, not identity) moves the
 * subscription; the latest `handlers` are always the ones called.
 */
export function useChannel<S extends ChannelSpec>(def: ChannelDef<S>, params: S["params"] | null | undefined, handlers: ChannelHandlers<S>): ChannelHookResult<S> {
  const client = useCableClient();
  const key = params === null || params === undefined ? null : canonicalIdentifier(def.name, params);
  const latest = useRef({ handlers, params });
  latest.current = { handlers, params };
  const [current, setCurrent] = useState<{ sub: ChannelSubscription<S>; state: SubscriptionState } | null>(null);

  useEffect(() => {
    const p = latest.current.params;
    if (key === null || p === null || p === undefined) {
      setCurrent(null);
      return undefined;
    }
    // Handlers are looked up at delivery time, so the latest render's handlers are used.
    const delegate = new Proxy({} as ChannelHandlers<S>, {
      get: (_target, prop) => (latest.current.handlers as { readonly [k: string | symbol]: unknown })[prop],
    });
    const sub = client.subscribe(def, p, delegate);
    setCurrent({ sub, state: sub.state });
    const stop = sub.onStateChange((state) => setCurrent((c) => (c !== null && c.sub === sub ? { sub, state } : c)));
    return () => {
      stop();
      sub.unsubscribe();
    };
    // `def` is a module constant; `key` stands for the params.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key]);

  const sub = current?.sub ?? null;
  const perform = useCallback(
    <A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<ReplyOf<S, A>> =>
      sub === null ? Promise.reject(new CableClientError("unsubscribed", "the component has no subscription")) : sub.perform(action, request, options),
    [sub],
  );
  const tryPerform = useCallback(
    <A extends ActionNameOf<S>>(action: A, request: RequestOf<S, A>, options?: PerformOptions): Promise<PerformResult<ReplyOf<S, A>, ErrorCodeOf<S, A>>> =>
      sub === null
        ? Promise.resolve({ ok: false as const, error: new CableClientError("unsubscribed", "the component has no subscription") })
        : sub.tryPerform(action, request, options),
    [sub],
  );
  return { state: current === null ? "idle" : current.state, subscription: sub, perform, tryPerform };
}

/** What `useWebSocket().subscribe` takes: channel `N` by wire name, its params and callbacks. */
export interface WebSocketSubscribeOptions<N extends string, S extends ChannelSpec> {
  readonly channel: N;
  readonly params: S["params"];
  /** Every known event of the channel: `switch (message.event)` is exhaustive. */
  readonly onMessage?: (message: AnyEnvelopeOf<S>) => void;
  /** The subscription failed: `rejected` (with the server's reason), or `closed` when the client gave up. */
  readonly onError?: (error: CableClientError) => void;
}

/** What `useWebSocket().sendMessage` takes: action `A` of channel `N`, performed on the subscription with `params`. */
export interface WebSocketMessage<N extends string, S extends ChannelSpec, A extends ActionNameOf<S>> {
  readonly channel: N;
  readonly params: S["params"];
  readonly action: A;
  readonly data: RequestOf<S, A>;
  readonly timeoutMs?: number;
}

/** What `useWebSocket()` returns; `subscribe` and `sendMessage` keep their identity while the client does. */
export interface WebSocketApi<M extends { readonly [N in keyof M]: ChannelSpec }> {
  /** The connection is up (status `connected`). */
  readonly isConnected: boolean;
  /** The whole connection status. */
  readonly status: ConnectionStatus;
  /** Subscribes (shared with every other subscriber of the same channel and params); returns the unsubscribe. */
  subscribe<N extends keyof M & string>(options: WebSocketSubscribeOptions<N, M[N]>): () => void;
  /** Performs an action and resolves with its typed reply; subscribes for the time of the request when nothing else has. */
  sendMessage<N extends keyof M & string, A extends ActionNameOf<M[N]>>(message: WebSocketMessage<N, M[N], A>): Promise<ReplyOf<M[N], A>>;
}

/**
 * `useWebSocket()` over the channels of `defs` (by wire name); the generated `./react` entry
 * passes every channel of the schema.
 */
export function useWebSocketOf<M extends { readonly [N in keyof M]: ChannelSpec }>(defs: { readonly [N in keyof M]: ChannelDef<M[N]> }): WebSocketApi<M> {
  const client = useCableClient();
  const status = useCable();
  const defOf = (channel: string): ChannelDef<ChannelSpec> => {
    const def = (defs as { readonly [name: string]: ChannelDef<ChannelSpec> | undefined })[channel];
    if (def === undefined) throw new TypeError(`useWebSocket: no channel ${JSON.stringify(channel)} in this client (a wire name such as ${JSON.stringify(Object.keys(defs)[0] ?? "")})`);
    return def;
  };
  const subscribe = useCallback(
    (options: { readonly channel: string; readonly params: object; readonly onMessage?: (message: unknown) => void; readonly onError?: (error: CableClientError) => void }): (() => void) => {
      let released = false;
      const report = (error: CableClientError): void => {
        if (!released) options.onError?.(error);
      };
      const sub = client.subscribe(defOf(options.channel), options.params, {
        onMessage: (message) => {
          if (!released) options.onMessage?.(message);
        },
        onRejected: ({ reason }) => report(new CableClientError("rejected", `the server rejected the subscription${reason === null ? "" : ` (${reason})`}`)),
      });
      // `rejected` came through onRejected; this reports the client closing before a confirmation.
      sub.ready.catch((error: unknown) => {
        if (error instanceof CableClientError && error.code !== "rejected" && error.code !== "unsubscribed") report(error);
      });
      return () => {
        released = true;
        sub.unsubscribe();
      };
    },
    // `defs` is a module constant.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client],
  );
  const sendMessage = useCallback(
    async (message: { readonly channel: string; readonly params: object; readonly action: string; readonly data: unknown; readonly timeoutMs?: number }): Promise<unknown> => {
      // The types of `WebSocketApi` tie the action and its data to the channel; here they are loose.
      const sub = client.subscribe(defOf(message.channel), message.params, {}) as unknown as Pick<ChannelSubscription<ChannelSpec>, "unsubscribe"> & {
        perform(action: string, request: unknown, options: PerformOptions): Promise<unknown>;
      };
      try {
        const options: PerformOptions = message.timeoutMs === undefined ? {} : { timeoutMs: message.timeoutMs };
        return await sub.perform(message.action, message.data, options);
      } finally {
        sub.unsubscribe();
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client],
  );
  // The implementations are the loose form of the typed signatures.
  return { isConnected: status.state === "connected", status, subscribe, sendMessage } as unknown as WebSocketApi<M>;
}
