/**
 * An agent that uses a protected MCP server through authchart's Promise API:
 * one session per server, its `fetch` handed to the MCP SDK's transport, and the decision trace
 * printed as it happens. `runAgent` is what `npm run demo` runs against real servers on loopback.
 */
import { createSession, type Session, type SessionOptions, type TraceEntry } from "@authchart/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface AgentRun {
  readonly session: Session;
  readonly client: Client;
  readonly call: (tool: string, args?: Record<string, unknown>) => Promise<string>;
  readonly close: () => Promise<void>;
}

/** Connect an MCP SDK client through an authchart session. */
export const connectAgent = async (options: SessionOptions): Promise<AgentRun> => {
  const session = await createSession(options);
  const client = new Client({ name: "authchart-example-agent", version: "0.1.0" });
  // Every request of the MCP client goes through the session: 401 and 403 are handled there.
  await client.connect(
    new StreamableHTTPClientTransport(new URL(options.serverUrl), { fetch: session.fetch }),
  );
  return {
    session,
    client,
    call: async (tool, args = {}) => {
      const result = await client.callTool({ name: tool, arguments: args });
      return (result.content as Array<{ text?: string }>).map((c) => c.text ?? "").join("");
    },
    close: async () => {
      await client.close();
      await session.close();
    },
  };
};

export const formatTrace = (entry: TraceEntry) =>
  `  · ${entry.decision.padEnd(22)} ${entry.reason}`;
