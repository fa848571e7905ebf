/**
 * Every failure a user of authchart can meet, as a tagged error with a message that names the
 * problem and never carries a secret (MCP "Token Theft"; test/hostile/inputs.test.ts, "error
 * texts never carry a header value"). Fields hold URLs, codes and scope names only — never
 * tokens, codes, verifiers or client secrets.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-theft
 */
import { Schema } from "effect";

const optionalString = Schema.optional(Schema.String);

// ---------------------------------------------------------------------------------------------
// HTTP (every OAuth request: https except loopback, no redirects, bounded time and size —
// OAuth 2.1 §1.5)
// ---------------------------------------------------------------------------------------------

/** A URL the client was asked to contact is not https (loopback http excepted, OAuth 2.1 §1.5). */
export class InsecureUrl extends Schema.TaggedError<InsecureUrl>()("InsecureUrl", {
  url: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `refusing to contact ${this.url}: ${this.reason}`;
  }
}

/** The server did not answer within the time limit. */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", {
  url: Schema.String,
  timeoutMillis: Schema.Number,
}) {
  override get message() {
    return `no answer from ${this.url} within ${this.timeoutMillis} ms`;
  }
}

/** The connection failed (refused, reset, DNS). */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  url: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `request to ${this.url} failed: ${this.reason}`;
  }
}

/**
 * OAuth endpoints must answer directly; redirects are never followed (RFC 9700 §4.11; SSRF,
 * RFC 9728 §7.7).
 */
export class UnexpectedRedirect extends Schema.TaggedError<UnexpectedRedirect>()(
  "UnexpectedRedirect",
  { url: Schema.String, status: Schema.Number, location: optionalString },
) {
  override get message() {
    return `${this.url} answered ${this.status} redirecting to ${this.location ?? "(no location)"}; redirects are not followed`;
  }
}

/** The body is larger than the configured limit. */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  url: Schema.String,
  limitBytes: Schema.Number,
}) {
  override get message() {
    return `the answer from ${this.url} exceeds ${this.limitBytes} bytes`;
  }
}

/** A JSON document was expected but the content type says otherwise. */
export class UnexpectedContentType extends Schema.TaggedError<UnexpectedContentType>()(
  "UnexpectedContentType",
  { url: Schema.String, status: Schema.Number, contentType: Schema.String },
) {
  override get message() {
    return `${this.url} answered ${this.status} with content type "${this.contentType}", expected JSON`;
  }
}

/** The body claims to be JSON but does not parse, or is not a JSON object. */
export class MalformedJson extends Schema.TaggedError<MalformedJson>()("MalformedJson", {
  url: Schema.String,
  status: Schema.Number,
}) {
  override get message() {
    return `${this.url} answered ${this.status} with a body that is not a JSON object`;
  }
}

/** A status the protocol step does not accept at this point. */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()("UnexpectedStatus", {
  url: Schema.String,
  status: Schema.Number,
  expected: Schema.String,
}) {
  override get message() {
    return `${this.url} answered ${this.status}, expected ${this.expected}`;
  }
}

/**
 * A JSON document does not have the shape its RFC requires. `issues` lists the offending member
 * paths and what was expected — never the values, which may be tokens.
 */
export class InvalidDocument extends Schema.TaggedError<InvalidDocument>()("InvalidDocument", {
  url: Schema.String,
  document: Schema.String,
  issues: Schema.Array(Schema.String),
}) {
  override get message() {
    return `${this.document} from ${this.url} is invalid: ${this.issues.join("; ")}`;
  }
}

export type HttpError =
  | InsecureUrl
  | RequestTimeout
  | TransportError
  | UnexpectedRedirect
  | ResponseTooLarge;

export type JsonError = UnexpectedContentType | MalformedJson | InvalidDocument;

// ---------------------------------------------------------------------------------------------
// Discovery (RFC 9728, RFC 8414; MCP "Authorization Server Discovery")
// ---------------------------------------------------------------------------------------------

/** The MCP server URL cannot be a resource identifier (RFC 8707 §2, MCP "Canonical Server URI"). */
export class InvalidResourceUri extends Schema.TaggedError<InvalidResourceUri>()(
  "InvalidResourceUri",
  { input: Schema.String, reason: Schema.String },
) {
  override get message() {
    return `"${this.input}" is not a usable MCP server URL: ${this.reason}`;
  }
}

/**
 * No protected-resource metadata at any candidate URL: abort, or use preconfigured values (MCP
 * "Authorization Server Discovery Sequence Diagram").
 */
