/** Public types of @authchart/testkit. */

/** How a request is counted in the request log. */
export type RequestKind =
  | "prm"
  | "as-metadata"
  | "registration"
  | "authorization"
  | "device-authorization"
  | "token"
  | "jwks"
  | "interaction"
  | "mcp"
  | "other";

/** One completed request to one of the testkit's servers. */
export interface RequestLogEntry {
  readonly server: "as" | "mcp" | "scripted";
  readonly method: string;
  /** The pathname only, never the query (it may carry codes). */
  readonly path: string;
  /** The response status; 0 when the connection ended before a response was sent. */
  readonly status: number;
  /** Classification for counting. */
  readonly kind: RequestKind;
  /** The `grant_type` of token requests. */
  readonly grantType?: string;
  /** Extension: the request carried a `DPoP` proof header (RFC 9449 §4.1). Absent otherwise. */
  readonly dpop?: true;
  /** Date.now() when the request completed. */
  readonly at: number;
}

/** What the headless user does on the consent screen. */
export type HeadlessUserPolicy =
  | { readonly grant: "all" }
  | { readonly grant: "all-but"; readonly decline: readonly string[] }
  | { readonly grant: "deny" };

export interface ToolDefinition {
  readonly name: string;
  /** The scope an access token needs to call this tool. */
  readonly scope: string;
}

