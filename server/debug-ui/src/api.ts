// What the server tells the page (/debug/api/*), and how it is asked: outside --dev every
// call carries the publisher key the user entered, as a Bearer header (never a cookie).

export type JsonSchema = Record<string, unknown>;

export interface Info {
  version: string;
  schema_version: string;
  dev: boolean;
  publisher_key: string | null;
  metrics_listener: boolean;
}

export interface Principal {
  sub: string;
  account_id: string;
  permissions: string[];
  kind: string;
}

export interface EventDoc {
  name: string;
  description: string;
  payload: JsonSchema;
  example: unknown;
  publish_to: string[];
  resource: { type: string; id: string } | null;
}

export interface ActionDoc {
  name: string;
  description: string;
  request: JsonSchema;
  request_example: unknown;
  reply: JsonSchema | null;
  errors: string[];
  behaviour: { relay?: { event: string; exclude_sender: boolean }; forward?: { path: string } };
}

export interface ChannelDoc {
  name: string;
  description: string;
  experimental: boolean;
  params: JsonSchema;
  params_example: Record<string, unknown>;
  streams: string[];
  rule: unknown;
  history: { size: number; ttl_seconds: number };
  on_subscribe: string[];
  events: EventDoc[];
  actions: ActionDoc[];
}

export interface SchemaDoc {
  package: string;
  schema_version: string;
  principal: Principal;
  envelope: { name: string; fill: string }[];
  channels: ChannelDoc[];
}

export class Unauthorized extends Error {}

const KEY = "cableway.publisherKey";

export class Api {
  key: string | null = sessionStorage.getItem(KEY);

  remember(key: string): void {
    this.key = key;
    sessionStorage.setItem(KEY, key);
  }

  forget(): void {
    this.key = null;
    sessionStorage.removeItem(KEY);
  }

  private headers(json: boolean): HeadersInit {
    const headers: Record<string, string> = {};
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    if (json) headers["Content-Type"] = "application/json";
    return headers;
  }

  async get(path: string): Promise<Response> {
    const response = await fetch(path, { headers: this.headers(false), cache: "no-store", credentials: "omit" });
    if (response.status === 401) throw new Unauthorized();
    return response;
  }

  async json<T>(path: string): Promise<T> {
    return (await this.get(path)).json() as Promise<T>;
  }

  /** POSTs JSON; the answer whatever its status (a 422 is an answer to show). */
  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(path, { method: "POST", headers: this.headers(true), body: JSON.stringify(body), credentials: "omit" });
    const text = await response.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { error: "not_json", message: text };
    }
    return { status: response.status, body: parsed };
  }
}
