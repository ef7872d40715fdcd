// One real WebSocket to /cable as the chosen principal, speaking the ext protocol
// (actioncable-v1-ext-json) so frames carry their stream, epoch and offset. Every frame is
// handed to the page as it arrives; pings are answered and counted, not shown.

export type Frame = Record<string, unknown>;

export type Status =
  | { state: "idle" }
  | { state: "connecting" }
  | { state: "open"; sid: string | null; since: number }
  | { state: "closed"; reason: string };

export interface CableEvents {
  frame(frame: Frame, at: Date): void;
  status(status: Status): void;
  ping(at: number): void;
}

export class Cable {
  private ws: WebSocket | null = null;
  status: Status = { state: "idle" };

  constructor(private readonly on: CableEvents) {}

  connect(token: string): void {
    this.close();
    const url = new URL("/cable", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    const ws = new WebSocket(url, ["actioncable-v1-ext-json"]);
    this.ws = ws;
    this.set({ state: "connecting" });
    let farewell = "closed";
    ws.onmessage = (m) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(m.data)) as Frame;
      } catch {
        return;
      }
      if (frame.type === "ping") {
        this.on.ping(Date.now());
        ws.send(JSON.stringify({ command: "pong" }));
        return;
      }
      if (frame.type === "welcome") this.set({ state: "open", sid: typeof frame.sid === "string" ? frame.sid : null, since: Date.now() });
      if (frame.type === "disconnect") farewell = String(frame.reason ?? "disconnected");
      this.on.frame(frame, new Date());
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.set({ state: "closed", reason: e.code === 1006 && farewell === "closed" ? "connection lost" : farewell });
    };
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.close();
      this.set({ state: "closed", reason: "closed by you" });
    }
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.status.state === "open";
  }

  send(command: Record<string, unknown>): void {
    this.ws?.send(JSON.stringify(command));
  }

  subscribe(identifier: string): void {
    this.send({ command: "subscribe", identifier });
  }

  unsubscribe(identifier: string): void {
    this.send({ command: "unsubscribe", identifier });
  }

  private set(status: Status): void {
    this.status = status;
    this.on.status(status);
  }
}
