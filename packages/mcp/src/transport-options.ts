/**
 * For applications that make their own MCP transport: the options that route every request of
 * `StreamableHTTPClientTransport` or `SSEClientTransport` — of @modelcontextprotocol/sdk 1.x or
 * @modelcontextprotocol/client 2.x — through the session's authorized fetch. Both SDKs' SSE
 * transports open their EventSource stream with this `fetch` too (unless `eventSourceInit.fetch`
 * says otherwise), so the GET that opens the stream is authorized like the POSTs.
 *
 * Do not add the SDK's `authProvider` beside it: the session does the OAuth (401, 403
 * insufficient_scope, refresh), and the SDK never sees a challenge.
 */
import type { Session } from "@authchart/core";

export const transportOptions = (session: Session): { fetch: typeof globalThis.fetch } => ({
  fetch: session.fetch,
});
