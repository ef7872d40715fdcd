// Reconnection delays: exponential from a base, capped, with jitter.

/** How the client reconnects after it lost its connection. */
export interface ReconnectOptions {
  /** Delay before the first reconnection attempt, in ms; each further attempt doubles it. Default 1000. */
  readonly baseDelayMs?: number;
  /** Longest delay between two attempts, in ms. Default 30000. */
  readonly maxDelayMs?: number;
  /** Each delay is spread uniformly over ±`jitter` of its nominal value (0 to 1). Default 0.25. */
  readonly jitter?: number;
  /** Attempts after a lost connection before the client gives up (state `closed`, reason `gave_up`); with several URLs, rounds over the list. `Infinity` never gives up. Default 10. */
  readonly maxAttempts?: number;
}

/** The reconnection settings with every default applied. */
export type ReconnectPolicy = Required<ReconnectOptions>;

/** Defaults of {@link ReconnectOptions}: 1 s, 2 s, 4 s, … up to 30 s, ±25 %, 10 attempts. */
export const DEFAULT_RECONNECT: ReconnectPolicy = { baseDelayMs: 1000, maxDelayMs: 30000, jitter: 0.25, maxAttempts: 10 };

/** Applies the defaults and clamps out-of-range values. */
export function reconnectPolicy(options: ReconnectOptions = {}): ReconnectPolicy {
  const base = Math.max(0, options.baseDelayMs ?? DEFAULT_RECONNECT.baseDelayMs);
  return {
    baseDelayMs: base,
    maxDelayMs: Math.max(base, options.maxDelayMs ?? DEFAULT_RECONNECT.maxDelayMs),
    jitter: Math.min(1, Math.max(0, options.jitter ?? DEFAULT_RECONNECT.jitter)),
    maxAttempts: Math.max(0, options.maxAttempts ?? DEFAULT_RECONNECT.maxAttempts),
  };
}

/**
 * The delay before reconnection attempt `attempt` (0 for the first): `base · 2^attempt`,
 * capped at `maxDelayMs`, spread by `jitter` with `random()` in [0, 1), and never above the cap.
 */
export function backoffDelay(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(0, attempt), 40));
  const spread = nominal * policy.jitter * (2 * random() - 1);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(0, nominal + spread)));
}
