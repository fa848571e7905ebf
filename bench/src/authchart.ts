/** authchart sessions for the bench: cold (testkit's AS) or restored from a warm memory store. */
import { CredentialStore, type CredentialStoreService, createSession } from "@authchart/core";
import { PersistedSession } from "@authchart/core/internals";
import { Effect, Redacted, Schema } from "effect";
import { redirectUri } from "./sdk-clients.js";

export const memoryStore = (): CredentialStoreService => CredentialStore.memory();

export const coldSession = (serverUrl: string, authorize: (url: string) => Promise<string>) =>
  createSession({
    serverUrl,
    store: memoryStore(),
    client: { clientName: "bench", redirectUris: [redirectUri] },
    userAgent: (prompt) => authorize(prompt.url),
  });

/**
 * A store holding a valid token and the session record for `serverUrl`, as after a login: the
 * resource's metadata, the authorization server's metadata and the registered client with it.
 */
export const warmStore = async (serverUrl: string, accessToken: string) => {
  const store = memoryStore();
  const now = Date.now();
  const issuer = "https://as.example";
  const key = { resource: serverUrl, issuer, clientId: "client-1" };
  const expiresAt = now + 3_600_000;
  await Effect.runPromise(
    store.saveTokens({
      key,
      accessToken: Redacted.make(accessToken),
      tokenType: "Bearer",
      scopes: ["mcp:read", "mcp:write"],
      obtainedAt: now,
      version: 1,
      expiresAt,
    }),
  );
  const persisted = Schema.encodeSync(PersistedSession)({
    format: 1,
    serverUrl,
    savedAt: now,
    resource: {
      resource: serverUrl,
      metadataUrl: `${new URL(serverUrl).origin}/.well-known/oauth-protected-resource/mcp`,
      authorizationServer: issuer,
      scopesSupported: ["mcp:read", "mcp:write", "mcp:admin"],
      legacy: false,
    },
    authServer: {
      issuer,
      metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
      discoveredAt: now,
      metadata: {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        registration_endpoint: `${issuer}/register`,
        revocation_endpoint: `${issuer}/revoke`,
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none", "client_secret_basic"],
        scopes_supported: ["mcp:read", "mcp:write", "mcp:admin", "offline_access"],
        authorization_response_iss_parameter_supported: true,
      },
    },
    client: { kind: "dynamic", issuer, clientId: "client-1" },
    token: {
      ...key,
      version: 1,
      scopes: ["mcp:read", "mcp:write"],
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
