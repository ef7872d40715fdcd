// Which tab of the browser holds the connection: one leader among the tabs of one scope
// (same server, same principal). With Web Locks the leader is the tab holding the scope's
// lock; the browser hands it to the next tab waiting the moment the leader's page closes,
// crashes or lets go. Without Web Locks the tabs agree over the BroadcastChannel: the leader
// says so every `HEARTBEAT_MS`; a tab that hears no leader for `LEADER_TIMEOUT_MS` claims
// the place, and the smallest id among the claims (or leaders) wins.

import type { TimerHandle, Timers } from "./timers.js";

/** The part of `BroadcastChannel` the tabs use. */
export interface TabBus {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void;
  close(): void;
}

/** `BroadcastChannel`, or a fake in tests. */
export type TabBusConstructor = new (name: string) => TabBus;

/** The part of the Web Locks API (`navigator.locks`) the election uses. */
export interface TabLocks {
  request(name: string, callback: (lock: unknown) => Promise<void>): Promise<unknown>;
}

/** @internal One tab's place in the election. */
export interface Election {
  /** This tab leads now. */
  readonly leading: boolean;
  /** Steps down and stays out (a frozen page) until {@link rejoin}. */
  withdraw(): void;
  /** Stands again after {@link withdraw}. */
  rejoin(): void;
  /** Steps down for good (the page unloads). */
  stop(): void;
}

/** The leader heartbeat period of the BroadcastChannel election, in ms. */
export const HEARTBEAT_MS = 400;
/** A leader unheard of for this long is gone, in ms. */
export const LEADER_TIMEOUT_MS = 1200;
/** How long a claim waits for a smaller one, in ms. */
export const CLAIM_MS = 200;

/** @internal Web Locks: the leader holds the lock until it steps down or its page goes. */
export class LockElection implements Election {
  readonly #locks: TabLocks;
  readonly #name: string;
  readonly #changed: (leading: boolean) => void;
  #leading = false;
  #standing = false;
  #release: (() => void) | null = null;

  constructor(locks: TabLocks, name: string, changed: (leading: boolean) => void) {
    this.#locks = locks;
    this.#name = name;
    this.#changed = changed;
    this.rejoin();
  }

  get leading(): boolean {
    return this.#leading;
  }

  rejoin(): void {
    if (this.#standing) return;
    this.#standing = true;
    this.#locks
      .request(this.#name, () => {
        if (!this.#standing) return Promise.resolve();
        this.#leading = true;
        const held = new Promise<void>((resolve) => {
          this.#release = resolve;
        });
        this.#changed(true);
        return held;
      })
      .catch(() => {
        // The page is going away: nothing to lead.
      });
  }

  withdraw(): void {
    this.#standing = false;
    const release = this.#release;
    this.#release = null;
    if (this.#leading) {
      this.#leading = false;
      this.#changed(false);
    }
    // Released after the leader has stopped, so the next one starts on a clean slate.
    release?.();
  }

  stop(): void {
    this.withdraw();
  }
}

type ElectionMessage = { readonly election: "leader" | "claim" | "who"; readonly id: string };

function electionMessage(data: unknown): ElectionMessage | null {
  if (typeof data !== "object" || data === null) return null;
  const m = data as { election?: unknown; id?: unknown };
  if ((m.election === "leader" || m.election === "claim" || m.election === "who") && typeof m.id === "string") return m as ElectionMessage;
  return null;
}

/** @internal Without Web Locks: heartbeats and claims over the BroadcastChannel. */
export class BusElection implements Election {
  readonly #bus: TabBus;
  readonly #timers: Timers;
  readonly #id: string;
  readonly #changed: (leading: boolean) => void;
  #leading = false;
  #standing = true;
  #lastLeaderAt: number;
  /** When this tab's claim started, while claiming. */
  #claimedAt: number | null = null;
  #timer: TimerHandle | null = null;

  constructor(Bus: TabBusConstructor, name: string, id: string, timers: Timers, changed: (leading: boolean) => void) {
    this.#bus = new Bus(name);
    this.#timers = timers;
    this.#id = id;
    this.#changed = changed;
    // A leader answers `who` at once: the first tab waits one claim window, not a timeout.
    this.#lastLeaderAt = timers.now() - LEADER_TIMEOUT_MS + CLAIM_MS;
    this.#bus.addEventListener("message", (event) => this.#heard(electionMessage(event.data)));
    this.#post("who");
    this.#tick();
  }

  get leading(): boolean {
    return this.#leading;
  }

  withdraw(): void {
    this.#standing = false;
    this.#claimedAt = null;
    this.#stepDown();
  }

  rejoin(): void {
    if (this.#standing) return;
    this.#standing = true;
    this.#lastLeaderAt = this.#timers.now() - LEADER_TIMEOUT_MS + CLAIM_MS;
    this.#post("who");
  }

  stop(): void {
    this.withdraw();
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#bus.close();
  }

  #post(election: ElectionMessage["election"]): void {
    this.#bus.postMessage({ election, id: this.#id });
  }

  #heard(m: ElectionMessage | null): void {
    if (m === null || m.id === this.#id) return;
    if (m.election === "who") {
      if (this.#leading) this.#post("leader");
      return;
    }
    if (m.election === "leader") {
      this.#lastLeaderAt = this.#timers.now();
      this.#claimedAt = null;
      // Two leaders (a split, or a claim race): the larger id yields.
      if (this.#leading && m.id < this.#id) this.#stepDown();
      return;
    }
    // A claim: a smaller one wins; a leader tells the claimer it is there.
    if (this.#leading) {
      this.#post("leader");
    } else if (this.#claimedAt !== null && m.id < this.#id) {
      this.#claimedAt = null;
      this.#lastLeaderAt = this.#timers.now();
    }
  }

  #stepDown(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#changed(false);
  }

  #tick(): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.#step();
      this.#tick();
    }, this.#leading ? HEARTBEAT_MS : CLAIM_MS / 2);
  }

  #step(): void {
    if (!this.#standing) return;
    const now = this.#timers.now();
    if (this.#leading) {
      this.#post("leader");
    } else if (this.#claimedAt !== null) {
      if (now - this.#claimedAt >= CLAIM_MS) {
        this.#claimedAt = null;
        this.#leading = true;
        this.#post("leader");
        this.#changed(true);
      }
    } else if (now - this.#lastLeaderAt >= LEADER_TIMEOUT_MS) {
      this.#claimedAt = now;
      this.#post("claim");
    }
  }
}
