/**
 * The wire formats authchart reads, as effect/Schema. Unknown members are ignored everywhere
 * (RFC 9728 §3.2, RFC 8414 §3.2, RFC 7591 §3.2.1, OAuth 2.1 §3.2.3 — SPEC D6, T3); what the
 * protocol requires is required here, so a document that lacks it is a typed InvalidDocument.
 */
import { Effect, ParseResult, Schema } from "effect";
import { InvalidDocument } from "../errors.js";

const Strings = Schema.Array(Schema.String);
const NonEmptyString = Schema.String.pipe(Schema.minLength(1));

/** RFC 9728 §2 protected-resource metadata. */
export const ProtectedResourceMetadata = Schema.Struct({
  resource: NonEmptyString,
  authorization_servers: Schema.optional(Strings),
  scopes_supported: Schema.optional(Strings),
  bearer_methods_supported: Schema.optional(Strings),
  resource_name: Schema.optional(Schema.String),
});
export type ProtectedResourceMetadata = typeof ProtectedResourceMetadata.Type;

/** RFC 8414 §2 authorization-server metadata, with the OIDC Discovery members MCP reads (SPEC D14). */
export const AuthorizationServerMetadata = Schema.Struct({
  issuer: NonEmptyString,
  authorization_endpoint: NonEmptyString,
  token_endpoint: NonEmptyString,
  registration_endpoint: Schema.optional(Schema.String),
  revocation_endpoint: Schema.optional(Schema.String),
  jwks_uri: Schema.optional(Schema.String),
  scopes_supported: Schema.optional(Strings),
  response_types_supported: Schema.optional(Strings),
  grant_types_supported: Schema.optional(Strings),
  code_challenge_methods_supported: Schema.optional(Strings),
  token_endpoint_auth_methods_supported: Schema.optional(Strings),
  token_endpoint_auth_signing_alg_values_supported: Schema.optional(Strings),
  authorization_response_iss_parameter_supported: Schema.optional(Schema.Boolean),
  client_id_metadata_document_supported: Schema.optional(Schema.Boolean),
});
export type AuthorizationServerMetadata = typeof AuthorizationServerMetadata.Type;

/** RFC 7591 §3.2.1 client information response. */
export const ClientInformationResponse = Schema.Struct({
  client_id: NonEmptyString,
  client_secret: Schema.optional(Schema.String),
  client_id_issued_at: Schema.optional(Schema.Number),
  client_secret_expires_at: Schema.optional(Schema.Number),
  token_endpoint_auth_method: Schema.optional(Schema.String),
  redirect_uris: Schema.optional(Strings),
  grant_types: Schema.optional(Strings),
  scope: Schema.optional(Schema.String),
});
export type ClientInformationResponse = typeof ClientInformationResponse.Type;

/**
 * OAuth 2.1 §3.2.3 token response. `expires_in` is advisory (SPEC T3); some servers send it as a
 * numeric string, which is accepted. `token_type` is compared case-insensitively by the caller.
 */
export const TokenResponse = Schema.Struct({
  access_token: NonEmptyString,
  token_type: NonEmptyString,
  expires_in: Schema.optional(
    Schema.Union(Schema.Number, Schema.NumberFromString).pipe(Schema.nonNegative()),
  ),
  refresh_token: Schema.optional(NonEmptyString),
  scope: Schema.optional(Schema.String),
  id_token: Schema.optional(Schema.String),
});
export type TokenResponse = typeof TokenResponse.Type;

/** OAuth 2.1 §3.2.4 / RFC 7591 §3.2.2 error response. */
export const OAuthErrorResponse = Schema.Struct({
  error: NonEmptyString,
  error_description: Schema.optional(Schema.String),
  error_uri: Schema.optional(Schema.String),
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

const describeIssues = (error: ParseResult.ParseError): string[] =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const where = issue.path.length === 0 ? "document" : issue.path.map(String).join(".");
    return issue._tag === "Missing" ? `${where} is missing` : `${where} has an invalid value`;
  });
