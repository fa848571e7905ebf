/** authchart sessions for the bench: cold (testkit's AS) or restored from a warm memory store. */
import { CredentialStore, type CredentialStoreService, createSession } from "@authchart/core";
import { PersistedSession } from "@authchart/core/internals";
import { Effect, Redacted, Schema } from "effect";
import { redirectUri } from "./sdk-clients.js";

export const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));

export const coldSession = (serverUrl: string, authorize: (url: string) => Promise<string>) =>
  createSession({
    serverUrl,
    store: memoryStore(),
    client: { clientName: "bench", redirectUris: [redirectUri] },
    userAgent: (prompt) => authorize(prompt.url),
  });

/** A store holding a valid token and the session record for `serverUrl`, as after a login. */
export const warmStore = async (serverUrl: string, accessToken: string) => {
  const store = memoryStore();
  const now = Date.now();
  const key = { resource: serverUrl, issuer: "https://as.example", clientId: "client-1" };
  const expiresAt = now + 3_600_000;
  await Effect.runPromise(
    store.saveTokens({
      key,
      accessToken: Redacted.make(accessToken),
      tokenType: "Bearer",
      scopes: [],
      obtainedAt: now,
      version: 1,
      expiresAt,
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
      expiresAt,
      hasRefreshToken: false,
      obtainedAt: now,
      obtainedBy: "authorization",
    },
  });
  await Effect.runPromise(store.saveSession(serverUrl, JSON.stringify(persisted)));
  return store;
};

export const warmSession = (serverUrl: string, store: CredentialStoreService) =>
  createSession({
    serverUrl,
    store,
    client: { clientName: "bench", redirectUris: [redirectUri] },
  });
