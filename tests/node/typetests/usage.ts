// A consumer of the generated package, compiled with `tsc --strict` against its .d.ts
// (tests/tests/node_ts_client.rs). Every `@ts-expect-error` line must be a compile error:
// tsc reports an unused directive (TS2578) otherwise, and the Rust test also checks that
// without the directives each of those lines fails.

import { ActionError, CableClientError, QueueFullError, createClient } from "@cableway/client";
import type { AiConversation, AiOrchestration, BuiltinActionError, ConnectionStatus, WebSocketConstructor } from "@cableway/client";
import { CableProvider, useAiConversationChannel, useAiOrchestrationChannel, useCable, useRalphLoopChannel, useWebSocket, useWorkflowExecution } from "@cableway/client/react";

declare const WebSocketImpl: WebSocketConstructor;

const client = createClient({ url: "ws://localhost/cable", token: async ({ refresh }) => (refresh ? "fresh" : "first"), WebSocket: WebSocketImpl, autoConnect: false });
const status: ConnectionStatus = client.status;
void status;

// Typed receipt: payloads and envelopes per event; `onMessage` switches exhaustively.
const run = client.aiOrchestration.subscribe(
  { type: "workflow_run", id: "run-1" },
  {
    "workflow.run.status.changed": (payload, envelope) => {
      const s: AiOrchestration.Events["workflow.run.status.changed"]["workflow_run"]["status"] = payload.workflow_run.status;
      const name: "workflow.run.status.changed" = envelope.event;
      void s;
      void name;
    },
    onMessage: (envelope) => {
      switch (envelope.event) {
        case "agent.created": {
          const agentName: string = envelope.payload.name;
          void agentName;
          break;
        }
        // @ts-expect-error: unknown event name in a switch over the envelope union
        case "workflow.run.exploded":
          break;
        default:
          break;
      }
    },
    onUnknown: (message, info) => {
      const event: string | null = info.event;
      void event;
      void message;
    },
    onResync: ({ reason }) => {
      const r: "history_rejected" | "no_history" = reason;
      void r;
    },
  },
);
run.unsubscribe();

// Ids are strings or, as Rails frontends send them, integers (the server reads 42 as "42").
client.aiOrchestration.subscribe({ type: "workflow_run", id: 42 });
// @ts-expect-error: wrong param type (`id` is a string or a number)
client.aiOrchestration.subscribe({ type: "workflow_run", id: true });
// @ts-expect-error: wrong param type (`type` is an enum)
client.aiOrchestration.subscribe({ type: "workflow_runs", id: "x" });
// @ts-expect-error: wrong param type (a required param is missing)
client.aiConversation.subscribe({});

client.aiOrchestration.subscribe(
  { type: "workflow", id: "w" },
  {
    // @ts-expect-error: unknown event name
    "workflow.run.exploded": () => {},
  },
);

client.aiOrchestration.subscribe(
  { type: "workflow", id: "w" },
  {
    "workflow.run.created": (payload) => {
      // @ts-expect-error: reading a payload field that does not exist
      void payload.workflow_run.no_such_field;
    },
  },
);

client.notification.subscribe(
  { account_id: "a" },
  {
    new_notification: (payload) => {
      const title: string = payload.title;
      void title;
      // @ts-expect-error: reading a payload field that does not exist
      void payload.body;
    },
  },
);

// Relayed typing: the payload says who is typing and where.
client.aiConversation.subscribe({ conversation_id: 12 }, {
  typing_indicator: (p) => {
    const who: string = p.user_id;
    const where: string = p.conversation_id;
    void who;
    void where;
  },
});

// Status on subscribe, or the declared notice that it is unavailable.
client.subscription.subscribe({ account_id: "acc1" }, {
  "subscription.status": (p) => void p.subscription,
  "subscription.status_unavailable": (p) => {
    const code: string = p.error.code;
    void code;
  },
});

