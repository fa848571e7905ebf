/** Credentials to store in the tests: recognizable secrets, so a test can look for them. */
import type { ClientRegistration, DpopKey, TokenKey, TokenSet } from "@authchart/core";
import { Redacted } from "effect";

export const issuer = "https://as.example/tenant";
export const serverUrl = "https://mcp.example/mcp";
export const key: TokenKey = { resource: serverUrl, issuer, clientId: "client-1" };
export const otherKey: TokenKey = { ...key, resource: "https://other.example/mcp" };

export const client: ClientRegistration = {
  issuer,
  kind: "dynamic",
  clientId: "client-1",
  clientSecret: Redacted.make("CLIENT-SECRET-1"),
  clientSecretExpiresAt: 0,
  tokenEndpointAuthMethod: "client_secret_basic",
  redirectUris: ["http://127.0.0.1:33418/callback"],
  grantTypes: ["authorization_code", "refresh_token"],
  scope: "mcp:read offline_access",
  registeredAt: 1_700_000_000,
};

export const tokens = (k: TokenKey, version = 1): TokenSet => ({
  key: k,
  accessToken: Redacted.make(`ACCESS-TOKEN-${version}`),
  tokenType: "Bearer",
  refreshToken: Redacted.make(`REFRESH-TOKEN-${version}`),
  expiresAt: 1_700_003_600_000,
  scopes: ["mcp:read", "offline_access"],
  obtainedAt: 1_700_000_000_000,
  version,
});

export const dpopKey = (k: TokenKey): DpopKey => ({
  key: k,
  alg: "ES256",
  privateJwk: Redacted.make({ kty: "EC", crv: "P-256", x: "X", y: "Y", d: "PRIVATE-D" }),
  createdAt: 1_700_000_000_000,
});

/** Every secret above, for checks that none reaches a key name or a message. */
export const secrets = ["CLIENT-SECRET-1", "ACCESS-TOKEN", "REFRESH-TOKEN", "PRIVATE-D"];
