// Where the client connects, and when it tries again: one URL (a single node, or several
// behind a load balancer), or a list of nodes tried in turn.
//
// Every reconnection goes to the next URL of the list, in the order given, wrapping around
// (round-robin). The backoff delay grows once per round, that is once every URL has been
// tried, so a dead node is left for the next one after the first delay while a deployment
// that is down as a whole is retried at the pace of a single server. A welcome ends the
// round: the next failure starts again from the first delay, at the URL after the one that
// welcomed. The client gives up after `maxAttempts` rounds without a welcome.

import { backoffDelay, type ReconnectPolicy } from "./backoff.js";

/** The `url` option: validated, in the order given. */
export function urlList(url: string | ReadonlyArray<string>): ReadonlyArray<string> {
  const urls: ReadonlyArray<unknown> = typeof url === "string" ? [url] : Array.isArray(url) ? url : [];
  if (urls.length === 0 || !urls.every((u) => typeof u === "string" && u !== "")) {
    throw new TypeError("`url` must be a WebSocket URL or a non-empty list of them");
  }
  return Object.freeze([...(urls as string[])]);
}

/** @internal The URL of each socket, and the delay before it. */
export class Failover {
  readonly #urls: ReadonlyArray<string>;
  readonly #policy: ReconnectPolicy;
  readonly #random: () => number;
  #index = 0;
  #attempts = 0;

  constructor(urls: ReadonlyArray<string>, policy: ReconnectPolicy, random: () => number) {
    this.#urls = urls;
    this.#policy = policy;
    this.#random = random;
  }

  /** The URL of the current socket, or of the next one while waiting to reconnect. */
  get url(): string {
    return this.#urls[this.#index] as string;
  }

  /** Reconnection attempts since the last welcome (or the start), over every URL. */
  get attempts(): number {
    return this.#attempts;
  }

  /** A fresh start (`connect()` when idle or closed): the first URL, no attempt made. */
  restart(): void {
    this.#index = 0;
    this.#attempts = 0;
  }

  /** The server welcomed the socket: the next failure starts a new round. */
  welcomed(): void {
    this.#attempts = 0;
  }

  /**
   * The socket failed (or no socket could be made): moves on to the next URL and returns the
   * delay before trying it, in ms; `null` when the client should give up.
   */
  next(): number | null {
    const n = this.#urls.length;
    if (this.#attempts >= this.#policy.maxAttempts * n) return null;
    const delay = backoffDelay(Math.floor(this.#attempts / n), this.#policy, this.#random);
    this.#attempts++;
    this.#index = (this.#index + 1) % n;
    return delay;
  }
}
