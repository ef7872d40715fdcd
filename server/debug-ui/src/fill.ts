// Aims an example payload at a subscription: where an event's fan-out template
// (`notifications:{payload.account_id}`) has the shape of one of the channel's stream
// templates (`notifications:{params.account_id}`), each payload field takes the value the
// subscription's params (or the principal's claims) give that place, so the publication
// reaches that subscription.
import type { ChannelDoc, EventDoc, Principal } from "./api";
import { setAt } from "./json";

type Part = { lit: string } | { ref: string[] };

export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{[^}]+\})/)) {
    if (piece === "") continue;
    if (piece.startsWith("{") && piece.endsWith("}")) parts.push({ ref: piece.slice(1, -1).split(".") });
    else parts.push({ lit: piece });
  }
  return parts;
}

function sameShape(a: Part[], b: Part[]): boolean {
  return a.length === b.length && a.every((p, i) => ("lit" in p ? "lit" in b[i] && (b[i] as { lit: string }).lit === p.lit : "ref" in b[i]));
}

export function aimedExample(channel: ChannelDoc, event: EventDoc, params: Record<string, unknown>, principal: Principal): unknown {
  const example = structuredClone(event.example);
  if (typeof example !== "object" || example === null) return example;
  const streams = channel.streams.map(parseTemplate);
  for (const template of event.publish_to.map(parseTemplate)) {
    const stream = streams.find((s) => sameShape(s, template));
    if (!stream) continue;
    template.forEach((part, i) => {
      const source = stream[i];
      if (!("ref" in part) || !("ref" in source) || part.ref[0] !== "payload") return;
      const [root, key] = source.ref;
      const value = root === "params" ? params[key] : root === "claims" ? (principal as unknown as Record<string, unknown>)[key] : undefined;
      if (value !== undefined && value !== "") setAt(example as Record<string, unknown>, part.ref.slice(1), value);
    });
  }
  return example;
}