// Actions: typed request, reply and error codes.
async function chat(): Promise<void> {
  const sub: AiConversation.Subscription = client.aiConversation.subscribe({ conversation_id: "c1" });
  const reply = await sub.perform("send_message", { content: "hi" });
  const queued: boolean = reply.ai_response_queued;
  void queued;
  const relayed: null = await sub.perform("typing_indicator", { conversation_id: "c1", status: "typing" });
  void relayed;
  // The seed's `{status}`: who and where are the server's.
  await sub.perform("typing_indicator", { status: "stopped" });
  // @ts-expect-error: `user_id` is stamped by the server, a client cannot send it
  await sub.perform("typing_indicator", { status: "typing", user_id: "someone-else" });

  // @ts-expect-error: wrong action payload (`content` is a string)
  await sub.perform("send_message", { content: 42 });
  // @ts-expect-error: wrong action payload (missing `content`)
  await sub.perform("send_message", {});
  // @ts-expect-error: wrong action payload (`status` is typing | stopped)
  await sub.perform("typing_indicator", { conversation_id: "c1", status: "sleeping" });
  // @ts-expect-error: unknown action
  await sub.perform("delete_everything", {});

  const result = await sub.tryPerform("send_message", { content: "x" });
  if (result.ok) {
    const id: string = result.data.message.id;
    void id;
  } else if (result.error instanceof ActionError) {
    const code: "conversation_closed" | "rate_limited" | "content_rejected" | BuiltinActionError = result.error.code;
    void code;
  } else {
    const code: CableClientError["code"] = result.error.code;
    void code;
  }
  try {
    await sub.perform("send_message", { content: "y" });
  } catch (e) {
    if (e instanceof QueueFullError) {
      const limit: number = e.limit;
      void limit;
    }
  }
}
void chat;

// React: provider, status and channel hooks.
function Panel(): null {
  const { state } = useCable();
  const s: "idle" | "connecting" | "connected" | "reconnecting" | "closed" = state;
  void s;
  const conv = useAiConversationChannel({ conversation_id: "c1" }, { message_created: (m) => void m.content });
  void conv.perform("send_message", { content: "from a hook" });
  // @ts-expect-error: wrong action payload through a hook
  void conv.perform("send_message", { text: "no" });
  useAiOrchestrationChannel(null, {});
  useAiOrchestrationChannel({ type: "workflow", id: 7 }, {});
  // @ts-expect-error: wrong param type in a hook
  useAiOrchestrationChannel({ type: "workflow", id: [7] }, {});
  return null;
}
void Panel;
void CableProvider;

// The seed frontend's API: useWebSocket() typed by channel name, and the schema's named hooks.
function SeedComponent(): null {
  const { isConnected, subscribe, sendMessage } = useWebSocket();
  const connected: boolean = isConnected;
  void connected;
  const unsubscribe: () => void = subscribe({
    channel: "MissionChannel",
    params: { type: "mission", id: "m-1" },
    onMessage: (message) => {
      switch (message.event) {
        case "status_changed": {
          const id: string = message.payload.mission.id;
          void id;
          break;
        }
        // @ts-expect-error: a handler for another channel's event (NotificationChannel's)
        case "new_notification":
          break;
        default:
          break;
      }
    },
    onError: (error) => {
      const code: CableClientError["code"] = error.code;
      void code;
    },
  });
  unsubscribe();
  subscribe({
    channel: "NotificationChannel",
    params: { account_id: "acc1" },
    // @ts-expect-error: a handler for another channel's event (MissionChannel's payload field on a notification)
    onMessage: (message) => void message.payload.mission,
  });
  // @ts-expect-error: wrong param type through useWebSocket (`type` is mission | account)
  subscribe({ channel: "MissionChannel", params: { type: "missions", id: "m-1" } });
  // @ts-expect-error: wrong param type through useWebSocket (another channel's params)
  subscribe({ channel: "MissionChannel", params: { account_id: "acc1" } });
  // @ts-expect-error: unknown channel name
  subscribe({ channel: "MyChannel", params: {} });
  void sendMessage({ channel: "MissionChannel", params: { type: "mission", id: "m-1" }, action: "resolve_approval", data: { approval_id: "a1", decision: "approved" } }).then((reply) => {
    const id: string = reply.id;
    void id;
  });
  // @ts-expect-error: wrong action payload through sendMessage (missing `decision`)
  void sendMessage({ channel: "MissionChannel", params: { type: "mission", id: "m-1" }, action: "resolve_approval", data: { approval_id: "a1" } });
  // @ts-expect-error: wrong action payload through sendMessage (an action of another channel)
  void sendMessage({ channel: "MissionChannel", params: { type: "mission", id: "m-1" }, action: "send_message", data: { content: "hi" } });

  useRalphLoopChannel({ id: "loop-1" }, { "ralph_loop.progress": (p) => void p.current_iteration });
  // @ts-expect-error: wrong param type in a named hook (it fixes `type` itself)
  useRalphLoopChannel({ id: "loop-1", type: "workflow" });
  useWorkflowExecution({ id: 7 }, { "workflow.run.status.changed": (p) => void p.workflow_run.status });
  return null;
}
void SeedComponent;
