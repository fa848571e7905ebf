/**
 * @authchart/mcp — an MCP client of @modelcontextprotocol/sdk 1.x whose OAuth is an authchart
 * session: `connect(url, options)` returns a connected `Client`, over Streamable HTTP or the
 * deprecated HTTP+SSE transport, and `transportOptions(session)` authorizes a transport you make
 * yourself. For @modelcontextprotocol/client 2.x, import `@authchart/mcp/v2`.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Connection, type ConnectOptions, connectWith, type SdkAdapter } from "./connect.js";
import { asHttpStatus } from "./shared.js";

export * from "./shared.js";

/** A connected client of this SDK generation, its session and transport. */
export type McpConnection = Connection<Client>;

const sdk1: SdkAdapter<Client> = {
  open: (kind, url, fetch, clientInfo) => {
    const client = new Client(clientInfo);
    // No authProvider: the session's fetch does the OAuth.
    const transport =
      kind === "sse"
        ? new SSEClientTransport(url, { fetch })
        : new StreamableHTTPClientTransport(url, { fetch });
    return {
      client,
      connect: (options) => client.connect(transport, options),
      close: () => client.close(),
    };
  },
  // The transports' `code` is the HTTP status, or -1 for a failure that has none (an answer of
  // the wrong content type): only 100–599 is a status (RFC 9110 §15).
  httpStatus: (error) =>
    error instanceof StreamableHTTPError || error instanceof SseError
      ? asHttpStatus(error.code)
      : undefined,
};

/**
 * Connects a @modelcontextprotocol/sdk 1.x `Client` to the MCP server at `url`, through an
 * authchart session (created from `options`, or `options.session`). Rejects with the session's
 * typed error (`_tag`: AuthorizationDenied, ScopeDeclined, …) when the authorization fails, and
 * with McpConnectFailed when the server does not answer as an MCP server.
 */
export const connect = (url: string, options: ConnectOptions): Promise<McpConnection> =>
  connectWith(sdk1, url, options);
