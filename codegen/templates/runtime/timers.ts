// The clock and timers the client runs on: the platform's by default, a fake one in tests.

/** An opaque timer handle, as returned by `setTimeout`. */
export type TimerHandle = unknown;

/** A clock with one-shot timers. Inject a fake one to test reconnection timing. */
export interface Timers {
  /** Milliseconds since some fixed point (`Date.now()` by default). */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

interface PlatformTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const platform = globalThis as unknown as PlatformTimers;

/** The platform's clock and timers. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => platform.setTimeout(callback, ms),
  clearTimeout: (handle) => platform.clearTimeout(handle),
};
