// The right-hand panel: the connection (as which principal), its subscriptions, and every
// frame the server sends on it, newest first.
import type { Frame, Status } from "./cable";
import { clock, fill, h } from "./dom";
import { jsonView } from "./json";
import { shortName, type Store } from "./store";

const MAX_ROWS = 500;

export interface Feed {
  add(frame: Frame, at: Date): void;
}

function channelOf(identifier: unknown): string {
  if (typeof identifier !== "string") return "";
  try {
    return shortName(String((JSON.parse(identifier) as { channel?: unknown }).channel ?? ""));
  } catch {
    return "";
  }
}

function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

export function renderConsole(store: Store, root: HTMLElement): Feed {
  const connection = h("div", { class: "card", id: "connection" });
  const subscriptions = h("div", { class: "subs", id: "subscriptions" });
  const rows = h("ol", { class: "feed", id: "envelopes" });
  const counter = h("span", { class: "count", id: "envelope-count" }, "0");
  let paused = false;
  let count = 0;
  let lastPing = 0;
  let autoOpened: HTMLElement | null = null;
  const pauseButton = h("button", { class: "ghost small", onclick: () => { paused = !paused; pauseButton.textContent = paused ? "Resume" : "Pause"; } }, "Pause");
  fill(
    root,
    connection,
    h("div", { class: "card" }, h("div", { class: "card-head" }, h("h2", null, "Subscriptions")), subscriptions),
    h(
      "div",
      { class: "card feed-card" },
      h("div", { class: "card-head" }, h("h2", null, "Frames", counter), h("div", { class: "toolbar" }, pauseButton, h("button", { class: "ghost small", onclick: () => { rows.replaceChildren(); count = 0; counter.textContent = "0"; } }, "Clear"))),
      rows,
      h("p", { class: "feed-empty muted" }, "Frames the server sends on this connection appear here: welcome, confirmations, and every envelope as it arrives."),
    ),
  );

  const field = (label: string, input: HTMLElement) => h("label", { class: "field" }, h("span", { class: "field-label" }, label), input);
  const sub = h("input", { value: store.principal.sub, spellcheck: "false", name: "sub" });
  const account = h("input", { value: store.principal.account_id, spellcheck: "false", name: "account_id" });
  const permissions = h("input", { value: store.principal.permissions.join(", "), spellcheck: "false", name: "permissions", placeholder: "admin.access, …" });
  const kind = h("select", { name: "kind" }, ["user", "worker"].map((k) => h("option", { value: k, selected: k === store.principal.kind }, k)));
  const pasted = h("textarea", { class: "token", rows: 3, spellcheck: "false", placeholder: "a JWT signed by your application", name: "token" });
  const status = h("div", { class: "status", id: "connection-status" });
  const problem = h("div", { class: "issues" });
  const connect = h("button", { class: "primary", id: "connect-button", onclick: () => void open() }, "Connect");
  const disconnect = h("button", { class: "ghost", onclick: () => store.cable.close() }, "Disconnect");

  const open = async () => {
    fill(problem);
    store.principal = { sub: sub.value.trim(), account_id: account.value.trim(), permissions: permissions.value.split(",").map((p) => p.trim()).filter(Boolean), kind: kind.value };
    store.params.clear();
    store.emit("principal");
    let token = pasted.value.trim();
    if (store.info.dev) {
      const answer = await store.api.post("/debug/api/token", store.principal);
      if (answer.status !== 200) {
        fill(problem, h("div", { class: "issue" }, String(answer.body.message ?? answer.body.error)));
        return;
      }
      token = String(answer.body.token);
    }
    if (token === "") {
      fill(problem, h("div", { class: "issue" }, "Paste a token to connect with."));
      return;
    }
    store.subscriptions.clear();
    store.emit("subscriptions");
    store.cable.connect(token);
  };

  fill(
    connection,
    h("div", { class: "card-head" }, h("h2", null, "Connection"), h("span", { class: "muted" }, "GET /cable · actioncable-v1-ext-json")),
    store.info.dev
      ? h("div", { class: "fields two" }, field("sub", sub), field("account_id", account), field("permissions", permissions), field("kind", kind))
      : h("div", { class: "fields" }, field("token", pasted)),
    store.info.dev ? h("p", { class: "muted small" }, "--dev mints a token for this principal (POST /debug/api/token); outside --dev, paste one.") : null,
    status,
    h("div", { class: "row end" }, disconnect, connect),
    problem,
  );

  const drawStatus = () => {
    const s: Status = store.cable.status;
    const text =
      s.state === "open" ? `connected as ${store.principal.sub}${s.sid ? ` · sid ${s.sid.slice(0, 8)}…` : ""}${lastPing ? ` · ping ${clock(new Date(lastPing)).slice(0, 8)}` : ""}` : s.state === "closed" ? `disconnected: ${s.reason}` : s.state === "connecting" ? "connecting…" : "not connected";
    fill(status, h("span", { class: `dot dot-${s.state}` }), h("span", null, text));
    connect.textContent = s.state === "open" ? "Reconnect" : "Connect";
    disconnect.disabled = s.state !== "open" && s.state !== "connecting";
  };
  const drawSubscriptions = () => {
    const all = [...store.subscriptions.values()];
    fill(
      subscriptions,
      all.length === 0
        ? h("p", { class: "muted" }, store.cable.open ? "None yet: subscribe from the channel view." : "Connect, then subscribe from the channel view.")
        : all.map((s) =>
            h(
              "div",
              { class: `sub sub-${s.state}`, "data-identifier": s.identifier },
              h("span", { class: `dot dot-${s.state}` }),
              h("span", { class: "sub-name" }, shortName(s.channel)),
              h("code", { class: "sub-params" }, paramsText(s.params)),
              h("span", { class: "sub-state" }, s.state === "rejected" ? `rejected: ${s.reason ?? ""}` : s.state),
              h(
                "button",
                {
                  class: "icon-button",
                  title: "Unsubscribe",
                  onclick: () => {
                    if (s.state === "confirmed") store.cable.unsubscribe(s.identifier);
                    store.subscriptions.delete(s.identifier);
                    store.emit("subscriptions");
                  },
                },
                "×",
              ),
            ),
          ),
    );
  };
  drawStatus();
  drawSubscriptions();
  store.on("status", () => {
    drawStatus();
    drawSubscriptions();
  });
  store.on("subscriptions", drawSubscriptions);

  return {
    add(frame, at) {
      const type = typeof frame.type === "string" ? frame.type : "message" in frame ? "data" : "frame";
      const sub = typeof frame.identifier === "string" ? store.subscriptions.get(frame.identifier) : undefined;
      if (sub && (type === "confirm_subscription" || type === "reject_subscription")) {
        sub.state = type === "confirm_subscription" ? "confirmed" : "rejected";
        if (type === "reject_subscription") sub.reason = String(frame.reason ?? "");
        store.emit("subscriptions");
      }
      if (type === "ping") {
        lastPing = at.getTime();
        drawStatus();
        return;
      }
      if (paused) return;
      const message = frame.message as Record<string, unknown> | undefined;
      const event = type === "data" && message && typeof message.event === "string" ? message.event : null;
      const where = typeof frame.stream_id === "string" ? `${frame.stream_id}#${String(frame.offset)}` : "";
      const body = type === "data" ? message : frame;
      const row = h(
        "li",
        { class: `frame frame-${type}`, "data-type": type, "data-event": event ?? "" },
        h(
          "div",
          { class: "frame-head", onclick: () => row.classList.toggle("open") },
          h("span", { class: "frame-time" }, clock(at)),
          h("span", { class: `badge badge-${type}` }, type === "data" ? "data" : type.replace("_subscription", "").replace("_history", " history")),
          h("span", { class: "frame-channel" }, channelOf(frame.identifier)),
          event ? h("code", { class: "frame-event" }, event) : typeof frame.reason === "string" ? h("span", { class: "muted" }, frame.reason) : null,
          h("span", { class: "frame-where", title: "stream # offset" }, where),
        ),
        jsonView(body, "frame-body"),
      );
      // The newest envelope is shown open, until the next one comes (or it is toggled).
      if (type === "data") {
        autoOpened?.classList.remove("open");
        row.classList.add("open");
        autoOpened = row;
        row.firstElementChild?.addEventListener("click", () => {
          if (autoOpened === row) autoOpened = null;
        });
      }
      rows.prepend(row);
      count += 1;
      counter.textContent = String(count);
      while (rows.children.length > MAX_ROWS) rows.lastElementChild?.remove();
    },
  };
}
