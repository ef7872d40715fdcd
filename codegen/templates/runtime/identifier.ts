// Subscription identifiers: `{"channel": ..., ...params}` with sorted keys, so the same
// channel and params always give the same string (and the same string as @anycable/web).

/** JSON with the keys of every object sorted and `undefined` members left out. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => (v === undefined ? "null" : stableStringify(v))).join(",")}]`;
  }
  const obj = value as { readonly [key: string]: unknown };
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(",")}}`;
}

/** The identifier of a subscription to `channel` with `params`: the key subscriptions are shared by. */
export function canonicalIdentifier(channel: string, params: object): string {
  return stableStringify({ ...params, channel });
}
