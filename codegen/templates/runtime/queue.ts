// The perform/reply queue. Each `perform` gets a `$ref`; it waits in the bounded offline
// queue until its subscription is confirmed on a live connection, is sent, and then settles
// with the reply carrying its ref, or fails: no reply in time, the connection lost after it
// was sent, the subscription released or rejected, the client closed.

import { ActionError, CableClientError, QueueFullError } from "./errors.js";
import { messageCommand, performBody, type Command, type Reply } from "./protocol.js";
import type { SharedSubscription } from "./registry.js";
import type { TimerHandle, Timers } from "./timers.js";
import type { PerformOptions } from "./types.js";

/** The options of `CableOptions` that concern `perform`. */
export interface QueueOptions {
  /** Most `perform`s that may wait for the connection; one more rejects with {@link QueueFullError}. Default 100. */
  readonly offlineQueueLimit?: number;
  /** How long a sent `perform` waits for its reply, in ms. Default 30000. */
  readonly replyTimeoutMs?: number;
  /** @internal Prefix of every `$ref` (tabs sharing a connection each have their own). */
  readonly refPrefix?: string;
}

/** @internal What the queue needs of the connection. */
export interface QueueLink {
  /** Whether a request on `entry` can go out now: the connection is welcomed and `entry` confirmed. */
  canSend(entry: SharedSubscription): boolean;
  send(command: Command): void;
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

/** @internal */
export class PerformQueue {
  readonly #link: QueueLink;
  readonly #timers: Timers;
  readonly #limit: number;
  readonly #replyTimeoutMs: number;
  /** Waiting to be sent, oldest first. */
  #waiting: Outgoing[] = [];
  /** Sent, waiting for the reply, by ref. */
  readonly #inFlight = new Map<string, Outgoing>();
  #nextRef = 0;
  readonly #refPrefix: string;

  constructor(options: QueueOptions, timers: Timers, link: QueueLink) {
    this.#link = link;
    this.#timers = timers;
    this.#limit = options.offlineQueueLimit ?? 100;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 30000;
    this.#refPrefix = options.refPrefix ?? "";
  }

  /** Sends `action` on `entry` now if it can go out, else queues it; resolves with the reply's data. */
  perform(entry: SharedSubscription, action: string, request: unknown, options: PerformOptions | undefined): Promise<unknown> {
    const ref = `${this.#refPrefix}${++this.#nextRef}`;
    const body = performBody(action, request, ref);
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
      if (this.#link.canSend(entry)) {
        this.#transmit(out);
      } else if (this.#waiting.length >= this.#limit) {
        reject(new QueueFullError(this.#limit));
      } else {
        this.#waiting.push(out);
      }
    });
  }

  /** Sends what waited for `entry`, in order, if it can go out now. */
  flush(entry: SharedSubscription): void {
    if (!this.#link.canSend(entry)) return;
    const mine = this.#waiting.filter((o) => o.entry === entry);
    if (mine.length === 0) return;
    this.#waiting = this.#waiting.filter((o) => o.entry !== entry);
    for (const out of mine) this.#transmit(out);
  }

  /** The server answered; a reply nobody waits for (timed out, or not ours) is dropped. */
  settle(reply: Reply): void {
    const out = this.#inFlight.get(reply.ref);
    if (out === undefined) return;
    this.#inFlight.delete(reply.ref);
    if (out.timer !== null) this.#timers.clearTimeout(out.timer);
    if (reply.ok) {
      out.resolve(reply.data);
    } else {
      out.reject(new ActionError(out.action, reply.code, reply.message, reply.details));
    }
  }

  /** Fails the waiting requests, of `entry` or of every subscription. */
  failWaiting(error: () => unknown, entry?: SharedSubscription): void {
    const which = (o: Outgoing): boolean => entry === undefined || o.entry === entry;
    const failed = this.#waiting.filter(which);
    if (failed.length === 0) return;
    this.#waiting = this.#waiting.filter((o) => !which(o));
    for (const o of failed) o.reject(error());
  }

  /** Fails the sent requests, of `entry` or of every subscription: their replies will not come. */
  failInFlight(error: () => unknown, entry?: SharedSubscription): void {
    for (const [ref, o] of [...this.#inFlight]) {
      if (entry !== undefined && o.entry !== entry) continue;
      this.#inFlight.delete(ref);
      if (o.timer !== null) this.#timers.clearTimeout(o.timer);
      o.reject(error());
    }
  }

  #transmit(out: Outgoing): void {
    this.#inFlight.set(out.ref, out);
    out.timer = this.#timers.setTimeout(() => {
      if (this.#inFlight.get(out.ref) !== out) return;
      this.#inFlight.delete(out.ref);
      out.reject(new CableClientError("timeout", `no reply to \`${out.action}\` within ${out.timeoutMs} ms`));
    }, out.timeoutMs);
    this.#link.send(messageCommand(out.entry.key, out.data));
  }
}
