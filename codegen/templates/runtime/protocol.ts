// The wire protocol: Action Cable's JSON frames and AnyCable's extension to them. Decodes
// what the server sends into one call on a `FrameHandler`, and builds the commands the
// client sends. Keeps no state: what a frame means for the connection or a subscription is
// up to the handler.

import type { ActionErrorDetail } from "./errors.js";

/** AnyCable's extended protocol: stream positions, `history`, session resume. */
export const PROTOCOL_EXT = "actioncable-v1-ext-json";
/** Plain ActionCable. */
export const PROTOCOL_V1 = "actioncable-v1-json";

/** The protocol a server speaks: AnyCable's extension or plain ActionCable. */
export type Dialect = "ext" | "v1";

/** The subprotocols to offer, preferred first, for the client's `protocol` option. */
export function offeredProtocols(choice: Dialect | undefined): string[] {
  return choice === "v1" ? [PROTOCOL_V1] : [PROTOCOL_EXT, PROTOCOL_V1];
}

/** The dialect of the subprotocol the server picked; `null` for one this client does not speak. */
export function negotiatedDialect(protocol: string | undefined): Dialect | null {
  if (protocol === PROTOCOL_EXT) return "ext";
  // A server that picks no subprotocol at all is plain ActionCable too.
  if (protocol === PROTOCOL_V1 || protocol === "" || protocol === undefined) return "v1";
  return null;
}

/** A decoded JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

/** Whether `v` is a JSON object (not an array, not `null`). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------
// From the server
// ---------------------------------------------------------------------------------------

/** Where a stream stands: its epoch, and the offset of the last message seen. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

/** The stream position a data frame carries. */
export interface StreamPosition extends Position {
  readonly stream: string;
}

/** A `welcome` frame. */
export interface Welcome {
  /** The session id to resume with (`?sid=`), if the server gave one. */
  readonly sid: string | null;
  /** The server resumed the previous session. */
  readonly restored: boolean;
  /** The subscriptions the resumed session kept; empty unless `restored`. */
  readonly restoredIds: ReadonlyArray<string>;
}

/** A `disconnect` frame: why, and whether the client may come back. */
export interface ServerDisconnect {
  readonly reason: string;
  readonly reconnect: boolean;
}

/** The server's answer to a `perform` (the `$reply` of a data message), matched by `ref`. */
export type Reply =
  | { readonly ref: string; readonly ok: true; readonly data: unknown }
  | { readonly ref: string; readonly ok: false; readonly code: string; readonly message: string; readonly details: ActionErrorDetail[] };

/**
 * What a data message carries: an event for the subscribers, or the reply to a `perform`.
 * `reply` is `null` when the `$reply` has no `ref`: it is dropped, not delivered as an event.
 */
export type MessageBody = { readonly kind: "event"; readonly message: unknown } | { readonly kind: "reply"; readonly reply: Reply | null };

/** One method per kind of frame; `dispatchFrame` calls exactly one, or none for a frame it ignores. */
export interface FrameHandler {
  welcome(welcome: Welcome): void;
  /** A ping, with the server's time in Unix seconds. */
  ping(serverTime: number): void;
  disconnect(disconnect: ServerDisconnect): void;
  confirmed(identifier: string): void;
  rejected(identifier: string, reason: string | null): void;
  /** The server cannot replay what the subscription missed. */
  historyRejected(identifier: string): void;
  /** A data message; `position` when the frame says where its stream stands (extended protocol). */
  message(identifier: string, position: StreamPosition | null, body: MessageBody): void;
}

/** Decodes one frame as received and hands it to `to`; anything that is not a JSON object is ignored. */
export function dispatchFrame(data: unknown, to: FrameHandler): void {
  let frame: unknown;
  try {
    frame = JSON.parse(String(data));
  } catch {
    return;
  }
  if (!isJsonObject(frame)) return;
  const identifier = typeof frame["identifier"] === "string" ? frame["identifier"] : null;
  switch (frame["type"]) {
    case "welcome":
      to.welcome(welcomeOf(frame));
      return;
    case "ping":
      if (typeof frame["message"] === "number") to.ping(frame["message"]);
      return;
    case "disconnect":
      to.disconnect({ reason: typeof frame["reason"] === "string" ? frame["reason"] : "disconnect", reconnect: frame["reconnect"] === true });
      return;
    case "confirm_subscription":
      if (identifier !== null) to.confirmed(identifier);
      return;
    case "reject_subscription":
      if (identifier !== null) to.rejected(identifier, typeof frame["reason"] === "string" ? frame["reason"] : null);
      return;
    case "confirm_history":
      // Nothing to do: the replayed messages arrive as ordinary data frames.
      return;
    case "reject_history":
      if (identifier !== null) to.historyRejected(identifier);
      return;
    default:
      // Data messages have no `type`; a type this client does not know is treated alike.
      if (identifier !== null && "message" in frame) to.message(identifier, positionOf(frame), bodyOf(frame["message"]));
  }
}

