// The selected channel: subscribe to it, publish one of its events, and its reference
// (params, streams, rule, history, events with payload schema and example, actions).
import type { ActionDoc, ChannelDoc, EventDoc, JsonSchema } from "./api";
import { aimedExample } from "./fill";
import { h, fill, type Child } from "./dom";
import { jsonView } from "./json";
import { identifierOf, shortName, type Store, type Topic } from "./store";
import { validate, type Violation } from "./validate";

/** A short type of a schema node: `string`, `Id`, `"a" | "b"`, `integer ≥ 0`, `Item[]`. */
function typeOf(schema: JsonSchema | undefined): string {
  if (!schema) return "any";
  const ref = schema.$ref;
  if (typeof ref === "string") return ref.split("/").pop() ?? ref;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as JsonSchema[]).map(typeOf).join(" | ");
  const type = Array.isArray(schema.type) ? (schema.type as string[]).join(" | ") : String(schema.type ?? "any");
  if (type === "array") return `${typeOf(schema.items as JsonSchema)}[]`;
  const bits: string[] = [];
  if (typeof schema.format === "string") bits.push(schema.format);
  if (typeof schema.minimum === "number") bits.push(`≥ ${schema.minimum}`);
  if (typeof schema.maximum === "number") bits.push(`≤ ${schema.maximum}`);
  if (typeof schema.maxLength === "number") bits.push(`≤ ${schema.maxLength} chars`);
  return bits.length ? `${type} (${bits.join(", ")})` : type;
}

function resolve(root: JsonSchema, schema: JsonSchema | undefined): JsonSchema | undefined {
  const ref = schema?.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
  let node: unknown = root;
  for (const key of ref.slice(2).split("/")) node = (node as Record<string, unknown> | undefined)?.[key];
  return resolve(root, node as JsonSchema | undefined);
}

function properties(schema: JsonSchema): [string, JsonSchema, boolean][] {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => [name, s, required.has(name)]);
}

function section(title: string, count: number | null, ...children: Child[]): HTMLElement {
  return h("section", { class: "ref-section" }, h("h3", null, title, count === null ? null : h("span", { class: "count" }, String(count))), ...children);
}

function collapsible(summary: Child, body: () => Child, open = false): HTMLElement {
  const details = h("details", { class: "fold", open }, h("summary", null, summary));
  let filled = false;
  const load = () => {
    if (!filled && details.open) {
      filled = true;
      details.append(h("div", { class: "fold-body" }, body()));
    }
  };
  details.addEventListener("toggle", load);
  load();
  return details;
}

function paramsTable(schema: JsonSchema): HTMLElement {
  const rows = properties(schema);
  if (rows.length === 0) return h("p", { class: "muted" }, "No params: one subscription per principal.");
  return h(
    "table",
    { class: "props" },
    h("thead", null, h("tr", null, h("th", null, "param"), h("th", null, "type"), h("th", null, "description"))),
    h(
      "tbody",
      null,
      rows.map(([name, s, required]) =>
        h("tr", null, h("td", null, h("code", null, name), required ? h("span", { class: "req", title: "required" }, "*") : null), h("td", null, h("code", { class: "type" }, typeOf(s))), h("td", { class: "muted" }, String(resolve(schema, s)?.description ?? s.description ?? ""))),
      ),
    ),
  );
}

function template(t: string): HTMLElement {
  return h(
    "code",
    { class: "template" },
    t.split(/(\{[^}]+\})/).filter(Boolean).map((p) => (p.startsWith("{") ? h("span", { class: "ph" }, p) : p)),
  );
}

