// JSON shown as people read it: indented, with keys, strings, numbers and literals told
// apart by colour (spans built as DOM nodes, never as HTML text).
import { h } from "./dom";

const TOKEN = /("(?:\\u[a-fA-F0-9]{4}|\\[^u]|[^\\"])*"(?:\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

export function jsonView(value: unknown, extraClass = ""): HTMLElement {
  const text = JSON.stringify(value, null, 2) ?? "undefined";
  const pre = h("pre", { class: `json ${extraClass}`.trim() });
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) pre.append(text.slice(last, at));
    const token = m[0];
    let kind = "num";
    if (token.startsWith('"')) kind = token.trimEnd().endsWith(":") ? "key" : "str";
    else if (token === "true" || token === "false") kind = "bool";
    else if (token === "null") kind = "null";
    pre.append(h("span", { class: `j-${kind}` }, token));
    last = at + token.length;
  }
  if (last < text.length) pre.append(text.slice(last));
  return pre;
}

/** Sets `value` at a JSON pointer's place inside `doc` (objects are created on the way). */
export function setAt(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = doc;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}
