/**
 * Sessions over testkit's real servers (oidc-provider and the MCP SDK server), closed after each
 * test: the helpers the session tests share.
 */
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterEach } from "vitest";
import { createSession, type Session, type SessionOptions } from "../../src/index.js";
import type { CredentialStoreService } from "../../src/services/credential-store.js";

export const redirectUri = "http://127.0.0.1:33418/callback";

/** Run after each test, last first. */
export const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export const kitWith = async (options: TestkitOptions = {}) => {
  const kit = await startTestkit(options);
  cleanups.push(() => kit.close());
  return kit;
};

/** A session on the kit's MCP server, its user the kit's headless user. */
export const open = async (
  kit: Testkit,
  store: CredentialStoreService,
  extra: Partial<SessionOptions> = {},
) => {
  const session = await createSession({
    serverUrl: kit.mcpUrl,
    store,
    client: { clientName: "t", redirectUris: [redirectUri] },
    userAgent: (prompt) => kit.user.authorize(prompt.url),
    ...extra,
  });
  cleanups.push(() => session.close());
  return session;
};

/** A `tools/call` of `tool` through the session. */
export const call = (session: Session, url: string, tool = "echo") =>
  session.fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: tool, arguments: { text: "x" } },
    }),
  });

/** The session record the store holds for `url`, as text. */
export const storedRecord = async (store: CredentialStoreService, url: string) =>
  Option.getOrUndefined(await Effect.runPromise(store.loadSession(url)));
