// The token the connection authenticates with: a fixed string, or a provider whose answer
// is kept for later reconnections. When the server refuses it, the provider is asked again,
// with `refresh`, at most once per welcome, so a server that keeps refusing cannot make the
// client loop.

/** What refresh means to a token provider. */
export interface TokenRequest {
  /** False for the first connection; true when the server refused the last token. */
  readonly refresh: boolean;
  /** The server's reason when refreshing: `unauthorized` or `token_expired`. */
  readonly reason: string | null;
}

/** Supplies the JWT: called for the first connection, and once more whenever the server refuses the token. */
export type TokenProvider = (request: TokenRequest) => string | Promise<string>;

/** @internal */
export class TokenSource {
  #token: string | TokenProvider | undefined;
  #cached: string | null = null;
  /** Why the server refused the last token, until the provider has answered the refresh. */
  #refreshReason: string | null = null;
  #refreshedSinceWelcome = false;

  constructor(token: string | TokenProvider | undefined) {
    this.#token = token;
  }

  /** Replaces the token or provider, from the next connection on. */
  set(token: string | TokenProvider): void {
    this.#token = token;
    this.#cached = null;
  }

  /** Drops the provider's cached answer (logout). */
  forget(): void {
    this.#cached = null;
  }

  /** A welcome, or a fresh `connect()`: the server may refuse a token again before the client gives up. */
  renewRefresh(): void {
    this.#refreshedSinceWelcome = false;
  }

  /**
   * The token for the next socket when it is known without asking the provider: the fixed
   * string, `null` for none, or the provider's cached answer. `undefined`: call {@link ask}.
   */
  known(): string | null | undefined {
    const token = this.#token;
    if (typeof token !== "function") return token ?? null;
    return this.#cached !== null && this.#refreshReason === null ? this.#cached : undefined;
  }

  /** Asks the provider (on a later tick, so a provider that throws rejects instead). */
  ask(): Promise<string> {
    const provider = this.#token as TokenProvider;
    const request: TokenRequest = { refresh: this.#refreshReason !== null, reason: this.#refreshReason };
    return Promise.resolve().then(() => provider(request));
  }

  /** The provider's answer is in use: keep it for later reconnections. */
  accept(token: string): void {
    this.#cached = token;
    this.#refreshReason = null;
  }

  /**
   * The server refused the token for `reason`. True when the provider may be asked for a fresh
   * one now (the next {@link ask} says `refresh`); false when there is no provider to ask or
   * it was asked already since the last welcome.
   */
  refreshAfter(reason: string): boolean {
    if (typeof this.#token !== "function" || this.#refreshedSinceWelcome) return false;
    this.#refreshedSinceWelcome = true;
    this.#refreshReason = reason;
    this.#cached = null;
    return true;
  }
}
