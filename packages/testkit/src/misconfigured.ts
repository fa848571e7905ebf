/**
 * An MCP server whose authorization is misconfigured in the ways clients trip on, for testing
 * `authchart probe` and discovery: the MCP endpoint's 401 challenge, its protected-resource
 * metadata (RFC 9728) and its authorization server's metadata (RFC 8414 / OpenID Connect
 * Discovery), all on one loopback origin of the scripted server, each knob one misconfiguration.
 * The defaults describe a well-configured server. Nothing here authorizes anyone: a probe only
 * reads metadata.
 */
import { startScriptedServer } from "./scripted-server.js";
import type { ScriptedResponse, ScriptedServer } from "./types.js";

/** Where the authorization server's metadata is served (RFC 8414 §3.1, §5; OIDC §4.1). */
export type MetadataForm = "oauth-authorization-server" | "openid-inserted" | "openid-appended";

export interface Misconfiguration {
  /** `code_challenge_methods_supported`; `null` leaves the member out. Default `["S256"]`. */
  readonly pkceMethods?: readonly string[] | null;
  /** The AS metadata's `issuer`: the issuer (default) or another URL. */
  readonly issuer?: "match" | "other";
  /** The PRM's `resource`: the server URL (default), its origin, or another origin. */
  readonly resource?: "match" | "origin" | "other-origin";
  /** How clients register: dynamic registration (default), client ID metadata documents, none. */
  readonly registration?: "dynamic" | "client-id-metadata-document" | "none";
  /** The 401 challenge's `scope`. Default `mcp:read`. */
  readonly challengeScope?: string;
  /** The AS metadata's `scopes_supported`. Default `["mcp:read", "mcp:write"]`. */
  readonly scopesSupported?: readonly string[];
  /** A path for the issuer (`/tenant1`): an issuer with a path. Default none. */
  readonly issuerPath?: string;
  /** Where the AS metadata is served. Default: every form. */
  readonly metadataForms?: readonly MetadataForm[];
  /** The PRM location answers 301 to another path, where the document is. */
  readonly metadataRedirect?: boolean;
  /** The 401 carries no WWW-Authenticate at all. */
  readonly noChallenge?: boolean;
  /**
   * The PRM says `dpop_bound_access_tokens_required` (RFC 9728 §2) while the AS metadata lists no
   * `dpop_signing_alg_values_supported` (RFC 9449 §5.1). Default: neither.
   */
  readonly dpopRequiredUnadvertised?: boolean;
}

export interface MisconfiguredServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:PORT/mcp */
  readonly url: string;
  readonly issuer: string;
  readonly server: ScriptedServer;
  close(): Promise<void>;
}

const json = (body: unknown): ScriptedResponse => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const metadataPaths = (path: string): Record<MetadataForm, string> => ({
  "oauth-authorization-server": `/.well-known/oauth-authorization-server${path}`,
  "openid-inserted": `/.well-known/openid-configuration${path}`,
  "openid-appended": `${path}/.well-known/openid-configuration`,
});

/** Starts a server with the given misconfiguration (none: a well-configured one). */
export async function startMisconfiguredServer(
  knobs: Misconfiguration = {},
): Promise<MisconfiguredServer> {
  const server = await startScriptedServer();
  const origin = server.origin;
  const url = `${origin}/mcp`;
  const issuerPath = knobs.issuerPath ?? "";
  const issuer = `${origin}${issuerPath}`;
  const prmPath = "/.well-known/oauth-protected-resource/mcp";
  const scope = knobs.challengeScope ?? "mcp:read";

  server.route(
    "/mcp",
    knobs.noChallenge === true
      ? { status: 401, body: "" }
      : {
          status: 401,
          headers: {
            "www-authenticate": `Bearer resource_metadata="${origin}${prmPath}", scope="${scope}"`,
          },
          body: "",
        },
  );

  const resource =
    knobs.resource === "origin"
      ? origin
      : knobs.resource === "other-origin"
        ? "https://elsewhere.example/mcp"
        : url;
  const prm = json({
    resource,
    authorization_servers: [issuer],
    scopes_supported: [scope],
    ...(knobs.dpopRequiredUnadvertised === true && { dpop_bound_access_tokens_required: true }),
  });
  if (knobs.metadataRedirect === true) {
    server.route(prmPath, { status: 301, headers: { location: "/metadata/prm.json" }, body: "" });
    server.route("/metadata/prm.json", prm);
  } else server.route(prmPath, prm);

  const registration = knobs.registration ?? "dynamic";
  const metadata = {
    issuer: knobs.issuer === "other" ? "https://issuer.elsewhere.example" : issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    ...(registration === "dynamic" && { registration_endpoint: `${issuer}/register` }),
    ...(registration === "client-id-metadata-document" && {
      client_id_metadata_document_supported: true,
    }),
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_basic"],
    scopes_supported: knobs.scopesSupported ?? ["mcp:read", "mcp:write"],
    authorization_response_iss_parameter_supported: true,
    ...(knobs.pkceMethods !== null && {
      code_challenge_methods_supported: knobs.pkceMethods ?? ["S256"],
    }),
  };
  const forms = knobs.metadataForms ?? [
    "oauth-authorization-server",
    "openid-inserted",
    "openid-appended",
  ];
  const paths = metadataPaths(issuerPath);
  for (const form of forms) server.route(paths[form], json(metadata));

  return { url, issuer, server, close: () => server.close() };
}
