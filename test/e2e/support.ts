/** Shared by the session e2e tests: an MCP SDK client over a session's authorized fetch. */
import {
  CredentialStore,
  type CredentialStoreService,
  createSession,
  type Session,
  type SessionOptions,
} from "@authchart/core";
import { PersistedSession } from "@authchart/core/internals";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Effect, Redacted, Schema } from "effect";

export const redirectUri = "http://127.0.0.1:33418/callback";

export const connect = async (session: Session, serverUrl: string) => {
  const client = new Client({ name: "authchart-e2e", version: "0.1.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: session.fetch }),
  );
  return client;
};

export const toolText = (result: { content?: unknown }) =>
  ((result.content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? "").join("");

/** A JSON-RPC tools/call straight through the session's fetch (no SDK client state). */
export const callTool = async (
  session: Session,
  serverUrl: string,
  name: string,
  args: Record<string, unknown> = {},
  id = 1,
) => {
  const response = await session.fetch(serverUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: args },
    }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { result?: { content?: unknown }; error?: unknown },
  };
};

export const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));

/** A session over a store seeded with a valid token for `serverUrl` (no AS needed). */
export const seeded = async (
  serverUrl: string,
  accessToken: string,
  options: Partial<SessionOptions> = {},
) => {
  const store = memoryStore();
  const now = Date.now();
  const key = { resource: serverUrl, issuer: "https://as.example", clientId: "client-1" };
  await Effect.runPromise(
    store.saveTokens({
      key,
      accessToken: Redacted.make(accessToken),
      tokenType: "Bearer",
      scopes: [],
      obtainedAt: now,
      version: 1,
      expiresAt: now + 3_600_000,
    }),
  );
  const persisted = Schema.encodeSync(PersistedSession)({
    format: 1,
    serverUrl,
    savedAt: now,
    token: {
      ...key,
      version: 1,
      scopes: [],
      expiresAt: now + 3_600_000,
      hasRefreshToken: false,
      obtainedAt: now,
      obtainedBy: "authorization",
    },
  });
  await Effect.runPromise(store.saveSession(serverUrl, JSON.stringify(persisted)));
  const session = await createSession({
    serverUrl,
    store,
    client: { clientName: "t", redirectUris: [redirectUri] },
    ...options,
  });
  return session;
};
