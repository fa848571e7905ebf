/**
 * The wire formats authchart reads, as effect/Schema. Unknown members are ignored everywhere
 * (RFC 9728 §3.2, RFC 8414 §3.2, RFC 7591 §3.2.1, OAuth 2.1 §3.2.3); what the
 * protocol requires is required here, so a document that lacks it is a typed InvalidDocument.
 */
import { Effect, ParseResult, Schema } from "effect";
import { InvalidDocument, scrubText } from "../errors.js";

/**
 * Bounds on what a server may send: every string below ends up in a trace entry, an error
 * message or the store, so none is unbounded (a hostile server would otherwise fill them). The
 * bounds are far above what real servers send; a document over them is an InvalidDocument, except
 * error descriptions, which are cut (the error itself is still worth reporting).
 */
export const wireLimits = {
  /** URLs: endpoints, issuers, resources. */
  url: 2048,
  /** Identifiers and codes: client_id, token_type, an auth method, an `error` code. */
  identifier: 1024,
  /** One scope token (scope tokens can be URLs, e.g. Google's). */
  scope: 512,
  /** Scopes in one list (scopes_supported, a challenge, a granted scope). */
  scopes: 256,
  /** A space-delimited scope parameter. */
  scopeString: 16_384,
  /** Items of any other list (methods, grant types, redirect URIs). */
  items: 64,
  /** Access, refresh and ID tokens; client secrets. */
  token: 65_536,
  /** error_description, cut beyond this. */
  description: 512,
} as const;

const Bounded = (max: number) => Schema.String.pipe(Schema.maxLength(max));
const NonEmpty = (max: number) => Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max));
const Url = Bounded(wireLimits.url);
const Strings = Schema.Array(Bounded(wireLimits.url)).pipe(Schema.maxItems(wireLimits.items));
const ScopeList = Schema.Array(Bounded(wireLimits.scope)).pipe(Schema.maxItems(wireLimits.scopes));
const ScopeString = Bounded(wireLimits.scopeString);
const NonEmptyString = NonEmpty(wireLimits.url);

/** A server's free text, scrubbed of anything credential-like and cut to `max` characters. */
const ServerText = (max: number) =>
  Schema.transform(Schema.String, Schema.String, {
    strict: true,
    decode: (text) => scrubText(text, max),
    encode: (text) => text,
  });

/**
 * An access token as it can be sent in a header: visible ASCII (%x21-7E) only. RFC 6750 §2.1's
 * b64token is narrower (`ALPHA DIGIT - . _ ~ + /` then `=`), but deployed servers issue tokens
 * with other visible characters (Salforce's contain `!`), and the Authorization header carries any
 * of them. What must never be accepted is a CR, LF, NUL, space or non-ASCII character: stored,
 * such a token makes every later request fail inside fetch's Headers with an error that quotes
 * the header value — the token itself.
 */
export const isSendableToken = (token: string): boolean => {
  if (token.length === 0 || token.length > wireLimits.token) return false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
};

const AccessToken = Schema.String.pipe(
  Schema.filter(isSendableToken, { message: () => "not a token that can be sent in a header" }),
);

/** RFC 9728 §2 protected-resource metadata. */
export const ProtectedResourceMetadata = Schema.Struct({
  resource: NonEmptyString,
  authorization_servers: Schema.optional(Strings),
  scopes_supported: Schema.optional(ScopeList),
  bearer_methods_supported: Schema.optional(Strings),
  resource_name: Schema.optional(Bounded(wireLimits.identifier)),
  /** RFC 9728 §2: the resource accepts DPoP-bound access tokens only (RFC 9449); absent: false. */
  dpop_bound_access_tokens_required: Schema.optional(Schema.Boolean),
});
export type ProtectedResourceMetadata = typeof ProtectedResourceMetadata.Type;

/** RFC 8414 §2 authorization-server metadata, with the OIDC Discovery members MCP reads. */
export const AuthorizationServerMetadata = Schema.Struct({
  issuer: NonEmptyString,
  // RFC 8414 §2: required unless no grant type the server supports uses it (a server only for
  // client credentials or devices); the authorization code checks it is there.
  authorization_endpoint: Schema.optional(NonEmptyString),
  token_endpoint: NonEmptyString,
  registration_endpoint: Schema.optional(Url),
  revocation_endpoint: Schema.optional(Url),
  jwks_uri: Schema.optional(Url),
  scopes_supported: Schema.optional(ScopeList),
  response_types_supported: Schema.optional(Strings),
  grant_types_supported: Schema.optional(Strings),
  code_challenge_methods_supported: Schema.optional(Strings),
  token_endpoint_auth_methods_supported: Schema.optional(Strings),
  token_endpoint_auth_signing_alg_values_supported: Schema.optional(Strings),
  authorization_response_iss_parameter_supported: Schema.optional(Schema.Boolean),
  client_id_metadata_document_supported: Schema.optional(Schema.Boolean),
  /** RFC 8628 §4: where a device authorization request goes. */
  device_authorization_endpoint: Schema.optional(Url),
  /** RFC 9449 §5.1: the JWS algorithms the server accepts DPoP proofs with; absent: no DPoP. */
  dpop_signing_alg_values_supported: Schema.optional(Strings),
});
export type AuthorizationServerMetadata = typeof AuthorizationServerMetadata.Type;

