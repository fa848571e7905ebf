/**
 * The MCP client `call`, `tools` and the demo talk through: @authchart/mcp's `connect` with the
 * command's session, so that every HTTP request of the SDK client goes through the statechart (a
 * 401 or a 403 insufficient_scope is answered there: refresh, step-up). Its failures arrive typed
 * (authchart's AuthchartError, McpConnectFailed); the SDK's JSON-RPC errors of a request made
 * afterwards (an unknown tool, invalid arguments) become McpRequestFailed here.
 */
import { type AuthchartError, asAuthchartError, type Session } from "@authchart/core";
import { scrubText } from "@authchart/core/internals";
import type { McpConnectFailed } from "@authchart/mcp";
import { Effect } from "effect";
import { McpRequestFailed } from "./errors.js";
import { version } from "./version.js";

/** What the CLI announces to MCP servers in `initialize`. */
export const CLIENT_INFO = { name: "authchart", version } as const;

type McpFailure = AuthchartError | McpConnectFailed | McpRequestFailed;

/**
 * The MCP client and its SDK, loaded the first time a command talks MCP: `status`, `login`,
 * `probe`, `trace` and `--help` start without loading the SDK (and its schema libraries).
 */
interface LoadedMcp {
  readonly mcp: typeof import("@authchart/mcp");
  readonly StreamableHTTPError: typeof import("@modelcontextprotocol/sdk/client/streamableHttp.js").StreamableHTTPError;
  readonly McpError: typeof import("@modelcontextprotocol/sdk/types.js").McpError;
}
let loaded: LoadedMcp | undefined;
const loadMcp = async (): Promise<LoadedMcp> => {
  const [mcp, transport, types] = await Promise.all([
    import("@authchart/mcp"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  loaded = { mcp, StreamableHTTPError: transport.StreamableHTTPError, McpError: types.McpError };
  return loaded;
};

/** A failure of an MCP operation as a typed error: authchart's as is, the SDK's described. */
export const mcpFailure = (operation: string, error: unknown): McpFailure => {
  // Nothing of MCP ran before it was loaded: any other failure is described as it is.
  if (loaded === undefined) return asAuthchartError(operation, error);
  const { mcp, McpError, StreamableHTTPError } = loaded;
  if (error instanceof mcp.McpConnectFailed) return error;
  const typed = mcp.authchartErrorOf(error);
  if (typed !== undefined) return typed;
  if (error instanceof McpError || error instanceof StreamableHTTPError)
    return new McpRequestFailed({
      operation,
      ...(typeof error.code === "number" ? { code: error.code } : {}),
      reason: scrubText(error.message),
    });
  return asAuthchartError(operation, error);
};

export const mcpAttempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (error) => mcpFailure(operation, error) });

/**
 * An MCP client connected through `session`, closed with the scope (the session is not: it was
 * given). The connect itself is interruptible — Ctrl-C while a server never answers aborts it
 * through its signal — and the finalizer is added in the same uninterruptible step that receives
 * the connection, so a connection is never left open.
 */
export const connectMcp = (session: Session, serverUrl: string) =>
  Effect.uninterruptibleMask((restore) =>
    restore(
      Effect.tryPromise({
        try: async (signal) =>
          (await loadMcp()).mcp.connect(serverUrl, { session, clientInfo: CLIENT_INFO, signal }),
        catch: (error) => mcpFailure("connecting", error),
      }),
    ).pipe(
      Effect.tap((connection) =>
        Effect.addFinalizer(() => Effect.promise(() => connection.close().catch(() => undefined))),
      ),
      Effect.map((connection) => connection.client),
    ),
  );
