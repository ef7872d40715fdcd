// The browser's say in the connection: the network coming and going (`online`, `offline`),
// the page becoming visible again (`visibilitychange`), and the page lifecycle (`freeze`,
// `resume`, `pagehide`, `pageshow`). Each event becomes one call on a `LifecycleTarget`;
// outside a browser (Node, a worker without these events) nothing is watched.

/** What the client does on each event. */
export interface LifecycleTarget {
  /** `online`: reconnect now. */
  networkUp(): void;
  /** `offline`: stop retrying (and counting attempts) until `online`. */
  networkDown(): void;
  /** The page became visible: check the connection at once. */
  check(): void;
  /** `freeze`, or `pagehide` into the back/forward cache: let go of the socket. */
  suspend(): void;
  /** `resume`, or `pageshow` from the back/forward cache: connect again. */
  resume(): void;
  /** `pagehide` of a page that unloads: say goodbye while the page can. */
  leave(): void;
}

interface EventSource {
  addEventListener(type: string, listener: (event: { readonly persisted?: boolean }) => void): void;
  removeEventListener(type: string, listener: (event: { readonly persisted?: boolean }) => void): void;
}

interface BrowserGlobals {
  readonly window?: EventSource;
  readonly document?: EventSource & { readonly visibilityState?: string };
  readonly navigator?: { readonly onLine?: boolean };
}

/** Whether this looks like a page of a browser (a window and a document). */
export function inBrowser(): boolean {
  const g = globalThis as unknown as BrowserGlobals;
  return g.window !== undefined && g.document !== undefined;
}

/** Watches the page's events for `target`; returns a function that stops. Does nothing outside a browser. */
export function watchLifecycle(target: LifecycleTarget): () => void {
  const g = globalThis as unknown as BrowserGlobals;
  const win = g.window;
  const doc = g.document;
  if (win === undefined || doc === undefined) return () => {};
  const watched: Array<readonly [EventSource, string, (event: { readonly persisted?: boolean }) => void]> = [
    [win, "online", () => target.networkUp()],
    [win, "offline", () => target.networkDown()],
    [doc, "visibilitychange", () => {
      if (doc.visibilityState === "visible") target.check();
    }],
    [doc, "freeze", () => target.suspend()],
    [doc, "resume", () => target.resume()],
    // Only a page going into the back/forward cache comes back; an unloading one is gone anyway.
    [win, "pagehide", (event) => {
      if (event.persisted === true) target.suspend();
      else target.leave();
    }],
    [win, "pageshow", (event) => {
      if (event.persisted === true) target.resume();
    }],
  ];
  for (const [source, type, listener] of watched) source.addEventListener(type, listener);
  if (g.navigator?.onLine === false) target.networkDown();
  return () => {
    for (const [source, type, listener] of watched) source.removeEventListener(type, listener);
  };
}
