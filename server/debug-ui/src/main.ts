// The debug page: boots from /debug/api/info and /debug/api/schema (asking for the
// publisher key outside --dev), then lays out the top bar, the channel list, the selected
// channel and the console, and polls the metrics once a second for the live figures.
import { Api, Unauthorized, type Info, type SchemaDoc } from "./api";
import { Cable } from "./cable";
import { renderChannel } from "./channel";
import { renderConsole, type Feed } from "./console";
import { byId, fill, h } from "./dom";
import { figures, parse } from "./prom";
import { renderSidebar } from "./sidebar";
import { makeBus, type Store } from "./store";
import { applyTheme, renderTopbar, storedTheme } from "./topbar";

const POLL_MS = 1000;
const KEEP_SAMPLES = 61;

function askForKey(api: Api, why: string): void {
  const input = h("input", { type: "password", id: "key-input", placeholder: "publisher key", autocomplete: "off" });
  const submit = (e: Event) => {
    e.preventDefault();
    api.remember(input.value.trim());
    void boot(api);
  };
  fill(
    byId("app"),
    h(
      "form",
      { class: "gate card", onsubmit: submit },
      h("h1", null, "Cableway debug page"),
      h("p", { class: "muted" }, "Outside --dev this page reads the server with the publisher key. It stays in this tab (session storage) and is sent as a Bearer header, never as a cookie."),
      why ? h("p", { class: "issue" }, why) : null,
      h("div", { class: "row" }, input, h("button", { class: "primary", type: "submit" }, "Open")),
    ),
  );
  input.focus();
}

async function boot(api: Api): Promise<void> {
  let info: Info;
  let schema: SchemaDoc;
  try {
    info = await api.json<Info>("/debug/api/info");
    schema = await api.json<SchemaDoc>("/debug/api/schema");
  } catch (e) {
    if (e instanceof Unauthorized) {
      const tried = api.key !== null;
      api.forget();
      askForKey(api, tried ? "That key was refused." : "");
      return;
    }
    throw e;
  }
  const bus = makeBus();
  let feed: Feed | undefined;
  const cable = new Cable({
    frame: (frame, at) => feed?.add(frame, at),
    status: () => store.emit("status"),
    ping: () => {},
  });
  const store: Store = {
    ...bus,
    api,
    info,
    schema,
    cable,
    principal: { ...schema.principal },
    selected: schema.channels.find((c) => c.name === "NotificationChannel") ?? schema.channels[0],
    subscriptions: new Map(),
    history: [],
    params: new Map(),
  };
  const app = byId("app");
  const top = h("header", { class: "topbar" });
  const side = h("aside", { class: "sidebar" });
  const main = h("main", { class: "channel", id: "channel" });
  const right = h("section", { class: "console", id: "console" });
  fill(app, top, h("div", { class: "columns" }, side, main, right));
  renderTopbar(store, top);
  renderSidebar(store, side);
  feed = renderConsole(store, right);
  renderChannel(store, main);
  store.on("principal", () => store.emit("selected"));

  const poll = async () => {
    try {
      const text = await (await api.get("/debug/api/metrics")).text();
      store.history = [...store.history, figures(parse(text), Date.now())].slice(-KEEP_SAMPLES);
      store.emit("figures");
    } catch {
      // The server is restarting or gone: keep the last figures.
    }
  };
  await poll();
  setInterval(() => void poll(), POLL_MS);
}

applyTheme(storedTheme());
void boot(new Api());