export interface AuthServerOptions {
  /** e.g. "/tenant1": the issuer is http://127.0.0.1:PORT/tenant1. Default: no path. */
  readonly issuerPath?: string;
  /**
   * Which metadata URLs answer.
   * - "oauth-and-oidc" (default): RFC 8414 `/.well-known/oauth-authorization-server{path}`, OIDC
   *   path-inserted `/.well-known/openid-configuration{path}` and OIDC path-appended
   *   `{issuer}/.well-known/openid-configuration`.
   * - "oidc-appended-only": only `{issuer}/.well-known/openid-configuration` (MCP's third URL);
   *   every other well-known URL is a 404.
   */
  readonly metadata?: "oauth-and-oidc" | "oidc-appended-only";
  /** Dynamic registration without `scope` -> 400 invalid_client_metadata (models Fastmail). */
  readonly requireScopeOnRegistration?: boolean;
  /** Lifetime of access tokens. Default 3600. */
  readonly accessTokenTtlSeconds?: number;
  /** Rotate refresh tokens on every use (a reused one is invalid_grant and revokes the grant). Default true. */
  readonly refreshTokenRotation?: boolean;
  /** Issue refresh tokens to clients that registered the refresh_token grant. Default true. */
  readonly issueRefreshTokens?: boolean;
  /** `scopes_supported` of the AS metadata. Default: the tool scopes + "offline_access". */
  readonly scopesSupported?: readonly string[];
  /** Authorization requests naming any of these end in error=invalid_scope at the redirect URI. */
  readonly rejectScopes?: readonly string[];
  /** Metadata without `code_challenge_methods_supported` (MCP "Authorization Code Protection"). */
  readonly omitCodeChallengeMethods?: boolean;
  /**
   * Extension: what an authorization request without `scope` asks for — the client's registered
   * `scope` if it registered one, else these. Default: all tool scopes.
   */
  readonly defaultScopes?: readonly string[];
  /**
   * Extension: the client credentials grant (RFC 6749 §4.4) for clients that register it
   * (`grant_types: ["client_credentials"]`, a secret or a JWKS: see `Testkit.registerClient`).
   * A `resource` gets a JWT access token for the MCP server. Default false.
   */
  readonly clientCredentials?: boolean;
  /**
   * Extension: the device authorization grant (RFC 8628), for clients that register
   * `urn:ietf:params:oauth:grant-type:device_code`. The headless user answers a user code with
   * `user.enterUserCode(verificationUri, userCode)` per its policy. Default off; `true` = defaults.
   */
  readonly deviceFlow?: boolean | DeviceFlowOptions;
  /**
   * Extension: the JWT bearer grant (RFC 7523 §2.1) for clients that register
   * `urn:ietf:params:oauth:grant-type:jwt-bearer`: assertions signed by `key`, with `aud` = the
   * issuer (or its token endpoint), a `sub`, unexpired, get a JWT access token for the MCP server
   * (`resource` from the request, else the assertion's `resource` claim). A bad assertion is
   * invalid_grant. Default off.
   */
  readonly jwtBearer?: JwtBearerOptions;
  /**
   * Extension: DPoP (RFC 9449) at the token endpoint — oidc-provider's `features.dPoP`: the
   * metadata lists `dpop_signing_alg_values_supported`, a token request with a valid proof gets a
   * `token_type: "DPoP"` access token whose JWT carries `cnf.jkt`, and a public client's refresh
   * token is bound to the key (a refresh needs a proof with it). Default off (no
   * `dpop_signing_alg_values_supported`, proofs are ignored); `true` = defaults. The jwt-bearer
   * grant above answers Bearer tokens even after a proof (RFC 9449 §5 allows it).
   */
  readonly dpop?: boolean | AuthServerDpopOptions;
  /**
   * Extension: HTML login and consent pages a real browser can fill — oidc-provider's own
   * development interactions (`features.devInteractions`) at `{issuer}/interaction/:uid`: a
   * "Sign-in" form (any login, any password; the login is the account id), then an "Authorize"
   * page whose "Continue" button grants every requested scope the AS knows, and a "[ Cancel ]"
   * link that ends in `error=access_denied`. The headless user keeps working alongside (its
   * JSON requests are told apart). Default false (JSON interaction routes only).
   */
  readonly browserPages?: boolean;
  /**
   * Extension, like Microsoft Entra ID v2: an authorization or device authorization request with
   * `resource` ends in error=invalid_request (AADSTS901002); the API is named by the scopes
   * instead — each tool scope as `{mcpUrl}/{scope}`, or `{mcpUrl}/.default` for all of them — and
   * a bare tool scope is invalid_scope. At the token endpoint (token-quirks.ts): `resource` is
   * invalid_request on every grant; a client credentials request's scope must be exactly
   * `{mcpUrl}/.default` (else invalid_scope, AADSTS1002012); a refresh must name its scopes the
   * same way — one without a scope is invalid_request (Entra would answer with a token for another
   * API). Tokens are for the MCP server all the same. Default false.
   */
  readonly entraScopes?: boolean;
  /**
   * Extension, like Auth0: an authorization or device authorization request without `audience` =
   * the MCP URL ends in error=invalid_request (Auth0 would issue an opaque token for its own API,
   * which the MCP server refuses), and a client credentials token request without it is 403
   * access_denied ("No audience parameter was provided, …"). Default false.
   */
  readonly requireAudience?: boolean;
  /**
   * Extension, like GitHub: how a 200 token response is encoded. "form": always
   * application/x-www-form-urlencoded; "form-unless-json-accepted": form unless the request's
   * Accept names application/json. Default "json".
   */
  readonly tokenResponseEncoding?: "json" | "form" | "form-unless-json-accepted";
  /** Extension: false leaves `registration_endpoint` out of the metadata. Default true. */
  readonly advertiseRegistration?: boolean;
  /**
   * Extension, like Okta: the registration endpoint answers 401 invalid_token to a request
   * without an `Authorization` header (an administrator's API token). Default false.
   */
  readonly registrationRequiresToken?: boolean;
  /**
   * Extension, like Slack: the authorization request's scopes are comma-separated; a scope
   * parameter with a space is invalid_scope. Default: space-separated (RFC 6749 §3.3).
   */
  readonly scopeDelimiter?: ",";
  /**
   * Extension, a web application firewall in front of the AS: metadata, registration and token
   * requests whose User-Agent does not contain this text are answered 403 with an HTML page.
   * Default: none.
   */
  readonly requireUserAgent?: string;
  /**
   * Extension, like Google: the code exchange issues a refresh token only when the authorization
   * request said `access_type=offline` (combine with `rejectScopes: ["offline_access"]`).
   * Default false.
   */
  readonly offlineAccessType?: boolean;
  /**
   * Extension, like HubSpot: the client authentication methods the token endpoint takes; a
   * request with HTTP Basic credentials is 401 invalid_client unless `client_secret_basic` is
   * listed. Default: any.
   */
  readonly tokenEndpointAuthMethods?: readonly string[];
}

