/**
 * The MCP client `call` and `tools` talk through: an SDK client whose every HTTP request goes
 * through the authchart session (so a 401 or a 403 insufficient_scope is answered by the
 * statechart: refresh, step-up). The SDK's own failures become typed errors here; the session's
 * arrive as they are (authchart's AuthchartError).
 */
import { type AuthchartError, asAuthchartError, type Session, scrubText } from "@authchart/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { Effect } from "effect";
import { McpRequestFailed } from "./errors.js";

export const CLIENT_INFO = { name: "authchart", version: "0.1.0" } as const;

/** A failure of an MCP operation as a typed error: the session's as is, the SDK's described. */
export const mcpFailure = (
  operation: string,
  error: unknown,
): AuthchartError | McpRequestFailed => {
  if (error instanceof McpError)
    return new McpRequestFailed({ operation, code: error.code, reason: scrubText(error.message) });
  if (error instanceof StreamableHTTPError)
    return new McpRequestFailed({
      operation,
      code: error.code,
      reason: scrubText(error.message),
    });
  return asAuthchartError(operation, error);
};

export const mcpAttempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (error) => mcpFailure(operation, error) });

/** An MCP client connected through `session`, closed with the scope. */
export const connectMcp = (session: Session, serverUrl: string) =>
  Effect.acquireRelease(
    mcpAttempt("connecting", async () => {
      const client = new Client(CLIENT_INFO);
      await client.connect(
        new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: session.fetch }),
      );
      return client;
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined)),
  );
