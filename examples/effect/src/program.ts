/**
 * authchart's Effect API: the session is a scoped service (AuthSession.layer), requests go
 * through `authorizedFetch`, and every failure is a typed AuthchartError in the error channel.
 */
import {
  AuthSession,
  authorizedFetch,
  headlessUserAgent,
  type SessionOptions,
} from "@authchart/core";
import { Effect, Schema } from "effect";

const ToolResult = Schema.Struct({
  result: Schema.Struct({
    content: Schema.Array(
      Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) }),
    ),
  }),
});

/** One MCP tools/call as plain JSON-RPC over the authorized fetch. */
export const callTool = (serverUrl: string, name: string, args: Record<string, unknown>) =>
  Effect.gen(function* () {
    const response = yield* authorizedFetch(serverUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name, arguments: args },
      }),
    });
    const json = yield* Effect.promise(() => response.json());
    const decoded = yield* Schema.decodeUnknown(ToolResult)(json);
    return decoded.result.content.map((c) => c.text ?? "").join("");
  });

/** The whole program: a session for the lifetime of the scope, two tool calls. */
export const program = (options: SessionOptions) =>
  Effect.gen(function* () {
    const first = yield* callTool(options.serverUrl, "echo", { text: "from Effect" });
    const second = yield* callTool(options.serverUrl, "write-note", { text: "a note" });
    return [first, second] as const;
  }).pipe(Effect.provide(AuthSession.layer(options)));

export { headlessUserAgent };