/** RFC 7591 §3.2.1 client information response. */
export const ClientInformationResponse = Schema.Struct({
  client_id: NonEmpty(wireLimits.identifier),
  client_secret: Schema.optional(NonEmpty(wireLimits.token)),
  client_id_issued_at: Schema.optional(Schema.Number),
  /** Epoch seconds; 0 means never (RFC 7591 §3.2.1). */
  client_secret_expires_at: Schema.optional(Schema.Number.pipe(Schema.finite())),
  token_endpoint_auth_method: Schema.optional(Bounded(wireLimits.identifier)),
  redirect_uris: Schema.optional(Strings),
  grant_types: Schema.optional(Strings),
  scope: Schema.optional(ScopeString),
});
export type ClientInformationResponse = typeof ClientInformationResponse.Type;

/**
 * OAuth 2.1 §3.2.3 token response. `expires_in` is advisory and read by
 * `tokenLifetimeSeconds`, which gives every value a meaning; `token_type` is compared
 * case-insensitively by the caller.
 */
export const TokenResponse = Schema.Struct({
  access_token: AccessToken,
  token_type: NonEmpty(wireLimits.identifier),
  expires_in: Schema.optional(Schema.Unknown),
  refresh_token: Schema.optional(NonEmpty(wireLimits.token)),
  scope: Schema.optional(ScopeString),
  id_token: Schema.optional(Bounded(wireLimits.token)),
});
export type TokenResponse = typeof TokenResponse.Type;

/** The longest lifetime believed: a year. A longer one (or Infinity) is cut to it. */
export const maxTokenLifetimeSeconds = 365 * 24 * 3600;

/**
 * What an `expires_in` means here (OAuth 2.1 §3.2.3, RFC 6749 §5.1: "the lifetime in seconds";
 * advisory). A number or a numeric string counts in whole seconds; above a year it is a
 * year. Missing, zero, negative, fractional below one, not a number: the lifetime is unknown —
 * the token is used until the resource answers 401 (RFC 6750 §3.1) — rather than a token that
 * is expired on arrival, which would make every request refresh.
 */
export const tokenLifetimeSeconds = (expiresIn: unknown): number | undefined => {
  const value =
    typeof expiresIn === "number"
      ? expiresIn
      : typeof expiresIn === "string" && /^\s*\+?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  if (Number.isNaN(value)) return undefined;
  const seconds = Math.floor(Math.min(value, maxTokenLifetimeSeconds));
  return seconds >= 1 ? seconds : undefined;
};

/** OAuth 2.1 §3.2.4 / RFC 7591 §3.2.2 error response. */
export const OAuthErrorResponse = Schema.Struct({
  error: NonEmpty(wireLimits.identifier),
  error_description: Schema.optional(ServerText(wireLimits.description)),
  error_uri: Schema.optional(Url),
});
export type OAuthErrorResponse = typeof OAuthErrorResponse.Type;

/**
 * Decodes `json` with `schema`; a failure lists member paths and what was wrong with them, never
 * the offending values (a token response's values are secrets).
 */
export const decodeDocument =
  <A, I>(schema: Schema.Schema<A, I>, document: string, url: string) =>
  (json: unknown): Effect.Effect<A, InvalidDocument> =>
    Schema.decodeUnknown(schema, { errors: "all" })(json).pipe(
      Effect.mapError(
        (error) => new InvalidDocument({ url, document, issues: describeIssues(error) }),
      ),
    );

const describeIssues = (error: ParseResult.ParseError): string[] => [
  // Each once: an optional member of the wrong type fails both its type and `undefined`.
  ...new Set(
    ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
      const where = issue.path.length === 0 ? "document" : issue.path.map(String).join(".");
      if (issue._tag === "Missing") return `${where} is missing`;
      // The message of our own refinements names the rule, never the value.
      return issue.message.startsWith("not a ")
        ? `${where} is ${issue.message}`
        : `${where} has an invalid value`;
    }),
  ),
];

/**
 * A code shown to a person (RFC 8628 §3.2 `user_code`): at most 128 characters, none of them a
 * control character — it is printed to a terminal, where an escape sequence would rewrite what
 * the user reads.
 */
export const isDisplayableCode = (code: string): boolean =>
  code.length > 0 && code.length <= 128 && isFreeOfControlCharacters(code);

/** No C0 or C1 control character, nor DEL: text that can be printed to a terminal as is. */
export const isFreeOfControlCharacters = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
  }
  return true;
};

/** RFC 8628 §3.2 device authorization response. */
export const DeviceAuthorizationResponse = Schema.Struct({
  device_code: NonEmpty(wireLimits.token),
  user_code: Schema.String.pipe(
    Schema.filter(isDisplayableCode, { message: () => "not a code that can be displayed" }),
  ),
  verification_uri: NonEmptyString,
  verification_uri_complete: Schema.optional(Url),
  expires_in: Schema.Number.pipe(Schema.finite(), Schema.greaterThan(0)),
  interval: Schema.optional(Schema.Number.pipe(Schema.finite())),
});
export type DeviceAuthorizationResponse = typeof DeviceAuthorizationResponse.Type;

/**
 * RFC 8693 §2.2.1 token exchange response. `token_type` is required by the RFC but optional here:
 * for a token that is not an access token it carries no information ("N_A"), and identity
 * providers omit it; the step checks any value it has.
 */
export const TokenExchangeResponse = Schema.Struct({
  access_token: AccessToken,
  issued_token_type: NonEmpty(wireLimits.identifier),
  token_type: Schema.optional(NonEmpty(wireLimits.identifier)),
  expires_in: Schema.optional(Schema.Unknown),
  scope: Schema.optional(ScopeString),
});
export type TokenExchangeResponse = typeof TokenExchangeResponse.Type;