export class ResourceMetadataNotFound extends Schema.TaggedError<ResourceMetadataNotFound>()(
  "ResourceMetadataNotFound",
  { resource: Schema.String, tried: Schema.Array(Schema.String) },
) {
  override get message() {
    return `no protected-resource metadata for ${this.resource} (tried ${this.tried.join(", ")})`;
  }
}

/** The metadata's `resource` is not the server the client asked about (RFC 9728 §3.3). */
export class ResourceMismatch extends Schema.TaggedError<ResourceMismatch>()("ResourceMismatch", {
  expected: Schema.String,
  actual: Schema.String,
  metadataUrl: Schema.String,
}) {
  override get message() {
    return `protected-resource metadata at ${this.metadataUrl} is for "${this.actual}", not "${this.expected}"`;
  }
}

/** The metadata lists no authorization server (MCP "Authorization Server Location"). */
export class NoAuthorizationServer extends Schema.TaggedError<NoAuthorizationServer>()(
  "NoAuthorizationServer",
  { resource: Schema.String, metadataUrl: Schema.String },
) {
  override get message() {
    return `protected-resource metadata at ${this.metadataUrl} names no authorization server`;
  }
}

/** No authorization-server metadata at any candidate URL (RFC 8414 §3.1, OIDC Discovery §4). */
export class AuthServerMetadataNotFound extends Schema.TaggedError<AuthServerMetadataNotFound>()(
  "AuthServerMetadataNotFound",
  { issuer: Schema.String, tried: Schema.Array(Schema.String) },
) {
  override get message() {
    return `no authorization-server metadata for ${this.issuer} (tried ${this.tried.join(", ")})`;
  }
}

/** The metadata's `issuer` differs from the issuer its URL was built from (RFC 8414 §3.3). */
export class IssuerMismatch extends Schema.TaggedError<IssuerMismatch>()("IssuerMismatch", {
  expected: Schema.String,
  actual: Schema.String,
  metadataUrl: Schema.String,
}) {
  override get message() {
    return `authorization-server metadata at ${this.metadataUrl} claims issuer "${this.actual}", expected "${this.expected}"`;
  }
}

/**
 * The authorization server does not advertise PKCE with S256 (MCP "Authorization Code
 * Protection"; RFC 7636 §4.2).
 */