export function renderChannel(store: Store, root: HTMLElement): void {
  // Listeners of the cards drawn for the selected channel, dropped when another is drawn.
  let scope: (() => void)[] = [];
  const draw = () => {
    for (const off of scope) off();
    scope = [];
    const listen: Listen = (topic, redraw) => scope.push(store.on(topic, redraw));
    const c = store.selected;
    root.scrollTop = 0;
    fill(
      root,
      h(
        "header",
        { class: "channel-head" },
        h("div", { class: "channel-title" }, h("h1", null, c.name), h("span", { class: `tag ${c.experimental ? "tag-exp" : "tag-stable"}` }, c.experimental ? "experimental" : "stable")),
        h("p", { class: "channel-desc" }, c.description),
        h(
          "div",
          { class: "chips" },
          c.streams.map((s) => h("span", { class: "chip" }, h("span", { class: "chip-label" }, "stream"), template(s))),
          h("span", { class: "chip" }, h("span", { class: "chip-label" }, "history"), `${c.history.size} messages · ${c.history.ttl_seconds} s`),
        ),
      ),
      h("div", { class: "workbench" }, subscribeCard(store, c, listen), publishCard(store, c)),
      section("Events", c.events.length, c.events.map((e) => eventDoc(store, c, e))),
      section("Actions", c.actions.length, c.actions.length === 0 ? h("p", { class: "muted" }, "No client actions.") : c.actions.map(actionDoc)),
      section("Params", null, paramsTable(c.params)),
      section("Authorization", null, h("p", { class: "muted" }, "Deny by default; a subscription is confirmed when this rule holds."), jsonView(c.rule, "compact")),
    );
  };
  draw();
  store.on("selected", draw);
}

function paramsOf(store: Store, c: ChannelDoc): Record<string, unknown> {
  let params = store.params.get(c.name);
  if (!params) {
    params = { ...c.params_example };
    // The example ids are the dev principal's; follow the principal the console is set to.
    if ("account_id" in params) params.account_id = store.principal.account_id;
    if ("user_id" in params) params.user_id = store.principal.sub;
    store.params.set(c.name, params);
  }
  return params;
}

type Listen = (topic: Topic, redraw: () => void) => void;

function subscribeCard(store: Store, c: ChannelDoc, listen: Listen): HTMLElement {
  const params = paramsOf(store, c);
  const identifier = h("code", { class: "identifier", id: "subscribe-identifier" });
  const issues = h("div", { class: "issues" });
  const button = h("button", { class: "primary", id: "subscribe-button", onclick: () => subscribe() }, "Subscribe");
  const showIdentifier = () => {
    identifier.textContent = identifierOf(c.name, params);
    identifier.title = identifier.textContent;
    const problems = validate(c.params, params);
    fill(issues, problems.map((v) => h("div", { class: "issue" }, h("code", null, v.path || "/"), ` ${v.message}`)));
    button.disabled = !store.cable.open;
    button.title = store.cable.open ? "" : "Connect first (right-hand panel)";
  };
  const inputs = properties(c.params).map(([name, raw, required]) => {
    const s = resolve(c.params, raw) ?? raw;
    const numeric = s.type === "integer" || s.type === "number";
    const set = (value: string) => {
      if (value === "") delete params[name];
      else params[name] = numeric && value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
      showIdentifier();
    };
    const current = params[name] === undefined ? "" : String(params[name]);
    const control = Array.isArray(s.enum)
      ? h("select", { name, onchange: (e: Event) => set((e.target as HTMLSelectElement).value) }, required ? null : h("option", { value: "" }, "—"), (s.enum as unknown[]).map((v) => h("option", { value: String(v), selected: String(v) === current }, String(v))))
      : h("input", { name, value: current, spellcheck: "false", autocomplete: "off", oninput: (e: Event) => set((e.target as HTMLInputElement).value) });
    return h("label", { class: "field" }, h("span", { class: "field-label" }, name, required ? h("span", { class: "req" }, "*") : null, h("span", { class: "field-type" }, typeOf(raw))), control);
  });
  const subscribe = () => {
    const id = identifierOf(c.name, params);
    store.subscriptions.set(id, { identifier: id, channel: c.name, params: { ...params }, state: "pending" });
    store.cable.subscribe(id);
    store.emit("subscriptions");
  };
  listen("status", showIdentifier);
  showIdentifier();
  return h(
    "div",
    { class: "card" },
    h("div", { class: "card-head" }, h("h2", null, "Subscribe"), h("span", { class: "muted" }, `as ${store.principal.sub} · ${store.principal.account_id}`)),
    h("div", { class: "subscribe-row" }, inputs.length ? inputs : h("p", { class: "muted" }, "This channel takes no params."), button),
    h("div", { class: "row small" }, h("span", { class: "muted" }, "identifier"), identifier),
    issues,
  );
}

