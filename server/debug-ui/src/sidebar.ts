// The channel list: every channel of the compiled schema, filterable, with its live
// subscription count from the metrics.
import { h, fill } from "./dom";
import { shortName, type Store } from "./store";

export function renderSidebar(store: Store, root: HTMLElement): void {
  const list = h("nav", { class: "channel-list", id: "channel-list" });
  let query = "";
  const search = h("input", {
    class: "search",
    type: "search",
    placeholder: "Filter channels and events",
    "aria-label": "Filter channels and events",
    oninput: (e: Event) => {
      query = (e.target as HTMLInputElement).value.trim().toLowerCase();
      draw();
    },
  });
  fill(root, h("div", { class: "sidebar-head" }, search, h("div", { class: "sidebar-count" }, `${store.schema.channels.length} channels`)), list);

  const draw = () => {
    const live = store.history[store.history.length - 1]?.perChannel;
    const shown = store.schema.channels.filter((c) => query === "" || c.name.toLowerCase().includes(query) || c.events.some((e) => e.name.toLowerCase().includes(query)));
    fill(
      list,
      shown.map((c) => {
        const subs = live?.get(c.name) ?? 0;
        return h(
          "button",
          {
            class: `channel-item${c === store.selected ? " selected" : ""}`,
            "data-channel": c.name,
            title: c.description,
            onclick: () => {
              store.selected = c;
              store.emit("selected");
            },
          },
          h("span", { class: "channel-item-name" }, shortName(c.name)),
          c.experimental ? h("span", { class: "tag tag-exp", title: "experimental" }, "exp") : null,
          subs > 0 ? h("span", { class: "live-count", title: `${subs} active subscription${subs === 1 ? "" : "s"}` }, String(subs)) : null,
        );
      }),
      shown.length === 0 ? h("div", { class: "empty" }, "No channel matches.") : null,
    );
  };
  draw();
  store.on("selected", draw);
  store.on("figures", draw);
}
