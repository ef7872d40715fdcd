// The top bar: what this server is, the live figures with a minute of history each, and
// the theme switch.
import { h, fill } from "./dom";
import { rate, type Figures } from "./prom";
import type { Store } from "./store";

const THEME = "cableway.theme";
type Theme = "auto" | "light" | "dark";

export function applyTheme(theme: Theme): void {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function storedTheme(): Theme {
  const t = localStorage.getItem(THEME);
  return t === "light" || t === "dark" ? t : "auto";
}

function sparkline(values: number[]): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 60 18");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark");
  const max = Math.max(1, ...values);
  const points = values.map((v, i) => `${(60 * i) / Math.max(1, values.length - 1)},${17 - (16 * v) / max}`);
  if (points.length > 1) {
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", `0,18 ${points.join(" ")} 60,18`);
    area.setAttribute("class", "spark-area");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("class", "spark-line");
    svg.append(area, line);
  }
  return svg;
}

function format(n: number, decimals: number): string {
  if (decimals === 0) return Math.round(n).toLocaleString("en-US");
  return n < 10 ? n.toFixed(decimals) : Math.round(n).toLocaleString("en-US");
}

export function renderTopbar(store: Store, root: HTMLElement): void {
  const figures = h("div", { class: "figures", id: "figures" });
  let theme = storedTheme();
  const themeButton = h("button", { class: "icon-button", title: "Theme: follows the system", onclick: () => cycle() });
  const cycle = () => {
    theme = theme === "auto" ? "dark" : theme === "dark" ? "light" : "auto";
    localStorage.setItem(THEME, theme);
    applyTheme(theme);
    label();
  };
  const label = () => {
    themeButton.textContent = theme === "auto" ? "◐ Auto" : theme === "dark" ? "● Dark" : "○ Light";
    themeButton.title = `Theme: ${theme}`;
  };
  label();
  const { info } = store;
  fill(
    root,
    h(
      "div",
      { class: "brand" },
      h("span", { class: "logo", "aria-hidden": "true" }),
      h("span", { class: "brand-name" }, "Cableway"),
      h("span", { class: "brand-meta" }, `v${info.version} · schema ${info.schema_version} · ${store.schema.channels.length} channels`),
      info.dev ? h("span", { class: "badge badge-dev", title: "--dev: generated secrets, dev tokens, any Origin" }, "dev") : null,
    ),
    figures,
    themeButton,
  );

  const draw = () => {
    const samples = store.history;
    const last = samples[samples.length - 1];
    const rates = (pick: (f: Figures) => number) => samples.map((f, i) => rate(samples[i - 1], f, pick));
    const tiles: [string, string, number[], string][] = [
      ["Connections", "connections", samples.map((f) => f.connections), "0"],
      ["Streams", "streams", samples.map((f) => f.streams), "0"],
      ["Subscriptions", "subscriptions", samples.map((f) => f.subscriptions), "0"],
      ["Publications/s", "publications", rates((f) => f.publications), "1"],
      ["Deliveries/s", "deliveries", rates((f) => f.deliveries), "1"],
    ];
    fill(
      figures,
      tiles.map(([title, key, values, decimals]) =>
        h(
          "div",
          { class: "figure", "data-figure": key },
          h("div", { class: "figure-label" }, title),
          h("div", { class: "figure-row" }, h("span", { class: "figure-value" }, last ? format(values[values.length - 1] ?? 0, Number(decimals)) : "–"), sparkline(values.slice(-60))),
        ),
      ),
    );
  };
  draw();
  store.on("figures", draw);
}
