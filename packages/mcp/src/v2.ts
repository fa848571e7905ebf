/**
 * @authchart/mcp/v2 — the same `connect(url, options)` for @modelcontextprotocol/client 2.x: a
 * connected 2.x `Client` over Streamable HTTP or the deprecated HTTP+SSE transport, whose every
 * request goes through an authchart session. This module imports the 2.x package only; the root
 * export is for @modelcontextprotocol/sdk 1.x.
 */
import {
  Client,
  SdkHttpError,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { type Connection, type ConnectOptions, connectWith, type SdkAdapter } from "./connect.js";
import { asHttpStatus } from "./shared.js";

export * from "./shared.js";

/** A connected client of this SDK generation, its session and transport. */
export type McpConnection = Connection<Client>;

const sdk2: SdkAdapter<Client> = {
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
  // Only 100–599 is a status (RFC 9110 §15): the SDKs use -1 for a failure that has none.
  httpStatus: (error) => {
    if (SdkHttpError.isInstance(error)) return asHttpStatus(error.status);
    if (SseError.isInstance(error)) return asHttpStatus(error.code);
    return undefined;
  },
};

/**
 * Connects a @modelcontextprotocol/client 2.x `Client` to the MCP server at `url`, through an
 * authchart session (created from `options`, or `options.session`). Rejects with the session's
 * typed error (`_tag`: AuthorizationDenied, ScopeDeclined, …) when the authorization fails, and
 * with McpConnectFailed when the server does not answer as an MCP server.
 */
export const connect = (url: string, options: ConnectOptions): Promise<McpConnection> =>
  connectWith(sdk2, url, options);