function welcomeOf(frame: JsonObject): Welcome {
  const restored = frame["restored"] === true;
  const ids = frame["restored_ids"];
  return {
    sid: typeof frame["sid"] === "string" ? frame["sid"] : null,
    restored,
    restoredIds: restored && Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [],
  };
}

function positionOf(frame: JsonObject): StreamPosition | null {
  const stream = frame["stream_id"];
  const epoch = frame["epoch"];
  const offset = frame["offset"];
  return typeof stream === "string" && typeof epoch === "string" && typeof offset === "number" ? { stream, epoch, offset } : null;
}

function bodyOf(message: unknown): MessageBody {
  if (isJsonObject(message) && isJsonObject(message["$reply"])) return { kind: "reply", reply: replyOf(message["$reply"]) };
  return { kind: "event", message };
}

function replyOf(reply: JsonObject): Reply | null {
  const ref = reply["ref"];
  if (typeof ref !== "string") return null;
  if (reply["ok"] === true) return { ref, ok: true, data: reply["data"] ?? null };
  // A server that answers without a well-formed error still fails the `perform`.
  const error = isJsonObject(reply["error"]) ? reply["error"] : {};
  return {
    ref,
    ok: false,
    code: typeof error["code"] === "string" ? error["code"] : "backend_unavailable",
    message: typeof error["message"] === "string" ? error["message"] : "the action failed",
    details: Array.isArray(error["details"]) ? (error["details"] as ActionErrorDetail[]) : [],
  };
}

// ---------------------------------------------------------------------------------------
// To the server
// ---------------------------------------------------------------------------------------

/** Where a resubscription asks the server to replay from. */
export interface HistoryRequest {
  /** Unix seconds: replay what was published since then. */
  readonly since: number;
  /** The last position seen of each stream, when any was. */
  readonly streams?: { readonly [stream: string]: Position };
}

/** A command the client sends. */
export type Command =
  | { readonly command: "subscribe"; readonly identifier: string; readonly history?: HistoryRequest }
  | { readonly command: "unsubscribe"; readonly identifier: string }
  | { readonly command: "history"; readonly identifier: string; readonly history: HistoryRequest }
  | { readonly command: "message"; readonly identifier: string; readonly data: string };

/** `subscribe`; with `history` to ask for what was missed since the last confirmation. */
export function subscribeCommand(identifier: string, history?: HistoryRequest): Command {
  return history === undefined ? { command: "subscribe", identifier } : { command: "subscribe", identifier, history };
}

export function unsubscribeCommand(identifier: string): Command {
  return { command: "unsubscribe", identifier };
}

/** `history`: replay what a subscription the server kept (a resumed session) missed. */
export function historyCommand(identifier: string, history: HistoryRequest): Command {
  return { command: "history", identifier, history };
}

/** `message`: the JSON text of a `perform` (see {@link performBody}). */
export function messageCommand(identifier: string, data: string): Command {
  return { command: "message", identifier, data };
}

/** The history request of a subscription that has seen `positions`. */
export function historyRequest(since: number, positions: ReadonlyMap<string, Position>): HistoryRequest {
  if (positions.size === 0) return { since };
  const streams: { [stream: string]: Position } = {};
  for (const [stream, p] of positions) streams[stream] = { epoch: p.epoch, offset: p.offset };
  return { since, streams };
}

/** A `perform`'s request with the action name and the `$ref` its reply will carry. */
export function performBody(action: string, request: unknown, ref: string): object {
  return { ...(isJsonObject(request) ? request : {}), action, $ref: ref };
}
