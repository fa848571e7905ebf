/**
 * Failures as authchart's own typed errors, whatever SDK carried them.
 *
 * The session's `fetch` rejects with an AuthchartError (ScopeDeclined, AuthorizationDenied, …,
 * each with its `_tag`). The MCP SDKs pass a rejected fetch on in most places — the Streamable
 * HTTP POST and the SSE message POST rethrow it, and `Client.request` rejects with it — but not
 * everywhere: the SSE transport's stream is an EventSource, which turns a failed fetch into an
 * `error` event with a message string and reconnects, so the SDK rejects `start()` with an
 * `SseError` that has lost the original. `watchFetch` keeps the last typed failure of the fetch
 * for that case; `authchartErrorOf` looks through `cause` chains for the rest.
 */
import type { AuthchartError, Session } from "@authchart/core";
import { displayUrl, scrubText } from "@authchart/core/internals";
import { Schema } from "effect";

/** The two HTTP transports of MCP: Streamable HTTP and the deprecated HTTP+SSE. */
export type McpTransportKind = "streamable-http" | "sse";

/**
 * Connecting failed for a reason that is not the authorization's: the server did not answer as
 * an MCP server over the transport (an HTTP error, a protocol error, an unsupported version).
 * `reason` is the SDK's description, scrubbed of anything token-like.
 */
export class McpConnectFailed extends Schema.TaggedError<McpConnectFailed>()("McpConnectFailed", {
  url: Schema.String,
  transport: Schema.Literal("streamable-http", "sse"),
  status: Schema.optional(Schema.Number),
  reason: Schema.String,
}) {
  override get message() {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`;
    return `could not connect to the MCP server at ${this.url} over ${this.transport}${status}: ${this.reason}`;
  }
}

/** An error of authchart's own: an object with a string `_tag` (Schema.TaggedError). */
export const isAuthchartError = (error: unknown): error is AuthchartError =>
  error instanceof Error &&
  typeof (error as { readonly _tag?: unknown })._tag === "string" &&
  !(error instanceof McpConnectFailed);

/**
 * The AuthchartError behind an SDK's error, if any: the error itself or one of its `cause`s
 * (bounded, cycles ignored).
 */
export const authchartErrorOf = (error: unknown): AuthchartError | undefined => {
  const seen = new Set<unknown>();
  for (let e = error; e !== null && typeof e === "object" && !seen.has(e); ) {
    if (isAuthchartError(e)) return e;
    seen.add(e);
    if (seen.size > 8) return undefined;
    e = (e as { readonly cause?: unknown }).cause;
  }
  return undefined;
};

/** The session's fetch, remembering the last typed failure it rejected with. */
export interface WatchedFetch {
  readonly fetch: typeof globalThis.fetch;
  /** The last AuthchartError since `reset()`. */
  readonly lastError: () => AuthchartError | undefined;
  readonly reset: () => void;
}

export const watchFetch = (session: Session): WatchedFetch => {
  let last: AuthchartError | undefined;
  return {
    fetch: async (input, init) => {
      try {
        return await session.fetch(input, init);
      } catch (error) {
        const typed = authchartErrorOf(error);
        if (typed !== undefined) last = typed;
        throw error;
      }
    },
    lastError: () => last,
    reset: () => {
      last = undefined;
    },
  };
};

/** A failed connect as a typed error: authchart's own when it is behind it, else McpConnectFailed. */
export const connectFailure = (
  error: unknown,
  context: {
    readonly url: string;
    readonly transport: McpTransportKind;
    readonly status: number | undefined;
    readonly watched: WatchedFetch;
  },
): AuthchartError | McpConnectFailed => {
  const typed = authchartErrorOf(error) ?? context.watched.lastError();
  if (typed !== undefined) return typed;
  if (error instanceof McpConnectFailed) return error;
  return new McpConnectFailed({
    url: displayUrl(context.url),
    transport: context.transport,
    ...(context.status === undefined ? {} : { status: context.status }),
    reason:
      error instanceof Error ? scrubText(error.message, 300) : "the connection failed (unknown)",
  });
};
