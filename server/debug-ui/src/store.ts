// The page's state and who redraws when a part of it changes.
import type { Api, ChannelDoc, Info, Principal, SchemaDoc } from "./api";
import type { Cable } from "./cable";
import type { Figures } from "./prom";

export interface Subscription {
  identifier: string;
  channel: string;
  params: Record<string, unknown>;
  state: "pending" | "confirmed" | "rejected";
  reason?: string;
}

export type Topic = "selected" | "subscriptions" | "figures" | "status" | "principal";

export interface Store {
  api: Api;
  info: Info;
  schema: SchemaDoc;
  cable: Cable;
  principal: Principal;
  selected: ChannelDoc;
  subscriptions: Map<string, Subscription>;
  /** The last samples of the live figures, oldest first. */
  history: Figures[];
  /** The subscribe form's current params, per channel. */
  params: Map<string, Record<string, unknown>>;
  emit(topic: Topic): void;
  /** Calls `redraw` on every `emit(topic)` until the returned function is called. */
  on(topic: Topic, redraw: () => void): () => void;
}

export function makeBus(): Pick<Store, "emit" | "on"> {
  const listeners = new Map<Topic, (() => void)[]>();
  return {
    emit(topic) {
      for (const redraw of listeners.get(topic) ?? []) redraw();
    },
    on(topic, redraw) {
      listeners.set(topic, [...(listeners.get(topic) ?? []), redraw]);
      return () => listeners.set(topic, (listeners.get(topic) ?? []).filter((f) => f !== redraw));
    },
  };
}

/** `NotificationChannel` → `Notification`, as the list shows it. */
export function shortName(channel: string): string {
  return channel.endsWith("Channel") && channel !== "Channel" ? channel.slice(0, -"Channel".length) : channel;
}

/** The identifier the server echoes: `{"channel": C, ...params}`, keys in this order. */
export function identifierOf(channel: string, params: Record<string, unknown>): string {
  return JSON.stringify({ channel, ...params });
}
