// Payloads checked in the page with ajv against the event's bundled JSON Schema, reported
// the way the server's 422 reports them: a missing or unexpected property at its own
// pointer, one error for a failed `oneOf` rather than one per branch, and every pointer
// relative to the publication (`/payload/title`).
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { JsonSchema } from "./api";

export interface Violation {
  path: string;
  message: string;
}

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
addFormats(ajv);
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function escape(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function violation(e: ErrorObject, prefix: string): Violation {
  const at = prefix + e.instancePath;
  if (e.keyword === "required") return { path: `${at}/${escape(String(e.params.missingProperty))}`, message: "required property is missing" };
  if (e.keyword === "additionalProperties" || e.keyword === "unevaluatedProperties") {
    const name = String(e.params.additionalProperty ?? e.params.unevaluatedProperty);
    return { path: `${at}/${escape(name)}`, message: "property is not allowed here (the schema declares no such property)" };
  }
  return { path: at, message: e.message ?? e.keyword };
}

/** The violations of `value` against `schema`, with pointers under `prefix`. */
export function validate(schema: JsonSchema, value: unknown, prefix = ""): Violation[] {
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiled.set(schema, check);
  }
  if (check(value)) return [];
  const errors = (check.errors ?? []).filter((e) => !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath));
  const seen = new Set<string>();
  const out: Violation[] = [];
  for (const e of errors) {
    const v = violation(e, prefix);
    const key = `${v.path} ${v.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}
