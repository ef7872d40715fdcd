// The Prometheus text exposition (/debug/api/metrics) read back into series, and the live
// figures the top bar shows, so the page and a Prometheus scraper see the same numbers.

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parse(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

export interface Figures {
  at: number;
  connections: number;
  streams: number;
  subscriptions: number;
  perChannel: Map<string, number>;
  /** Running totals; rates come from two samples. */
  publications: number;
  deliveries: number;
}

export function figures(series: Series[], at: number): Figures {
  const sum = (name: string, keep: (s: Series) => boolean = () => true) => series.filter((s) => s.name === name && keep(s)).reduce((n, s) => n + s.value, 0);
  const perChannel = new Map<string, number>();
  for (const s of series) if (s.name === "websocket_active_subscriptions") perChannel.set(s.labels.channel, s.value);
  return {
    at,
    connections: sum("websocket_active_connections"),
    streams: sum("cableway_streams"),
    subscriptions: sum("websocket_active_subscriptions"),
    perChannel,
    publications: sum("cableway_publications_total", (s) => s.labels.outcome === "delivered"),
    deliveries: sum("cableway_deliveries_total"),
  };
}

/** Per second between two samples (0 for the first, or after a restart reset the totals). */
export function rate(prev: Figures | undefined, next: Figures, pick: (f: Figures) => number): number {
  if (!prev || next.at <= prev.at) return 0;
  const delta = pick(next) - pick(prev);
  return delta < 0 ? 0 : delta / ((next.at - prev.at) / 1000);
}