function violationList(title: string, violations: Violation[], kind: "local" | "server"): HTMLElement {
  return h(
    "div",
    { class: `violations violations-${kind}` },
    h("div", { class: "violations-title" }, title),
    h("ul", null, violations.map((v) => h("li", { class: "violation" }, h("code", { class: "pointer" }, v.path || "/"), h("span", null, v.message)))),
  );
}

function publishCard(store: Store, c: ChannelDoc): HTMLElement {
  if (c.events.length === 0) return h("div", { class: "card" }, h("div", { class: "card-head" }, h("h2", null, "Publish")), h("p", { class: "muted" }, "This channel declares no events."));
  const publishable = c.events.filter((e) => !c.on_subscribe.includes(e.name));
  let event: EventDoc = publishable[0] ?? c.events[0];
  const editor = h("textarea", { class: "editor", id: "publish-payload", spellcheck: "false", rows: 12, "aria-label": "payload JSON", oninput: () => check() });
  const local = h("div", { class: "local-check", id: "local-issues" });
  const result = h("div", { class: "publish-result", id: "publish-result" });
  const button = h("button", { class: "primary", id: "publish-button", onclick: () => void send() }, "Publish");
  const select = h(
    "select",
    {
      id: "publish-event",
      onchange: (e: Event) => {
        event = c.events.find((x) => x.name === (e.target as HTMLSelectElement).value) ?? event;
        useExample();
      },
    },
    c.events.map((e) => h("option", { value: e.name, selected: e === event }, e.name)),
  );
  const targets = h("div", { class: "targets", id: "publish-targets" });
  let payload: unknown = undefined;
  const check = () => {
    try {
      payload = JSON.parse(editor.value);
    } catch (e) {
      payload = undefined;
      fill(local, h("span", { class: "status-bad" }, "✗ not JSON: "), (e as Error).message);
      button.textContent = "Publish";
      button.disabled = true;
      return;
    }
    button.disabled = false;
    const problems = validate(event.payload, payload, "/payload");
    if (problems.length === 0) {
      fill(local, h("span", { class: "status-ok" }, "✓ valid"), ` against the schema of ${event.name}, checked in the page`);
      button.textContent = "Publish";
      button.classList.remove("warn");
    } else {
      fill(local, violationList(`✗ ${problems.length} problem${problems.length > 1 ? "s" : ""} found in the page`, problems, "local"));
      button.textContent = "Publish anyway";
      button.classList.add("warn");
    }
  };
  const useExample = () => {
    editor.value = JSON.stringify(aimedExample(c, event, paramsOf(store, c), store.principal), null, 2);
    fill(targets, event.publish_to.map(template));
    fill(result);
    check();
  };
  const send = async () => {
    if (payload === undefined) return;
    const key = store.info.publisher_key ?? store.api.key;
    button.disabled = true;
    fill(result, h("span", { class: "muted" }, "publishing…"));
    const saved = store.api.key;
    store.api.key = key;
    const answer = await store.api.post("/broadcast", { channel: c.name, event: event.name, payload }).finally(() => {
      store.api.key = saved;
      button.disabled = false;
    });
    const ok = answer.status >= 200 && answer.status < 300;
    const body = answer.body;
    if (ok) {
      const streams = (body.streams as string[]) ?? [];
      fill(
        result,
        h("span", { class: "pill pill-ok" }, String(answer.status)),
        h("span", null, ` published to ${streams.length} stream${streams.length === 1 ? "" : "s"} · ${String(body.deliveries)} deliver${body.deliveries === 1 ? "y" : "ies"}`),
        h("div", { class: "chips" }, streams.map((s) => h("code", { class: "chip" }, s))),
      );
    } else {
      const errors = (body.errors as Violation[] | undefined) ?? [];
      fill(
        result,
        h("span", { class: "pill pill-bad" }, String(answer.status)),
        h("span", null, " ", h("code", null, String(body.error ?? "error")), ` ${String(body.message ?? "")}`),
        errors.length ? violationList(`the server's ${answer.status}: nothing was published`, errors, "server") : null,
      );
    }
  };
  useExample();
  return h(
    "div",
    { class: "card" },
    h("div", { class: "card-head" }, h("h2", null, "Publish"), h("span", { class: "muted" }, "POST /broadcast")),
    h(
      "div",
      { class: "publish-head" },
      h("label", { class: "field" }, h("span", { class: "field-label" }, "event"), select),
      h("div", { class: "field grow" }, h("span", { class: "field-label" }, "fans out to"), targets),
      h("button", { class: "ghost", title: "Reset to the event's example, aimed at the subscribe form's params", onclick: () => useExample() }, "Reset to example"),
    ),
    editor,
    h("div", { class: "publish-foot" }, h("div", { class: "publish-checks" }, local, result), button),
  );
}