export interface AuthServerDpopOptions {
  /**
   * RFC 9449 §8: every proof must carry a server nonce; one without is answered 400
   * `use_dpop_nonce` with a `DPoP-Nonce` header (oidc-provider's `requireNonce`, nonces derived
   * from a per-server secret). Default false (nonces are still offered in `DPoP-Nonce`).
   */
  readonly requireNonce?: boolean;
  /** `dpop_signing_alg_values_supported`. Default oidc-provider's: ES256, Ed25519, EdDSA. */
  readonly algorithms?: readonly string[];
  /**
   * false: proofs are honoured but the metadata lists no `dpop_signing_alg_values_supported` — a
   * server that takes DPoP without saying so (RFC 9449 §5.1 makes the member optional). Default true.
   */
  readonly advertise?: boolean;
}

export interface DeviceFlowOptions {
  /** The `interval` member of device authorization responses; default: none sent (clients use 5). */
  readonly interval?: number;
  /** Lifetime of device codes (`expires_in`). Default 600. */
  readonly expiresInSeconds?: number;
}

export interface JwtBearerOptions {
  /** The key assertions must verify with (a public key, or a secret for HS*). */
  readonly key: CryptoKey | Uint8Array;
  /** Required `iss` of assertions. Default: any. */
  readonly issuer?: string;
  /** Required `typ` header (e.g. "oauth-id-jag+jwt" for SEP-990 ID-JAGs). Default: any. */
  readonly typ?: string;
}

export interface McpServerOptions {
  /** Default "/mcp". */
  readonly path?: string;
  /** Where Protected Resource Metadata answers. Default "both"; "root" = only the root well-known URL. */
  readonly prmLocation?: "path-aware" | "root" | "both";
  /** Default true; false = a 401 without `resource_metadata` (the client must probe). */
  readonly resourceMetadataInChallenge?: boolean;
  /** `scope` in 401 challenges. Default: the scopes of all configured tools; "none" omits it. */
  readonly challengeScope?: readonly string[] | "none";
  /**
   * - "bearer" (default): one `Bearer …` challenge.
   * - "several": `Basic realm="mcp", Bearer …` in one header line.
   * - "several-lines": the same two challenges as two `WWW-Authenticate` header lines (extension).
   */
  readonly challengeSchemes?: "bearer" | "several" | "several-lines";
  /** PRM `scopes_supported`. Default: all tool scopes; "omit" leaves the member out. */
  readonly scopesSupported?: readonly string[] | "omit";
  /** Default: echo (mcp:read), write-note (mcp:write), admin-report (mcp:admin). */
  readonly tools?: readonly ToolDefinition[];
  /** Extension: the PRM `resource` (default: exactly mcpUrl), to test RFC 9728 §3.3 checks. */
  readonly prmResource?: string;
  /**
   * Extension: answer MCP POSTs with JSON (true, default) or with an SSE stream (false), the two
   * response forms of the Streamable HTTP transport.
   */
  readonly jsonResponse?: boolean;
  /**
   * Extension: the MCP transport served at `path`.
   * - "streamable-http" (default): stateless Streamable HTTP (POST; GET and DELETE are 405).
   * - "sse": only the deprecated HTTP+SSE transport of MCP 2024-11-05 — a GET on `path` opens the
   *   event stream, whose `endpoint` event names `{path}/messages?sessionId=…` for the client's
   *   POSTs (answered 202, the responses come on the stream); a POST on `path` is 405, as at an
   *   old server. Every request to either endpoint gets the same bearer/DPoP checks and the
   *   message POSTs the same 403 insufficient_scope per tool; both count as `mcp` in the log.
   */
  readonly transport?: "streamable-http" | "sse";
  /**
   * Extension: DPoP (RFC 9449 §7) knobs of the resource server. Whatever this says, a DPoP-bound
   * token (JWT `cnf.jkt`) is accepted only as `Authorization: DPoP <token>` with a valid proof
   * (signature by the embedded public `jwk`, `typ dpop+jwt`, `htm`, `htu`, `iat` ±300 s, unused
   * `jti`, `ath`, the key's thumbprint = `cnf.jkt`); as Bearer it is refused 401 `DPoP
   * error="invalid_token"`. `true` = defaults; set, it also adds a `DPoP algs=…` challenge to
   * 401s and `dpop_signing_alg_values_supported` to the PRM.
   */
  readonly dpop?: boolean | McpDpopOptions;
}