export class PkceUnsupported extends Schema.TaggedError<PkceUnsupported>()("PkceUnsupported", {
  issuer: Schema.String,
  advertised: Schema.optional(Schema.Array(Schema.String)),
}) {
  override get message() {
    return this.advertised === undefined
      ? `${this.issuer} does not advertise code_challenge_methods_supported; refusing to authorize without PKCE`
      : `${this.issuer} does not support PKCE S256 (advertises ${this.advertised.join(", ") || "nothing"})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Registration (MCP "Client Registration Approaches"; RFC 7591)
// ---------------------------------------------------------------------------------------------

/** The registration endpoint refused the client (RFC 7591 §3.2.2). */
export class RegistrationRejected extends Schema.TaggedError<RegistrationRejected>()(
  "RegistrationRejected",
  {
    issuer: Schema.String,
    status: Schema.Number,
    error: optionalString,
    errorDescription: optionalString,
  },
) {
  override get message() {
    const detail = this.error
      ? `${this.error}${this.errorDescription ? `: ${this.errorDescription}` : ""}`
      : `status ${this.status}`;
    return `${this.issuer} refused the client registration (${detail})`;
  }
}

/**
 * No way to obtain a client id at this authorization server (MCP "Client Registration
 * Approaches", step 4: ask the user).
 */
export class RegistrationUnavailable extends Schema.TaggedError<RegistrationUnavailable>()(
  "RegistrationUnavailable",
  {
    issuer: Schema.String,
    /** The quirk profile that says this server takes no dynamic registration, when one does. */
    profile: Schema.optional(Schema.String),
    /** Why, in the profile's words. */
    reason: Schema.optional(Schema.String),
    /** Where a client is registered at this server, when the profile knows. */
    consoleUrl: Schema.optional(Schema.String),
  },
) {
  override get message() {
    const why =
      this.reason !== undefined
        ? `${this.issuer} needs a pre-registered client (${this.profile}: ${this.reason})`
        : `${this.issuer} supports neither client-ID metadata documents nor dynamic registration: it needs a pre-registered client`;
    const where = this.consoleUrl !== undefined ? ` at ${this.consoleUrl}` : " with this server";
    return `${why}. Register a client${where}, then give it in the client settings: preRegistered: [{ issuer: "${this.issuer}", clientId: "…" }] (with its clientSecret if it has one)`;
  }
}

/**
 * The client secret the authorization server issued has expired (RFC 7591 §3.2.1
 * `client_secret_expires_at`): it is never sent; a dynamically registered client registers again.
 */
export class ClientSecretExpired extends Schema.TaggedError<ClientSecretExpired>()(
  "ClientSecretExpired",
  { issuer: Schema.String, expiredAt: Schema.Number },
) {
  override get message() {
    const at = Number.isFinite(this.expiredAt * 1000)
      ? new Date(this.expiredAt * 1000).toISOString()
      : String(this.expiredAt);
    return `the client secret issued by ${this.issuer} expired at ${at}; refusing to authenticate with it`;
  }
}

/**
 * The configuration given by the application is unusable (e.g. an invalid client ID metadata
 * document URL, MCP "Client ID Metadata Documents").
 */
export class InvalidClientConfiguration extends Schema.TaggedError<InvalidClientConfiguration>()(
  "InvalidClientConfiguration",
  { reason: Schema.String },
) {
  override get message() {
    return `invalid client configuration: ${this.reason}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Authorization request / response (OAuth 2.1 §4.1; RFC 9207)
// ---------------------------------------------------------------------------------------------

/** The callback's `state` is missing or not the one this flow sent (MCP "Open Redirection"). */
export class StateMismatch extends Schema.TaggedError<StateMismatch>()("StateMismatch", {
  received: Schema.Literal("missing", "different"),
}) {
  override get message() {
    return `the authorization response's state is ${this.received === "missing" ? "missing" : "not the one this flow sent"}; response discarded`;
  }
}

/** The callback's `iss` is missing where required, or names another issuer (RFC 9207 §2.4). */
export class IssMismatch extends Schema.TaggedError<IssMismatch>()("IssMismatch", {
  expected: Schema.String,
  actual: optionalString,
}) {
  override get message() {
    return this.actual === undefined
      ? `the authorization response lacks iss although ${this.expected} advertises it; response discarded`
      : `the authorization response comes from "${this.actual}", not "${this.expected}"; response discarded`;
  }
}

/** The authorization server answered the authorization request with an error (RFC 6749 §4.1.2.1). */
export class AuthorizationDenied extends Schema.TaggedError<AuthorizationDenied>()(
  "AuthorizationDenied",
  { error: Schema.String, errorDescription: optionalString, errorUri: optionalString },
) {
  override get message() {
    return `authorization failed: ${this.error}${this.errorDescription ? ` (${this.errorDescription})` : ""}`;
  }
}

/** The callback cannot be used (no code, duplicated parameters, not a URL). */
export class InvalidCallback extends Schema.TaggedError<InvalidCallback>()("InvalidCallback", {
  reason: Schema.String,
}) {
  override get message() {
    return `invalid authorization response: ${this.reason}`;
  }
}

/**
 * The resource's 401/403 challenge cannot be acted on (RFC 6750 §3): for instance it asks for more
 * scopes, or longer ones, than any authorization request may carry.
 */
export class InvalidChallenge extends Schema.TaggedError<InvalidChallenge>()("InvalidChallenge", {
  status: Schema.Number,
  reason: Schema.String,
}) {
  override get message() {
    return `the resource's ${this.status} challenge is unusable: ${this.reason}`;
  }
}

/** The browser step failed or was abandoned. */
export class UserAgentFailed extends Schema.TaggedError<UserAgentFailed>()("UserAgentFailed", {
  reason: Schema.String,
}) {
  override get message() {
    return `the browser step failed: ${this.reason}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens (OAuth 2.1 §3.2, §4.1.3, §4.3)
// ---------------------------------------------------------------------------------------------

/** The token endpoint answered with an OAuth error (OAuth 2.1 §3.2.4, RFC 8707 §2: invalid_target). */
export class TokenRejected extends Schema.TaggedError<TokenRejected>()("TokenRejected", {
  code: Schema.String,
  status: Schema.Number,
  errorDescription: optionalString,
  grantType: Schema.String,
}) {
  override get message() {
    return `the token endpoint refused the ${this.grantType} grant: ${this.code}${this.errorDescription ? ` (${this.errorDescription})` : ""}`;
  }
}

/** The token endpoint answered something that is not an OAuth token or error response. */
export class TokenEndpointFailed extends Schema.TaggedError<TokenEndpointFailed>()(
  "TokenEndpointFailed",
  { status: Schema.Number, grantType: Schema.String, reason: Schema.String },
) {
  override get message() {
    return `the ${this.grantType} request failed with status ${this.status}: ${this.reason}`;
  }
}

/** Something the credential store could not do. */
export class StoreFailed extends Schema.TaggedError<StoreFailed>()("StoreFailed", {
  operation: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `credential store ${this.operation} failed: ${this.reason}`;
  }
}

/**
 * Free text for an error or a trace (a defect's message, a server's error_description): every
 * credential-like run cut out — `Bearer x`, `Basic x`, `DPoP x`, and any run of 20 or more
 * token characters (a JWT, an opaque token, `access_token=…`) — control characters dropped and
 * the rest bounded. Messages of platform errors quote values (fetch's Headers name the invalid
 * header value, which may be `Bearer <token>`), and a hostile server may echo a token in its
 * error_description; neither is ever copied as is.
 */
export const scrubText = (text: string, max = 200): string => {
  const scrubbed = text
    // A credential after an auth scheme (`Bearer <token>`), not the word in prose ("jwt-bearer
    // grant, got …"): the scheme stands alone and what follows is token characters.
    .replace(/(?<![\w-])(bearer|basic|dpop)\s+[A-Za-z0-9._~+/=-]{6,}/gi, "$1 <redacted>")
    .replace(/[A-Za-z0-9._~+/=-]{20,}/g, "<redacted>")
    .replace(/\s+/g, " ");
  const printable = [...scrubbed].filter((c) => c >= " " && c !== "\u007f").join("");
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
};

/** A defect's description that cannot leak: its class and its scrubbed message. */
export const describeDefect = (error: unknown): string => {
  if (!(error instanceof Error)) return "unknown failure";
  const message = scrubText(error.message);
  return /^[A-Za-z]{1,40}$/.test(error.name) ? `${error.name}: ${message}` : message;
};

// ---------------------------------------------------------------------------------------------
// Grants other than the authorization code: JWT bearer (RFC 7523 §2.1, SEP-1933), token exchange
// (RFC 8693, SEP-990) and device authorization (RFC 8628)
// ---------------------------------------------------------------------------------------------

/**
 * The authorization server refused an assertion grant (RFC 7523 §3.1; SEP-1933 workload identity,
 * SEP-990 ID-JAG). Final: the same assertion is not sent again and no other grant is tried —
 * retrying cannot change the verdict on a signed assertion, and falling back to another grant
 * would widen what the deployment allowed.
 */
export class AssertionRejected extends Schema.TaggedError<AssertionRejected>()(
  "AssertionRejected",
  {
    code: Schema.String,
    status: Schema.Number,
    errorDescription: optionalString,
    grantType: Schema.String,
    final: Schema.Literal(true),
  },
) {
  override get message() {
    return `the authorization server refused the ${this.grantType} assertion: ${this.code}${this.errorDescription ? ` (${this.errorDescription})` : ""}; not retried`;
  }
}

/** The application could not supply the assertion for a JWT bearer grant (RFC 7523 §2.1). */
export class AssertionUnavailable extends Schema.TaggedError<AssertionUnavailable>()(
  "AssertionUnavailable",
  { reason: Schema.String },
) {
  override get message() {
    return `no assertion for the JWT bearer grant: ${this.reason}`;
  }
}

/** The authorization server has no device authorization endpoint (RFC 8628 §4). */
export class DeviceAuthorizationUnsupported extends Schema.TaggedError<DeviceAuthorizationUnsupported>()(
  "DeviceAuthorizationUnsupported",
  { issuer: Schema.String },
) {
  override get message() {
    return `${this.issuer} advertises no device_authorization_endpoint`;
  }
}

/** The device authorization endpoint answered with an OAuth error (RFC 8628 §3.2, RFC 6749 §5.2). */
export class DeviceAuthorizationRejected extends Schema.TaggedError<DeviceAuthorizationRejected>()(
  "DeviceAuthorizationRejected",
  { code: Schema.String, status: Schema.Number, errorDescription: optionalString },
) {
  override get message() {
    return `the device authorization request was refused: ${this.code}${this.errorDescription ? ` (${this.errorDescription})` : ""}`;
  }
}

/**
 * The device code expired before the user finished (RFC 8628 §3.5 `expired_token`, or the
 * `expires_in` of §3.2 ran out while polling): a new device authorization is needed.
 */
export class DeviceCodeExpired extends Schema.TaggedError<DeviceCodeExpired>()(
  "DeviceCodeExpired",
  { reportedBy: Schema.Literal("server", "client"), expiresAt: Schema.Number },
) {
  override get message() {
    const at = Number.isFinite(this.expiresAt)
      ? new Date(this.expiresAt).toISOString()
      : String(this.expiresAt);
    return this.reportedBy === "server"
      ? "the authorization server reports the device code expired (expired_token); start a new device authorization"
      : `the device code expired at ${at} before the user finished; start a new device authorization`;
  }
}

/** The user denied the device authorization request (RFC 8628 §3.5 `access_denied`). */
export class DeviceAuthorizationDenied extends Schema.TaggedError<DeviceAuthorizationDenied>()(
  "DeviceAuthorizationDenied",
  { errorDescription: optionalString },
) {
  override get message() {
    return `the user denied the device authorization request${this.errorDescription ? ` (${this.errorDescription})` : ""}`;
  }
}

// ---------------------------------------------------------------------------------------------
// DPoP (RFC 9449): sender-constrained tokens
// ---------------------------------------------------------------------------------------------

/**
 * DPoP is required — by this client's policy, or by a resource that takes DPoP-bound tokens only
 * (RFC 9728 §2) — but the authorization server lists only proof algorithms this client cannot
 * sign with (RFC 9449 §5.1 `dpop_signing_alg_values_supported`).
 */
export class DpopUnsupported extends Schema.TaggedError<DpopUnsupported>()("DpopUnsupported", {
  issuer: Schema.String,
  advertised: Schema.Array(Schema.String),
}) {
  override get message() {
    const listed = this.advertised.slice(0, 10).map((alg) => scrubText(alg, 40));
    return `DPoP is required, but ${this.issuer} accepts proofs only with ${listed.join(", ") || "no algorithm"}, none of which this client signs with`;
  }
}

/**
 * The resource accepts DPoP-bound access tokens only (RFC 9728 §2
 * `dpop_bound_access_tokens_required`), and this session sends no DPoP proofs: its DPoP policy is
 * "off", or its layer provides no DPoP service. No token is requested (nor the user sent to the
 * authorization server): one obtained without a proof would be refused by the resource.
 */
export class DpopRequiredByResource extends Schema.TaggedError<DpopRequiredByResource>()(
  "DpopRequiredByResource",
  { resource: Schema.String },
) {
  override get message() {
    return `${this.resource} accepts DPoP-bound access tokens only (dpop_bound_access_tokens_required in its metadata), and this session sends no DPoP proofs: use the DPoP policy "auto" or "required"`;
  }
}

/**
 * The token response's `token_type` contradicts the request (RFC 9449 §5): `DPoP` although no
 * proof was sent (the token is bound to no key this client holds), or `Bearer` although this
 * client's policy requires DPoP-bound tokens.
 */
export class DpopBindingMismatch extends Schema.TaggedError<DpopBindingMismatch>()(
  "DpopBindingMismatch",
  { grantType: Schema.String, received: Schema.Literal("DPoP", "Bearer") },
) {
  override get message() {
    return this.received === "DPoP"
      ? `the ${this.grantType} grant answered with a DPoP-bound token although no DPoP proof was sent; refusing a token this client cannot present`
      : `the ${this.grantType} grant answered with a Bearer token although this client requires DPoP-bound tokens`;
  }
}

/**
 * A DPoP key could not be made, restored or used (RFC 9449 §4: WebCrypto refused the algorithm,
 * a stored key does not import). `reason` is a fixed description: never key material.
 */
export class DpopKeyFailed extends Schema.TaggedError<DpopKeyFailed>()("DpopKeyFailed", {
  operation: Schema.Literal("generate", "import", "sign", "thumbprint"),
  alg: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `the DPoP key (${this.alg}) could not ${this.operation === "generate" ? "be generated" : this.operation === "import" ? "be restored" : this.operation === "sign" ? "sign a proof" : "be hashed"}: ${this.reason}`;
  }
}

/**
 * The authorization server did not revoke a token (RFC 7009 §2.2.1): the local copy is deleted
 * all the same; the token stays valid at the server until it expires.
 */
export class RevocationFailed extends Schema.TaggedError<RevocationFailed>()("RevocationFailed", {
  issuer: Schema.String,
  tokenType: Schema.Literal("refresh_token", "access_token"),
  status: Schema.Number,
  error: Schema.optional(Schema.String),
}) {
  override get message() {
    // An OAuth error code (RFC 6749 §5.2: lower-case words and underscores) is shown as is.
    const code =
      this.error === undefined
        ? ""
        : /^[a-z_]{1,40}$/.test(this.error)
          ? ` ${this.error}`
          : ` ${scrubText(this.error, 40)}`;
    return `${this.issuer} did not revoke the ${this.tokenType.replace("_", " ")} (${this.status}${code}); it stays valid there until it expires`;
  }
}