function eventDoc(store: Store, c: ChannelDoc, e: EventDoc): HTMLElement {
  return collapsible(
    [h("code", { class: "event-name" }, e.name), e.resource ? h("span", { class: "tag" }, e.resource.type) : null, c.on_subscribe.includes(e.name) ? h("span", { class: "tag", title: "sent right after confirm_subscription" }, "on subscribe") : null, h("span", { class: "summary-desc" }, e.description)],
    () => [
      h("div", { class: "row small" }, h("span", { class: "muted" }, "publish to"), e.publish_to.map(template)),
      h("div", { class: "split" }, h("div", null, h("h4", null, "Payload schema"), jsonView(e.payload)), h("div", null, h("h4", null, "Example"), jsonView(e.example))),
      h(
        "button",
        {
          class: "ghost",
          onclick: () => {
            const select = document.getElementById("publish-event") as HTMLSelectElement | null;
            if (select) {
              select.value = e.name;
              select.dispatchEvent(new Event("change"));
              select.scrollIntoView({ block: "center", behavior: "smooth" });
            }
          },
        },
        `Publish ${e.name}…`,
      ),
      h("span", { class: "muted small" }, ` the example is aimed at ${shortName(c.name)}'s subscribe form (${store.principal.account_id})`),
    ],
  );
}

function actionDoc(a: ActionDoc): HTMLElement {
  const behaviour = a.behaviour.relay
    ? `relays as ${a.behaviour.relay.event}${a.behaviour.relay.exclude_sender ? ", not to the sender" : ""}`
    : `forwards to the backend ${a.behaviour.forward?.path || "/"}`;
  return collapsible([h("code", { class: "event-name" }, a.name), h("span", { class: "tag" }, a.behaviour.relay ? "relay" : "forward"), h("span", { class: "summary-desc" }, a.description)], () => [
    h("p", { class: "muted" }, behaviour, a.errors.length ? " · errors: " : null, a.errors.map((e) => h("code", { class: "chip" }, e))),
    h("div", { class: "split" }, h("div", null, h("h4", null, "Request schema"), jsonView(a.request)), h("div", null, h("h4", null, "Example request"), jsonView(a.request_example))),
    a.reply ? h("div", null, h("h4", null, "Reply schema"), jsonView(a.reply)) : null,
  ]);
}
