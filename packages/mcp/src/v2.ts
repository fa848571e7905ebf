/**
 * @authchart/mcp/v2 — the same `connect(url, options)` for @modelcontextprotocol/client 2.x: a
 * connected 2.x `Client` over Streamable HTTP or the deprecated HTTP+SSE transport, whose every
 * request goes through an authchart session. This module imports the 2.x package only; the root
 * export is for @modelcontextprotocol/sdk 1.x.
 */
import type { Session } from "@authchart/core";
import {
  Client,
  SdkHttpError,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { type ConnectOptions, connectWith, type SdkAdapter } from "./connect.js";
import type { McpTransportKind } from "./errors.js";

export type {
  ConnectChoices,
  ConnectOptions,
  GivenSessionOptions,
  NewSessionOptions,
} from "./connect.js";
export {
  authchartErrorOf,
  isAuthchartError,
  McpConnectFailed,
  type McpTransportKind,
} from "./errors.js";
export { transportOptions } from "./transport-options.js";

export interface McpConnection {
  /** Connected (`initialize` done). */
  readonly client: Client;
  readonly session: Session;
  readonly transport: McpTransportKind;
  /** Closes the client, and the session if connect created it. */
  readonly close: () => Promise<void>;
}

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

/** `code` if it is an HTTP status code (100–599, RFC 9110 §15), else undefined. */
const asHttpStatus = (code: unknown): number | undefined =>
  typeof code === "number" && Number.isInteger(code) && code >= 100 && code <= 599
    ? code
    : undefined;

/**
 * Connects a @modelcontextprotocol/client 2.x `Client` to the MCP server at `url`, through an
 * authchart session (created from `options`, or `options.session`). Rejects with the session's
 * typed error (`_tag`: AuthorizationDenied, ScopeDeclined, …) when the authorization fails, and
 * with McpConnectFailed when the server does not answer as an MCP server.
 */
export const connect = (url: string, options: ConnectOptions): Promise<McpConnection> =>
  connectWith(sdk2, url, options);
