/**
 * Probe records built by hand: a well-configured server (`record()`), and the pieces to make it
 * misbehave one way at a time.
 */
import type {
  AsLookup,
  AuthServerRecord,
  Hop,
  PrmLookup,
  ProbeRecord,
} from "../../src/check/index.js";
import type {
  AuthorizationServerMetadata,
  ProtectedResourceMetadata,
} from "../../src/schema/wire.js";

export const serverUrl = "https://mcp.example.com/mcp";
export const issuer = "https://as.example.com";
export const prmUrl = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
export const rootPrmUrl = "https://mcp.example.com/.well-known/oauth-protected-resource";
export const asUrl = `${issuer}/.well-known/oauth-authorization-server`;
export const oidcUrl = `${issuer}/.well-known/openid-configuration`;

export const hop = (url: string, status: number, extra: Partial<Hop> = {}): Hop => ({
  method: "GET",
  url,
  status,
  contentType: status === 200 ? "application/json" : undefined,
  ...extra,
});

export const documentAt = <D, S extends string>(url: string, source: S, document: D) => ({
  url,
  source,
  hops: [hop(url, 200)],
  outcome: { _tag: "Document" as const, document },
});

export const absentAt = <S extends string>(url: string, source: S) => ({
  url,
  source,
  hops: [hop(url, 404)],
  outcome: { _tag: "Absent" as const, status: 404 },
});

export const goodPrm: ProtectedResourceMetadata = {
  resource: serverUrl,
  authorization_servers: [issuer],
  scopes_supported: ["mcp:read"],
};

export const goodAs: AuthorizationServerMetadata = {
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  registration_endpoint: `${issuer}/register`,
  response_types_supported: ["code"],
  grant_types_supported: ["authorization_code", "refresh_token"],
  token_endpoint_auth_methods_supported: ["none"],
  code_challenge_methods_supported: ["S256"],
  scopes_supported: ["mcp:read", "mcp:write"],
  authorization_response_iss_parameter_supported: true,
  dpop_signing_alg_values_supported: ["ES256"],
};

export const prmLookups = (prm: ProtectedResourceMetadata = goodPrm): PrmLookup[] => [
  documentAt(prmUrl, "challenge", prm),
  absentAt(rootPrmUrl, "root"),
];

export const asServer = (
  metadata: AuthorizationServerMetadata = goodAs,
  lookups?: AsLookup[],
): AuthServerRecord => ({
  issuer,
  lookups: lookups ?? [
    documentAt(asUrl, "oauth-authorization-server", metadata),
    documentAt(oidcUrl, "openid-configuration", metadata),
  ],
});

/** A well-configured server, with the parts given replaced. */
export const record = (parts: Partial<ProbeRecord> = {}): ProbeRecord => ({
  serverUrl,
  canonical: serverUrl,
  challenge: {
    hop: { method: "POST", url: serverUrl, status: 401 },
    challenge: { scheme: "Bearer", scope: ["mcp:read"], resourceMetadata: prmUrl },
  },
  resourceMetadata: prmLookups(),
  legacy: false,
  authorizationServers: [asServer()],
  policy: { allowInsecureLoopback: false, allowPrivateNetwork: false },
  ...parts,
});