export interface McpDpopOptions {
  /**
   * RFC 9449 §9: proofs must carry the resource server's current nonce; without it (or with
   * another) the answer is 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` with `DPoP-Nonce`.
   * Default false.
   */
  readonly requireNonce?: boolean;
  /**
   * Only DPoP-bound tokens: a Bearer token is refused (401 `DPoP error="invalid_token"`), 401
   * challenges are `DPoP` only, the PRM says `dpop_bound_access_tokens_required` (RFC 9728 §2).
   * Default false.
   */
  readonly required?: boolean;
  /** Proof algorithms accepted and advertised. Default ES256, Ed25519, EdDSA, PS256, RS256. */
  readonly algorithms?: readonly string[];
}

export interface TestkitOptions {
  readonly authServer?: AuthServerOptions;
  readonly mcp?: McpServerOptions;
  /** The initial policy of the headless user. Default { grant: "all" }. */
  readonly user?: HeadlessUserPolicy;
}

export interface HeadlessUser {
  /** Mutable: tests switch it. */
  policy: HeadlessUserPolicy;
  /** How many authorization flows it completed or denied. */
  readonly authorizations: number;
  /**
   * Performs login + consent over HTTP against the AS for this authorization URL and returns the
   * final redirect URL (the client's redirect_uri with code/state/iss or error), WITHOUT requesting
   * that redirect URL.
   */
  authorize(authorizationUrl: string): Promise<string>;
  /** Extension: forget the login session (cookies), so the next flow logs in again. */
  resetSession(): void;
  /**
   * Extension (RFC 8628 §3.3): enters `userCode` at the verification URI the way a person would
   * (over the AS's own device pages, answered as JSON), then logs in and consents per policy;
   * "deny" aborts at the confirmation step (the device code then polls access_denied). Resolves
   * when the AS has recorded the decision.
   */
  enterUserCode(verificationUri: string, userCode: string): Promise<void>;
}

export interface Testkit {
  /** e.g. http://127.0.0.1:PORT/mcp — also the audience of the access tokens. */
  readonly mcpUrl: string;
  readonly issuer: string;
  readonly authServerOrigin: string;
  /** Extension: the origin of the MCP server (where PRM lives). */
  readonly mcpOrigin: string;
  /** Live array, appended as requests complete, both servers. */
  readonly requests: readonly RequestLogEntry[];
  count(kind: RequestKind, filter?: Partial<RequestLogEntry>): number;
  clearLog(): void;
  readonly user: HeadlessUser;
  /** Subsequent MCP calls with any access token issued so far get 401 invalid_token. */
  expireAccessTokens(): void;
  /** Every refresh token issued so far becomes unknown to the AS (refresh -> invalid_grant). */
  revokeRefreshTokens(): void;
  /** Every dynamically registered client becomes unknown to the AS (token requests -> invalid_client). */
  forgetClients(): void;
  /** Extension: how many access tokens the AS has issued. */
  readonly issuedAccessTokens: number;
  /**
   * Extension: the MCP server's DPoP nonce changes (RFC 9449 §9): proofs carrying the old one get
   * 401 `use_dpop_nonce` with the new one. Only matters with `mcp.dpop.requireNonce`.
   */
  rotateDpopNonce(): void;
  /**
   * Extension: dynamic registration (RFC 7591) of a client with any metadata — the grant types
   * and auth methods the other grants need (client_credentials with a secret or `jwks`,
   * device_code, jwt-bearer). Resolves to the registration response; rejects on an error answer.
   */
  registerClient(metadata: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface ScriptedResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Uint8Array;
  /** Never respond (close() still ends the connection). */
  readonly hang?: boolean;
  readonly delayMs?: number;
  /** A streamed body without content-length: `count` writes of `chunk`. */
  readonly chunks?: { readonly count: number; readonly chunk: string };
}

export interface ScriptedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  origin: string;
}

export type ScriptedRoute = ScriptedResponse | ((req: ScriptedRequest) => ScriptedResponse);

export interface ScriptedServer {
  readonly origin: string;
  readonly requests: readonly RequestLogEntry[];
  route(path: string, r: ScriptedRoute): void;
  close(): Promise<void>;
}
