// React bindings: a provider for the one client, the connection status, and a hook that
// subscribes while a component is mounted. Imported only by the `./react` entry point, so
// the main entry point works without React.

import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { ReactElement, ReactNode } from "react";

import type { Cable, ConnectionStatus } from "./cable.js";
import { CableClientError } from "./errors.js";
import { canonicalIdentifier } from "./identifier.js";
import type {
  ActionNameOf,
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
