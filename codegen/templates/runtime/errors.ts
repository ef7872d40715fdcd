// Errors a `perform` can reject with: the server's answer, or the client's own.

import type { BuiltinActionError } from "../protocol.js";

/** One invalid field of a request, for `invalid_request`. */
export interface ActionErrorDetail {
  /** JSON pointer of the field. */
  readonly path: string;
  /** What is wrong with it. */
  readonly message: string;
}

/** The server answered a `perform` with an error: a code the action declares, or a built-in one. */
export class ActionError<Code extends string = string> extends Error {
  override readonly name = "ActionError";
  /** The error code. */
  readonly code: Code | BuiltinActionError;
  /** The action that failed. */
  readonly action: string;
  /** Invalid request fields, for `invalid_request`; empty otherwise. */
  readonly details: ReadonlyArray<ActionErrorDetail>;

  constructor(action: string, code: Code | BuiltinActionError, message: string, details: ReadonlyArray<ActionErrorDetail> = []) {
    super(message);
    this.action = action;
    this.code = code;
    this.details = details;
  }

  /** Whether `error` is an {@link ActionError}. */
  static is(error: unknown): error is ActionError {
    return error instanceof ActionError;
  }
}

/**
 * Why the client itself failed a `perform`:
 * - `queue_full`: offline, and the offline queue is full ({@link QueueFullError});
 * - `timeout`: no reply within `replyTimeoutMs`;
 * - `disconnected`: the connection was lost after the request was sent, so it may or may not have run;
 * - `closed`: the client was disconnected (`disconnect()`, or it gave up reconnecting);
 * - `unsubscribed`: the subscription was released before the request could be sent or answered;
 * - `rejected`: the server rejected the subscription.
 */
export type ClientErrorCode = "queue_full" | "timeout" | "disconnected" | "closed" | "unsubscribed" | "rejected";

/** A `perform` the client failed without an answer from the server. */
export class CableClientError extends Error {
  override readonly name: string = "CableClientError";
  /** Why. */
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  /** Whether `error` is a {@link CableClientError}. */
  static is(error: unknown): error is CableClientError {
    return error instanceof CableClientError;
  }
}

/** A `perform` while offline found the offline queue full. */
export class QueueFullError extends CableClientError {
  override readonly name: string = "QueueFullError";
  declare readonly code: "queue_full";
  /** The queue's capacity. */
  readonly limit: number;

  constructor(limit: number) {
    super("queue_full", `the offline queue is full (${limit} requests waiting for the connection)`);
    this.limit = limit;
  }
}
