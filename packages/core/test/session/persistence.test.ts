/**
 * What a session writes to its store: nothing for a cold session only watched, the full record
 * after a login, deleted by a logout, restored by the next session; every held token revoked.
 */
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { createSession, type Session } from "../../src/index.js";
import {
  CredentialStore,
  type CredentialStoreService,
} from "../../src/services/credential-store.js";

const redirectUri = "http://127.0.0.1:33418/callback";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));
const open = async (k: Testkit, store: CredentialStoreService) => {
  const s = await createSession({
    serverUrl: k.mcpUrl,
    store,
    client: { clientName: "t", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
  });
  cleanups.push(() => s.close());
  return s;
};
const call = (s: Session, url: string) =>
  s.fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "x" } },
    }),
  });
const record = async (store: CredentialStoreService, url: string) =>
  Option.getOrUndefined(await Effect.runPromise(store.loadSession(url)));

describe("what a session persists, through logout and login", () => {
  it("cold → watched → logout → login → restart: record written, restored without authorizing; a second logout deletes the second token", async () => {
    const k = await startTestkit();
    cleanups.push(() => k.close());
    const store = memoryStore();
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    await s.logout();
    expect(await record(store, k.mcpUrl)).toBeUndefined();
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await s.logout();
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await s.close();
    const saved = JSON.parse((await record(store, k.mcpUrl)) ?? "{}");
    expect(Object.keys(saved)).toEqual(
      expect.arrayContaining(["resource", "authServer", "client", "token"]),
    );
    const before = k.user.authorizations;
    const t = await open(k, store);
    expect((await call(t, k.mcpUrl)).status).toBe(200);
    expect(k.user.authorizations).toBe(before);
    await t.logout();
    expect(await record(store, k.mcpUrl)).toBeUndefined();
    const key = {
      resource: saved.token.resource,
      issuer: saved.token.issuer,
      clientId: saved.token.clientId,
    };
    expect(Option.isNone(await Effect.runPromise(store.loadTokens(key)))).toBe(true);
  }, 60_000);
});
