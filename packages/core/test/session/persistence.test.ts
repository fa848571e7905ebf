/**
 * What a session writes to its store: nothing for a cold session only watched, the full record
 * after a login, deleted by a logout, restored by the next session; every held token revoked.
 */
import { Effect, Option } from "effect";
import { describe, expect, it } from "vitest";
import {
  CredentialStore,
  type CredentialStoreService,
} from "../../src/services/credential-store.js";
import { call, kitWith, open, storedRecord as record } from "./live-support.js";

const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));

describe("what a session persists, through logout and login", () => {
  it("cold → watched → logout → login → restart: record written, restored without authorizing; a second logout deletes the second token", async () => {
    const k = await kitWith();
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
